"""EventStoreBase: the event store's rules written once, over a backend's storage primitives.

A backend subclasses ``EventStoreBase`` and supplies storage only: a write
transaction (``_write``) offering five row operations (``WriteTransaction``),
three reads and ``_close``. The base class implements every operation of the
``FlextEventStore`` protocol on top of them, so the rules (expected versions,
idempotent retries, tombstones, snapshots that only move forward, decoding
through the ``EventCodec``) are the same for every backend, and the
conformance suite checks one implementation of them.

What a backend must guarantee:

* ``_write()`` is exclusive among writers of the same storage (threads *and*
  processes): SQLite's ``BEGIN IMMEDIATE``, a PostgreSQL advisory or table
  lock. It commits when the block ends normally and rolls back on an
  exception. The base class makes every decision inside it, so a check and
  the write it allows can never be separated by another writer.
* ``WriteTransaction.insert`` assigns global positions that are strictly
  increasing in commit order, so no reader can see position ``p`` before an
  event below ``p`` commits (the "no skippable gaps" rule). Under an exclusive
  write lock an auto-incrementing key does that; a backend that lets writers
  run in parallel must order visibility some other way. Positions are never
  reused: deleting a stream inserts its tombstone *before* erasing its events.
* Optionally, ``insert`` refuses an ``event_id`` that is already stored with
  a driver error (a unique index) and the class sets ``unique_event_ids``:
  an append whose expected version fits then skips the id lookup (``find``),
  and after such a failure the append is decided again, with the lookup, in
  a new transaction. The outcome is the same either way; the lookup is only
  paid when an id is taken.
* Optionally, with ``unique_event_ids``, ``_append_at`` appends in one step
  when the stream is at the expected version (the usual case), and returns
  None, having written nothing, in every other case: the rules above then
  decide as if it did not exist.
* Driver exceptions listed in ``driver_errors`` are turned into failures by
  ``_translate_error``, the one place a backend maps its driver's errors to
  kernel error codes (the default maps everything to ``STORAGE_ERROR``).
* A read failure that means "the store cannot be reached" carries
  ``error_data["reason"] == "connection_failed"`` (``CONNECTION_FAILED``):
  subscriptions retry those with back-off and resume where they were.
* Appends from other processes wake local subscriptions either by calling
  ``self.signal.notify()`` (PostgreSQL's LISTEN) or, failing that, by polling:
  subscriptions re-read every ``poll_interval`` seconds.

The ``*_async`` methods run the sync ones in a worker thread
(``asyncio.to_thread``); a backend with a native async driver may override them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypeVar

from flext_eventsourcing.errors import STREAM_DELETED
from flext_eventsourcing.eventcodec import EventCodec, PendingAppend
from flext_eventsourcing.eventstore import (
    ANY,
    AppendResult,
    ExpectedVersion,
    RecordedEvent,
    Snapshot,
    StoredEvent,
    StoredSnapshot,
    StreamDeleted,
    StreamState,
    describe_expected,
)
from flext_eventsourcing.subscription import (
    AppendSignal,
    AsyncEventSubscription,
    EventSubscription,
    OutageHook,
)
from flext_kernel.errors import CONCURRENCY_CONFLICT, NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR
from flext_kernel.messages import FlextDomainEvent, message_type_name
from flext_kernel.result import Failure, FlextResult, Success

__all__ = ["TOMBSTONE_TYPE", "EventStoreBase", "StreamHead", "WriteTransaction", "check_expected_version"]

T = TypeVar("T")

TOMBSTONE_TYPE = message_type_name(StreamDeleted)
"""Type name of the tombstone; a stream whose last event has it is deleted."""

StreamHead = tuple[int, str]
"""A stream's last event: (its version, its type name)."""


class WriteTransaction(Protocol):
    """The row operations a backend offers inside ``_write()``; all see the transaction's own writes."""

    def head(self, stream_id: str) -> StreamHead | None:
        """Return the version and type name of the stream's last event, or None if it has none."""
        ...

    def find(self, event_ids: Sequence[str]) -> list[StoredEvent]:
        """Return the stored rows whose ``event_id`` is in ``event_ids`` (any order, missing ones omitted)."""
        ...

    def insert(self, rows: Sequence[StoredEvent]) -> list[int]:
        """Insert ``rows`` (their ``position`` is 0) and return their new global positions, in order.

        Each position must be above every position stored so far. The highest
        stored position is never erased (see ``delete_events``), so "one more
        than the highest" is enough: SQLite's plain ``rowid`` qualifies.
        """
        ...

    def delete_events(self, stream_id: str, through_version: int) -> None:
        """Erase the events of ``stream_id`` up to ``through_version``, and its snapshot.

        The base class calls this right after inserting the stream's tombstone,
        so the erased rows are never the store's highest position.
        """
        ...

    def snapshot_version(self, stream_id: str) -> int | None:
        """Return the version of the stream's stored snapshot, or None."""
        ...

    def put_snapshot(self, row: StoredSnapshot) -> None:
        """Store ``row`` as the stream's snapshot, replacing the previous one."""
        ...


def check_expected_version(stream_id: str, expected: ExpectedVersion, actual: int) -> FlextResult[Any] | None:
    """Return a ``CONCURRENCY_CONFLICT`` failure if a stream at ``actual`` misses ``expected``, else None."""
    if expected is StreamState.ANY:
        return None
    if expected is StreamState.NO_STREAM:
        if actual == 0:
            return None
        wanted = "no stream"
    elif expected is StreamState.STREAM_EXISTS:
        if actual > 0:
            return None
        wanted = "an existing stream"
    else:
        if actual == expected:
            return None
        wanted = f"version {expected}"
    found = "does not exist" if actual == 0 else f"is at version {actual}"
    return Failure(
        f"stream {stream_id!r} {found}, but {wanted} was expected",
        CONCURRENCY_CONFLICT,
        {"stream_id": stream_id, "expected_version": describe_expected(expected), "actual_version": actual},
    )


def _deleted(stream_id: str, version: int) -> FlextResult[Any]:
    return Failure(
        f"stream {stream_id!r} was deleted (tombstone at version {version}); it cannot be written to",
        STREAM_DELETED,
        {"stream_id": stream_id, "tombstone_version": version},
    )


def _invalid(message: str) -> FlextResult[Any]:
    return Failure(message, VALIDATION_ERROR)


def _check_expected_argument(expected: object) -> FlextResult[Any] | None:
    if isinstance(expected, StreamState):
        return None
    if isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
        return None
    return _invalid(
        f"expected_version must be a version (0 or more), NO_STREAM, STREAM_EXISTS or ANY, not {expected!r}"
    )


def _check_range(name: str, start: int, limit: int | None) -> FlextResult[Any] | None:
    if not isinstance(start, int) or start < 0:
        return _invalid(f"{name} must be 0 or more, not {start!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        return _invalid(f"limit must be 1 or more (or None), not {limit!r}")
    return None


class EventStoreBase(ABC):
    """Implements ``FlextEventStore`` over a backend's storage primitives (see the module docs).

    Args:
        codec: the codec that encodes and decodes events (a new one by default).
        poll_interval: longest time a live subscription waits before reading
            again when no append was signalled (covers writers in other processes).

    """

    driver_errors: ClassVar[tuple[type[Exception], ...]] = ()
    """Exceptions of the backend's driver that ``_translate_error`` turns into failures."""
    blocking: ClassVar[bool] = True
    """True if operations do I/O, so the async methods run them in a worker thread."""
    read_ahead: ClassVar[bool] = False
    """True if reads wait on a server, so a projection catch-up reads its next page in a worker thread
    while it handles the current one (``ProjectionRunner``). Leave it False for in-process storage:
    its reads need the CPU the projection uses, and a second thread only competes for the GIL."""
    max_events_per_transaction: ClassVar[int | None] = None
    """The most events one write transaction can take (``append_streams`` refuses more); None: no limit."""
    unique_event_ids: ClassVar[bool] = False
    """True if ``insert`` raises one of ``driver_errors``, translated to ``CONCURRENCY_CONFLICT``, for
    an ``event_id`` that is already stored (a unique index). Appends then skip looking the ids up when
    the expected version fits, and look them up only after such a failure, in a new transaction."""

    def __init__(self, codec: EventCodec | None = None, *, poll_interval: float = 0.1) -> None:
        self._codec = codec if codec is not None else EventCodec()
        self.poll_interval = poll_interval
        """Longest wait of a live subscription between two reads."""
        self.signal = AppendSignal()
        """Notified after every append; backends that hear of other processes' appends notify it too."""
        self._closed = False

    @property
    def codec(self) -> EventCodec:
        """The codec that turns events into rows and back; register event classes on it."""
        return self._codec

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._closed

    # The storage primitives a backend implements.

    @abstractmethod
    def _write(self) -> AbstractContextManager[WriteTransaction]:
        """Open an exclusive write transaction: commit on normal exit, roll back on an exception."""

    @abstractmethod
    def _read_stream_rows(self, stream_id: str, after_version: int, limit: int | None) -> list[StoredEvent]:
        """Return the stream's rows with a version above ``after_version``, by version."""

    @abstractmethod
    def _read_all_rows(self, after_position: int, limit: int | None) -> list[StoredEvent]:
        """Return rows with a position above ``after_position``, by position."""

    @abstractmethod
    def _snapshot_row(self, stream_id: str) -> StoredSnapshot | None:
        """Return the stream's stored snapshot, or None."""

    @abstractmethod
    def _close(self) -> None:
        """Release the backend's connections."""

    def _snapshot_and_stream_rows(self, stream_id: str) -> tuple[StoredSnapshot | None, list[StoredEvent]]:
        """Return the stream's snapshot row and the rows after its version (every row without one).

        Two reads here; a backend where each read is a round trip may do both in one statement.
        """
        snapshot = self._snapshot_row(stream_id)
        return snapshot, self._read_stream_rows(stream_id, 0 if snapshot is None else snapshot.version, None)

    def _translate_error(self, exc: Exception) -> FlextResult[Any]:
        """Turn a driver exception (one of ``driver_errors``) into a failure; override to refine codes."""
        return Failure(
            f"event store storage failed: {exc}", STORAGE_ERROR, {"exception_type": type(exc).__name__}
        )

    # Operations.

    def append(
        self, stream_id: str, events: Sequence[FlextDomainEvent], expected_version: ExpectedVersion
    ) -> FlextResult[AppendResult]:
        """Append ``events`` if the stream is at ``expected_version`` (see ``FlextEventStore.append``)."""
        bad = _check_expected_argument(expected_version)
        if bad is not None:
            return bad
        prepared = self._codec.prepare(stream_id, events)
        if isinstance(prepared, Failure):
            return prepared
        result = self._guarded(self._append, prepared.value, expected_version)
        if result.is_success and result.value.written:
            self.signal.notify()
        return result

    def _append_at(self, pending: PendingAppend, version: int) -> AppendResult | None:
        """Append ``pending`` in one step if its stream is at exactly ``version``; else return None.

        An optional shortcut for the common append, the one an aggregate makes:
        a known version, the event ids not taken. A backend that can check the
        version and insert cheaper than ``_write`` and its row operations
        (PostgreSQL: one call instead of two round trips) overrides this. It
        writes only if the stream's head is ``version`` (0: no events) and not a
        tombstone, and only with ``unique_event_ids``: a taken id raises a
        driver error and the append is decided again with the lookup, as after
        a failed ``_append_once(look_up=False)``. Any other stream state writes
        nothing and returns None; the base class then decides with every rule,
        so the shortcut never has to know them. The default has no shortcut.
        """
        return None

    def _append(self, pending: PendingAppend, expected: ExpectedVersion) -> FlextResult[AppendResult]:
        if not (self.unique_event_ids and pending.events):
            return self._append_once(pending, expected, look_up=True)
        try:
            version = 0 if expected is StreamState.NO_STREAM else expected
            if isinstance(version, int):
                written = self._append_at(pending, version)
                if written is not None:
                    return Success(written)
            return self._append_once(pending, expected, look_up=False)
        except self.driver_errors as exc:
            failure = self._translate_error(exc)
            if failure.error_code != CONCURRENCY_CONFLICT:
                return failure
        # An event id of the batch is taken (a retry, a reused id) or another writer collided with
        # this one: the transaction rolled back; decide in a new one, looking the ids up first.
        return self._append_once(pending, expected, look_up=True)

    def _append_once(
        self, pending: PendingAppend, expected: ExpectedVersion, *, look_up: bool
    ) -> FlextResult[AppendResult]:
        """One write transaction of ``append``; ``look_up=False`` skips the id lookup if the version fits."""
        with self._write() as tx:
            decided = _decide(tx, pending, expected, look_up=look_up)
            if not isinstance(decided, int):
                return decided
            positions = tx.insert(pending.rows(decided))
        return Success(AppendResult(pending.stream_id, decided + len(pending), tuple(positions), True))

    def append_streams(
        self, batches: Sequence[tuple[str, Sequence[FlextDomainEvent], ExpectedVersion]]
    ) -> FlextResult[list[AppendResult]]:
        """Append several streams' batches in one transaction: every one of them, or none.

        Each ``(stream_id, events, expected_version)`` follows ``append``'s
        rules (a batch stored already is a retry that writes nothing); if any
        batch fails, nothing of any batch is written and the failure is
        returned, ``error_data["stream_id"]`` naming the stream. Streams must
        differ, and so must the event ids of all batches (``VALIDATION_ERROR``
        otherwise). ``flext events import`` uses it so that an import is
        all or nothing. At most ``max_events_per_transaction`` events in all.
        """
        prepared: list[tuple[PendingAppend, ExpectedVersion]] = []
        for stream_id, events, expected in batches:
            bad = _check_expected_argument(expected)
            if bad is not None:
                return bad
            pending = self._codec.prepare(stream_id, events)
            if isinstance(pending, Failure):
                return pending
            prepared.append((pending.value, expected))
        bad = _check_distinct(prepared, self.max_events_per_transaction)
        if bad is not None:
            return bad
        result = self._guarded(self._append_streams, prepared)
        if result.is_success and any(appended.written for appended in result.value):
            self.signal.notify()
        return result

    def _append_streams(
        self, prepared: list[tuple[PendingAppend, ExpectedVersion]]
    ) -> FlextResult[list[AppendResult]]:
        """Decide every batch first, then insert them all, in one write transaction.

        Deciding needs no write and the streams differ, so a failure is known
        before the first insert: the transaction then ends having written nothing.
        Deciding locks each stream, so the streams are decided in one order for
        every writer (by stream id): two writers listing the same streams in
        opposite orders would otherwise deadlock. The failure returned is still
        the one of the first failing batch in the caller's order.
        """
        by_stream = sorted(range(len(prepared)), key=lambda index: prepared[index][0].stream_id)
        with self._write() as tx:
            outcomes: dict[int, int | FlextResult[AppendResult]] = {}
            for index in by_stream:
                pending, expected = prepared[index]
                outcomes[index] = _decide(tx, pending, expected, look_up=True)
            decisions: list[int | AppendResult] = []
            for index in range(len(prepared)):
                decided = outcomes[index]
                if isinstance(decided, Failure):
                    return decided
                decisions.append(decided if isinstance(decided, int) else decided.value)
            results: list[AppendResult] = []
            for (pending, _), decision in zip(prepared, decisions, strict=True):
                if isinstance(decision, AppendResult):
                    results.append(decision)
                    continue
                positions = tx.insert(pending.rows(decision))
                results.append(
                    AppendResult(pending.stream_id, decision + len(pending), tuple(positions), True)
                )
        return Success(results)

    def read_stream(
        self, stream_id: str, from_version: int = 0, *, limit: int | None = None
    ) -> FlextResult[list[RecordedEvent]]:
        """Return the stream's events after ``from_version``, oldest first ([] if it has none)."""
        bad = _check_range("from_version", from_version, limit)
        if bad is not None:
            return bad
        return self._guarded(self._decoded, self._read_stream_rows, stream_id, from_version, limit)

    def read_all(self, from_position: int = 0, limit: int | None = None) -> FlextResult[list[RecordedEvent]]:
        """Return events after global position ``from_position``, in global order."""
        bad = _check_range("from_position", from_position, limit)
        if bad is not None:
            return bad
        return self._guarded(self._decoded, self._read_all_rows, from_position, limit)

    def _decoded(
        self, read: Callable[..., list[StoredEvent]], *args: Any
    ) -> FlextResult[list[RecordedEvent]]:
        return Success(self._codec.decode_all(read(*args)))

    def read_all_rows(
        self, from_position: int = 0, limit: int | None = None
    ) -> FlextResult[list[StoredEvent]]:
        """``read_all``'s rows, not decoded yet (``codec.decode_all`` turns them into its events).

        For readers that decode a few at a time and let each event go once
        used, as the projection runner does: a whole page of decoded events
        kept until its end is traversed again and again by the garbage
        collector, which cost about a tenth of a projection catch-up.
        """
        bad = _check_range("from_position", from_position, limit)
        if bad is not None:
            return bad
        return self._guarded(self._undecoded, self._read_all_rows, from_position, limit)

    @staticmethod
    def _undecoded(read: Callable[..., list[StoredEvent]], *args: Any) -> FlextResult[list[StoredEvent]]:
        return Success(read(*args))

    def subscribe(
        self,
        from_position: int = 0,
        *,
        reconnect_for: float | None = None,
        on_outage: OutageHook | None = None,
    ) -> EventSubscription:
        """Return a live subscription to every event after ``from_position``.

        Reads that fail because the store cannot be reached (``error_data["reason"]``
        ``"connection_failed"``) are retried with back-off for up to ``reconnect_for``
        seconds of outage (None: as long as it takes); ``on_outage`` hears an
        outage begin (the failure) and end (None). See ``flext_eventsourcing.subscription``.
        """
        return EventSubscription(
            self.read_all,
            self.signal,
            from_position,
            poll_interval=self.poll_interval,
            closed=lambda: self._closed,
            reconnect_for=reconnect_for,
            on_outage=on_outage,
        )

    def save_snapshot(self, snapshot: Snapshot) -> FlextResult[None]:
        """Keep ``snapshot`` as its stream's latest unless a newer one is stored."""
        if snapshot.version < 1:
            return _invalid(f"a snapshot's version must be 1 or more, not {snapshot.version}")
        return self._guarded(self._save_snapshot, self._codec.encode_snapshot(snapshot))

    def _save_snapshot(self, row: StoredSnapshot) -> FlextResult[None]:
        with self._write() as tx:
            head = tx.head(row.stream_id)
            if head is None:
                return Failure(
                    f"stream {row.stream_id!r} does not exist", NOT_FOUND, {"stream_id": row.stream_id}
                )
            if head[1] == TOMBSTONE_TYPE:
                return _deleted(row.stream_id, head[0])
            if row.version > head[0]:
                return _invalid(
                    f"snapshot of {row.stream_id!r} at version {row.version} is ahead of the stream "
                    f"(version {head[0]})"
                )
            current = tx.snapshot_version(row.stream_id)
            if current is None or current < row.version:
                tx.put_snapshot(row)
        return Success(None)

    def load_snapshot(self, stream_id: str) -> FlextResult[Snapshot | None]:
        """Return the stream's latest snapshot, upcast if its aggregate class is registered; or None."""
        return self._guarded(self._load_snapshot, stream_id)

    def load_snapshot_and_events(
        self, stream_id: str
    ) -> FlextResult[tuple[FlextResult[Snapshot | None], list[RecordedEvent]]]:
        """Return what ``load_snapshot`` would and the events after the snapshot, read together.

        Without a snapshot the events are all of the stream's. The snapshot's own result fails
        when it cannot be decoded (the events are still those after its version); the outer
        result fails when the store does. ``AggregateRepository.load`` uses this: one read
        instead of two where the backend can.
        """
        return self._guarded(self._load_snapshot_and_events, stream_id)

    def _load_snapshot_and_events(
        self, stream_id: str
    ) -> FlextResult[tuple[FlextResult[Snapshot | None], list[RecordedEvent]]]:
        row, rows = self._snapshot_and_stream_rows(stream_id)
        snapshot: FlextResult[Snapshot | None] = (
            Success(None) if row is None else self._codec.decode_snapshot(row)
        )
        return Success((snapshot, self._codec.decode_all(rows)))

    def _load_snapshot(self, stream_id: str) -> FlextResult[Snapshot | None]:
        row = self._snapshot_row(stream_id)
        if row is None:
            return Success(None)
        return self._codec.decode_snapshot(row)

    def delete_stream(
        self, stream_id: str, *, reason: str = "", expected_version: ExpectedVersion = ANY
    ) -> FlextResult[AppendResult]:
        """Erase the stream's events and snapshot and append a ``StreamDeleted`` tombstone."""
        bad = _check_expected_argument(expected_version)
        if bad is not None:
            return bad
        result = self._guarded(self._delete_stream, stream_id, reason, expected_version)
        if result.is_success:
            self.signal.notify()
        return result

    def _delete_stream(
        self, stream_id: str, reason: str, expected: ExpectedVersion
    ) -> FlextResult[AppendResult]:
        with self._write() as tx:
            head = tx.head(stream_id)
            if head is None:
                return Failure(f"stream {stream_id!r} does not exist", NOT_FOUND, {"stream_id": stream_id})
            version, last_type = head
            if last_type == TOMBSTONE_TYPE:
                return _deleted(stream_id, version)
            conflict = check_expected_version(stream_id, expected, version)
            if conflict is not None:
                return conflict
            # Streams are contiguous and deleted at most once, so the stream holds `version` events.
            tombstone = StreamDeleted(
                aggregate_id=stream_id,
                version=version + 1,
                reason=reason,
                deleted_events=version,
                last_version=version,
            )
            # The tombstone first: its position is then above the erased ones, which keeps
            # "next position = highest + 1" from ever handing an erased position out again.
            positions = tx.insert([self._codec.encode(tombstone)])
            tx.delete_events(stream_id, version)
        return Success(AppendResult(stream_id, version + 1, tuple(positions), True))

    def close(self) -> None:
        """Stop live subscriptions and release connections; later calls fail with ``STORAGE_ERROR``."""
        if self._closed:
            return
        self._closed = True
        self.signal.notify()
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _guarded(self, operation: Callable[..., FlextResult[T]], *args: Any) -> FlextResult[T]:
        """Run ``operation`` on an open store, with driver errors turned into failures."""
        if self._closed:
            return Failure("the event store is closed", STORAGE_ERROR)
        try:
            return operation(*args)
        except self.driver_errors as exc:
            return self._translate_error(exc)

    # Async twins.

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.blocking:
            import asyncio  # here, not at the top: opening a store must not load asyncio (and ssl)

            return await asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    async def append_async(
        self, stream_id: str, events: Sequence[FlextDomainEvent], expected_version: ExpectedVersion
    ) -> FlextResult[AppendResult]:
        """``append`` without blocking the event loop."""
        return await self._run(self.append, stream_id, events, expected_version)

    async def read_stream_async(
        self, stream_id: str, from_version: int = 0, *, limit: int | None = None
    ) -> FlextResult[list[RecordedEvent]]:
        """``read_stream`` without blocking the event loop."""
        return await self._run(self.read_stream, stream_id, from_version, limit=limit)

    async def read_all_async(
        self, from_position: int = 0, limit: int | None = None
    ) -> FlextResult[list[RecordedEvent]]:
        """``read_all`` without blocking the event loop."""
        return await self._run(self.read_all, from_position, limit)

    def subscribe_async(
        self,
        from_position: int = 0,
        *,
        reconnect_for: float | None = None,
        on_outage: OutageHook | None = None,
    ) -> AsyncEventSubscription:
        """``subscribe`` as an async iterator."""
        return AsyncEventSubscription(
            self.read_all_async,
            self.signal,
            from_position,
            poll_interval=self.poll_interval,
            closed=lambda: self._closed,
            reconnect_for=reconnect_for,
            on_outage=on_outage,
        )

    async def save_snapshot_async(self, snapshot: Snapshot) -> FlextResult[None]:
        """``save_snapshot`` without blocking the event loop."""
        return await self._run(self.save_snapshot, snapshot)

    async def load_snapshot_async(self, stream_id: str) -> FlextResult[Snapshot | None]:
        """``load_snapshot`` without blocking the event loop."""
        return await self._run(self.load_snapshot, stream_id)

    async def delete_stream_async(
        self, stream_id: str, *, reason: str = "", expected_version: ExpectedVersion = ANY
    ) -> FlextResult[AppendResult]:
        """``delete_stream`` without blocking the event loop."""
        return await self._run(
            self.delete_stream, stream_id, reason=reason, expected_version=expected_version
        )


def _decide(
    tx: WriteTransaction, pending: PendingAppend, expected: ExpectedVersion, *, look_up: bool
) -> FlextResult[AppendResult] | int:
    """Inside a write transaction: the version to insert ``pending`` after, or the append's outcome.

    The outcome is a failure (conflict, deleted stream), a retry that writes
    nothing, or an empty batch; ``look_up=False`` leaves the id lookup to the
    unique index when the version fits.
    """
    stream_id = pending.stream_id
    head = tx.head(stream_id)
    version = 0 if head is None else head[0]
    if head is not None and head[1] == TOMBSTONE_TYPE:
        return _deleted(stream_id, version)
    conflict = check_expected_version(stream_id, expected, version)
    # A stored batch is a retry whatever the version says, so the ids are looked up before the
    # conflict is reported. Without a conflict the lookup can be left to the unique index.
    if pending.events and (look_up or conflict is not None):
        stored = tx.find(pending.event_ids)
        if stored:
            return _retry_outcome(pending, stored)
    if conflict is not None:
        return conflict
    if not pending.events:
        return Success(AppendResult(stream_id, version, (), False))
    return version


def _check_distinct(
    prepared: list[tuple[PendingAppend, ExpectedVersion]], limit: int | None
) -> FlextResult[Any] | None:
    """``append_streams``' own rules: one batch per stream, no event id twice, at most ``limit`` events."""
    streams: set[str] = set()
    ids: set[str] = set()
    total = 0
    for pending, _ in prepared:
        if pending.stream_id in streams:
            return _invalid(f"stream {pending.stream_id!r} has two batches; give it one")
        streams.add(pending.stream_id)
        for event_id in pending.event_ids:
            if event_id in ids:
                return _invalid(f"event id {event_id} appears in two batches")
            ids.add(event_id)
        total += len(pending)
    if limit is not None and total > limit:
        return Failure(
            f"one transaction can write at most {limit} events, not {total}; split the batches",
            VALIDATION_ERROR,
            {"events": total, "limit": limit},
        )
    return None


def _retry_outcome(pending: PendingAppend, stored: list[StoredEvent]) -> FlextResult[AppendResult]:
    """Decide what an append whose event ids already exist means: an idempotent retry, or a conflict."""
    by_id = {row.event_id: row for row in stored}
    stream_id = pending.stream_id
    ids = pending.event_ids
    if len(by_id) != len(ids):
        return Failure(
            f"{len(by_id)} of the {len(ids)} events of this batch are already stored; "
            "a batch is appended whole or not at all, so this is not a retry",
            CONCURRENCY_CONFLICT,
            {"stream_id": stream_id, "stored_event_ids": sorted(by_id), "reason": "partial_batch"},
        )
    first_version = by_id[ids[0]].version
    for index, event_id in enumerate(ids):
        row = by_id[event_id]
        if row.version != first_version + index or not pending.matches(index, row):
            return Failure(
                f"event id {event_id} is already used by a different event "
                f"(stream {row.stream_id!r}, version {row.version})",
                CONCURRENCY_CONFLICT,
                {
                    "stream_id": stream_id,
                    "event_id": event_id,
                    "stored_stream_id": row.stream_id,
                    "stored_version": row.version,
                    "reason": "event_id_reused",
                },
            )
    positions = tuple(by_id[event_id].position for event_id in ids)
    return Success(AppendResult(stream_id, by_id[ids[-1]].version, positions, False))
