"""ProjectionRunner: feeds the event store's global order into projections, exactly once.

The runner reads events after a generation's checkpoint in batches, lets the
projection handle each one against a ``ReadModel`` that buffers the batch's
changes, and hands the changes and the new checkpoint to
``ProjectionStore.commit`` in one call, which applies both in one
transaction and only if the checkpoint has not moved. So:

* a process killed mid-batch loses the batch, never half of it, and the next
  run repeats it from the checkpoint: each event takes effect once;
* two runners on one projection cannot both apply a batch: the second commit
  finds the checkpoint moved and fails with ``CONCURRENCY_CONFLICT``;
* a projection whose ``handle`` raises is marked failed at that event
  (``PROJECTION_FAILED``) and left alone; the others carry on. So is one
  that meets an event of a class it handles whose payload does not decode
  (``amount: "lots"``): it is never skipped.

Within one ``catch_up`` the runner remembers the documents it committed or
read (as the JSON text a store keeps), so a document is read from the store
once per catch-up, not once per batch. That is safe because every commit is
conditional on the checkpoint: a commit that succeeds proves nobody else
wrote the generation since this runner's previous commit (and, as stores
never give a generation number twice, that it is still the same build), so
what it remembers is still what the store holds. A commit that fails (another
runner moved the checkpoint) or any storage error ends the catch-up and
forgets everything remembered; the next catch-up reads afresh.

With an event store whose reads wait on a server (``read_ahead = True``,
as PostgreSQL's), a worker thread reads the next batch while a catch-up
handles and commits the current one, so the database's work overlaps the
projection's. An in-process store (SQLite) reads in the caller's thread: a
second thread would only compete for the one interpreter lock.

Generations: when a projection has no live generation, or its ``version``
differs from the live one's, ``catch_up`` builds a new generation and
promotes it once it has caught up; readers keep the old one meanwhile.
``rebuild`` does the same on request.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from flext_eventsourcing.errors import PROJECTION_FAILED, ProjectionStoreError
from flext_eventsourcing.eventcodec import EventCodec
from flext_eventsourcing.eventstore import FlextEventStore, RecordedEvent, StoredEvent, UnknownEvent
from flext_eventsourcing.projection import (
    Document,
    FlextProjection,
    ProjectionCheckpoint,
    ProjectionState,
    ProjectionStore,
    check_projection_name,
    encode_document,
)
from flext_kernel.errors import CONCURRENCY_CONFLICT, NOT_FOUND, STORAGE_ERROR, UNKNOWN_MESSAGE_TYPE
from flext_kernel.result import Failure, FlextResult, Success

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_CACHE_SIZE", "ProjectionRunner", "ProjectionStatus"]

DEFAULT_BATCH_SIZE: Final = 500
"""Events per transaction: large enough to amortize a commit, small enough to lose little on a kill."""
DEFAULT_CACHE_SIZE: Final = 10_000
"""Documents a catch-up remembers across batches (the most recently written ones are kept)."""


class ProjectionStatus(BaseModel):
    """What ``flext projections status`` shows for one projection."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The projection."""
    registered: bool
    """A loaded plugin provides it (False: only its stored read model is left)."""
    version: int | None
    """The code's ``version`` (None when not registered)."""
    live: ProjectionCheckpoint | None
    """The generation readers see, if any."""
    building: ProjectionCheckpoint | None
    """A generation being built (first build or rebuild), if any."""
    failed: ProjectionCheckpoint | None
    """The newest generation, if it failed."""
    head_position: int
    """The store's last global position, to compare checkpoints with."""

    @property
    def state(self) -> str:
        """One word for people: live, behind, stale, building, failed, new or orphaned."""
        if self.failed is not None:
            return "failed"
        if not self.registered:
            return "orphaned"
        if self.building is not None:
            return "building"
        if self.live is None:
            return "new"
        if self.live.version != self.version:
            return "stale"
        return "live" if self.live.position >= self.head_position else "behind"


class _BufferedModel:
    """A ``ReadModel`` that keeps a batch's changes until the runner commits them.

    ``known`` is the catch-up's memory of committed documents: JSON text (a
    fresh copy is decoded on each read, as a store read would give) or None
    for a key known to be absent. Keys it lacks are read from the store, and
    remembered.
    """

    __slots__ = ("_known", "_name", "_store", "changes", "generation")

    def __init__(
        self, store: ProjectionStore, name: str, generation: int, known: dict[str, str | None]
    ) -> None:
        self._store = store
        self._name = name
        self.generation = generation
        self._known = known
        self.changes: dict[str, Document | None] = {}

    def get(self, key: str) -> Document | None:
        changes = self.changes
        if key in changes:
            document = changes[key]
            return None if document is None else dict(document)
        known = self._known
        if key in known:
            text = known[key]
            return None if text is None else dict(json.loads(text))
        found = self._store.get(self._name, self.generation, key)
        known[key] = None if found is None else encode_document(key, found)
        return found

    def put(self, key: str, document: Mapping[str, Any]) -> None:
        self.changes[key] = dict(document)

    def delete(self, key: str) -> None:
        self.changes[key] = None


def _remember(known: dict[str, str | None], encoded: Mapping[str, str | None], limit: int) -> None:
    """Record a committed batch in ``known``, keeping at most ``limit`` entries, the newest written."""
    for key, text in encoded.items():
        known.pop(key, None)  # re-inserted last: eviction takes the least recently written first
        known[key] = text
    excess = len(known) - limit
    if excess > 0:
        for key in list(itertools.islice(known, excess)):
            del known[key]


class ProjectionRunner:
    """Keeps projections' read models up to date with an event store.

    Args:
        events: the event store to read (``read_all`` in global order).
        store: where read models and checkpoints live.
        projections: the projections to run (more with ``add``).
        batch_size: events per transaction.
        cache_size: documents a catch-up remembers across batches (0: read
            every batch's documents from the store).

    """

    def __init__(
        self,
        events: FlextEventStore,
        store: ProjectionStore,
        projections: Iterable[FlextProjection] = (),
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if cache_size < 0:
            raise ValueError(f"cache_size must not be negative, not {cache_size}")
        self.events = events
        """The event store read."""
        self.store = store
        """The projection store written."""
        self.batch_size = batch_size
        """Events per transaction."""
        self.cache_size = cache_size
        """Documents a catch-up remembers across batches."""
        self._projections: dict[str, FlextProjection] = {}
        for projection in projections:
            self.add(projection)

    def add(self, projection: FlextProjection) -> None:
        """Run ``projection`` too; registers the event classes it handles with the store's codec."""
        name = check_projection_name(projection.name)
        if name in self._projections:
            raise ValueError(f"two projections are named {name!r}")
        self._projections[name] = projection
        handled = getattr(projection, "handled_event_types", None)
        if callable(handled):
            for event_type in handled():
                self.events.codec.register(event_type)  # a no-op for a class registered already

    @property
    def projections(self) -> dict[str, FlextProjection]:
        """The projections run, by name."""
        return dict(self._projections)

    # Reading state.

    def status(self, name: str | None = None) -> FlextResult[list[ProjectionStatus]]:
        """The state of every projection, registered or only stored (or of ``name``)."""
        try:
            checkpoints = self.store.checkpoints(name)
        except ProjectionStoreError as exc:
            return _storage_failure(exc)
        head = self._head_position()
        if isinstance(head, Failure):
            return head
        names = sorted({c.name for c in checkpoints} | set(self._projections))
        if name is not None:
            if name not in names:
                return _unknown(name, self._projections)
            names = [name]
        statuses = []
        for each in names:
            mine = [c for c in checkpoints if c.name == each]
            projection = self._projections.get(each)
            statuses.append(
                ProjectionStatus(
                    name=each,
                    registered=projection is not None,
                    version=None if projection is None else projection.version,
                    live=_newest(mine, ProjectionState.LIVE),
                    building=_newest(mine, ProjectionState.BUILDING),
                    failed=mine[-1] if mine and mine[-1].failed else None,
                    head_position=head.value,
                )
            )
        return Success(statuses)

    def _head_position(self) -> FlextResult[int]:
        """The last global position in the store (0 if empty), by paging to the end."""
        position = 0
        while True:
            page = self.events.read_all(position, limit=10_000)
            if isinstance(page, Failure):
                return page
            if not page.value:
                return Success(position)
            position = page.value[-1].position

    # Running.

    def catch_up(self, names: Iterable[str] | None = None) -> FlextResult[dict[str, int]]:
        """Bring projections (all, or ``names``) up to the store's current end.

        Builds and promotes a new generation where there is no live one or the
        live one has another ``version``. Returns how many events each
        projection took in; a failure of one projection does not stop the
        others, and the result then fails with the first failure's code, its
        ``error_data["handled"]`` still counting what the others did.
        """
        chosen = list(self._projections) if names is None else list(names)
        for name in chosen:
            if name not in self._projections:
                return _unknown(name, self._projections)
        handled: dict[str, int] = {}
        failures: list[FlextResult[Any]] = []
        for name in chosen:
            result = self._catch_up_one(self._projections[name])
            if result.is_success:
                handled[name] = result.value
            else:
                failures.append(result)
        if failures:
            first = failures[0]
            data = {**first.error_data, "handled": handled, "failed": len(failures)}
            return Failure(first.error or "a projection failed", first.error_code, data)
        return Success(handled)

    def rebuild(self, name: str, from_timestamp: datetime | None = None) -> FlextResult[ProjectionCheckpoint]:
        """Rebuild ``name`` into a new generation and promote it once caught up.

        Events that occurred before ``from_timestamp`` are skipped (for read
        models that only need recent history). Readers see the old generation
        until the new one is complete. An interrupted rebuild is resumed by
        the next ``catch_up``, without the ``from_timestamp`` filter.
        """
        projection = self._projections.get(name)
        if projection is None:
            return _unknown(name, self._projections)
        try:
            for stale in self.store.checkpoints(name):
                if stale.state is ProjectionState.BUILDING:
                    self.store.drop(name, stale.generation)  # an abandoned build; start afresh
            building = self.store.create_generation(name, projection.version)
        except ProjectionStoreError as exc:
            return _storage_failure(exc)
        return self._build(projection, building, from_timestamp).map(lambda built: built[0])

    def run(self, stop: threading.Event, *, poll_interval: float = 0.5) -> FlextResult[None]:
        """Keep catching up until ``stop`` is set; returns the first storage failure, if any.

        A projection that fails stays failed (reported by ``status``) while
        the others keep running. New events are noticed within
        ``poll_interval`` seconds, or at once where the store signals appends.
        """
        signal = getattr(self.events, "signal", None)
        while not stop.is_set():
            token = signal.token() if signal is not None else 0
            result = self.catch_up(self._runnable())
            if result.is_failure and result.error_code == STORAGE_ERROR:
                return Failure(result.error or "storage failed", STORAGE_ERROR, result.error_data)
            if result.is_success and any(result.value.values()):
                continue  # there may be more
            if signal is not None:
                signal.wait(token, poll_interval)
            else:
                stop.wait(poll_interval)
        return Success(None)

    def _runnable(self) -> list[str]:
        """The projections whose newest generation has not failed."""
        try:
            checkpoints = self.store.checkpoints()
        except ProjectionStoreError:
            return list(self._projections)  # the next catch_up reports the storage failure
        newest: dict[str, ProjectionCheckpoint] = {}
        for checkpoint in checkpoints:
            newest[checkpoint.name] = checkpoint
        return [name for name in self._projections if name not in newest or not newest[name].failed]

    def _catch_up_one(self, projection: FlextProjection) -> FlextResult[int]:
        name = projection.name
        try:
            checkpoints = self.store.checkpoints(name)
        except ProjectionStoreError as exc:
            return _storage_failure(exc)
        live = _newest(checkpoints, ProjectionState.LIVE)
        building = _newest(checkpoints, ProjectionState.BUILDING)
        newest = checkpoints[-1] if checkpoints else None
        if newest is not None and newest.failed:
            return Failure(
                f"projection {name!r} failed and waits for a rebuild: {newest.error}",
                PROJECTION_FAILED,
                {"projection": name, "generation": newest.generation, "position": newest.position},
            )
        if building is not None and building.version == projection.version:
            return self._build(projection, building, None).map(lambda built: built[1])
        if live is not None and live.version == projection.version:
            return self._advance(projection, live, None)
        try:
            if building is not None:
                self.store.drop(name, building.generation)  # built for another version
            fresh = self.store.create_generation(name, projection.version)
        except ProjectionStoreError as exc:
            return _storage_failure(exc)
        return self._build(projection, fresh, None).map(lambda built: built[1])

    def _build(
        self, projection: FlextProjection, building: ProjectionCheckpoint, from_timestamp: datetime | None
    ) -> FlextResult[tuple[ProjectionCheckpoint, int]]:
        """Fill ``building`` up to the end of the store, then promote it; return it and the events taken."""
        advanced = self._advance(projection, building, from_timestamp)
        if isinstance(advanced, Failure):
            return advanced
        try:
            if not self.store.promote(projection.name, building.generation):
                return Failure(
                    f"generation {building.generation} of projection {projection.name!r} disappeared "
                    "before it could be promoted (another runner rebuilt it)",
                    CONCURRENCY_CONFLICT,
                    {"projection": projection.name, "generation": building.generation},
                )
            promoted = [
                c for c in self.store.checkpoints(projection.name) if c.generation == building.generation
            ]
        except ProjectionStoreError as exc:
            return _storage_failure(exc)
        if not promoted:
            return _unknown(projection.name, self._projections)
        return Success((promoted[0], advanced.value))

    def _advance(
        self, projection: FlextProjection, checkpoint: ProjectionCheckpoint, from_timestamp: datetime | None
    ) -> FlextResult[int]:
        """Apply the events after ``checkpoint`` batch by batch; return how many were handled."""
        generation, position, count = checkpoint.generation, checkpoint.position, 0
        # Committed documents as of ``position``, valid while this runner's commits succeed (see the
        # module docstring); local, so every way out of this method forgets them.
        known: dict[str, str | None] = {}
        # Undecoded rows where the store offers them, decoded a few at a time (see _apply); whole
        # decoded pages where the projection names the keys it reads, so one query reads them ahead.
        rows_of = getattr(self.events, "read_all_rows", None)
        if getattr(projection, "read_keys", None) is not None:
            rows_of = None
        read = self.events.read_all if rows_of is None else rows_of
        # Once there is work, a store that reads from a server has the next page read in a worker
        # thread while this one is handled and committed (see the module docstring). Every way out
        # waits for that read, whose page is then dropped.
        page: FlextResult[list[Any]] = read(position, limit=self.batch_size)
        read_ahead = bool(getattr(self.events, "read_ahead", False))
        reader: ThreadPoolExecutor | None = None
        try:
            while True:
                if isinstance(page, Failure):
                    return page
                batch = page.value
                del page
                if not batch:
                    return Success(count)
                end, size = batch[-1].position, len(batch)
                if read_ahead and reader is None:
                    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flext-projection-read")
                next_page = None if reader is None else reader.submit(read, end, limit=self.batch_size)
                failure = self._apply_and_commit(
                    projection, generation, batch, rows_of is not None, position, known, from_timestamp
                )
                if failure is not None:
                    return failure
                position = end
                count += size
                page = read(end, limit=self.batch_size) if next_page is None else next_page.result()
        finally:
            if reader is not None:
                reader.shutdown(wait=True)

    def _apply_and_commit(
        self,
        projection: FlextProjection,
        generation: int,
        batch: list[Any],
        undecoded: bool,
        position: int,
        known: dict[str, str | None],
        from_timestamp: datetime | None,
    ) -> FlextResult[Any] | None:
        """Handle one page and commit its changes with the checkpoint moved past it; None if all went well."""
        name = projection.name
        end = batch[-1].position
        model = _BufferedModel(self.store, name, generation, known)
        codec = self.events.codec
        decode = codec.decode_all if undecoded else None
        stops = _stops_at(projection, codec)
        try:
            failure = _apply(projection, batch, decode, stops, model, self.store, known, from_timestamp)
            if failure is not None:
                self.store.mark_failed(name, generation, failure.error or "")
                return failure
            changes = model.changes
            # Encoded before the commit, so a document that is not JSON data fails it unwritten.
            encoded = {k: None if d is None else encode_document(k, d) for k, d in changes.items()}
            committed = self.store.commit(name, generation, position, end, changes)
            if committed:
                _remember(known, encoded, self.cache_size)
        except ProjectionStoreError as exc:
            return _storage_failure(exc)
        if not committed:
            return Failure(
                f"projection {name!r} generation {generation} moved past position {position} while "
                "this runner worked: another runner is running it; run one runner per projection",
                CONCURRENCY_CONFLICT,
                {"projection": name, "generation": generation, "expected_position": position},
            )
        return None


_DECODE_CHUNK: Final = 50
"""Rows decoded at a time: few enough that the garbage collector rarely runs while they are alive."""


def _apply(
    projection: FlextProjection,
    batch: list[Any],
    decode: Callable[[list[StoredEvent]], list[RecordedEvent]] | None,
    stops: Callable[[RecordedEvent], bool],
    model: _BufferedModel,
    store: ProjectionStore,
    known: dict[str, str | None],
    from_timestamp: datetime | None,
) -> FlextResult[Any] | None:
    """Handle a batch's events in order: ``batch`` holds them, or (with ``decode``) their rows.

    Each event is freed as soon as it is handled (handled from the end of a
    reversed list, and rows decoded ``_DECODE_CHUNK`` at a time): a whole
    batch of decoded events kept to its end survives the garbage collector's
    young collections and is traversed again and again, which cost a tenth to
    a fifth of a catch-up. An event ``stops`` the projection (one it handles
    that did not decode) ends the batch there: the events before it are
    handled (one of them may fail first), then the projection fails at it.
    """
    if decode is None:
        chunks: Iterable[list[RecordedEvent]] = (batch,)
    else:
        chunks = (decode(batch[at : at + _DECODE_CHUNK]) for at in range(0, len(batch), _DECODE_CHUNK))
    for events in chunks:
        if from_timestamp is not None:
            events = [recorded for recorded in events if recorded.event.occurred_at >= from_timestamp]
        stop = next((index for index, recorded in enumerate(events) if stops(recorded)), None)
        undecodable = None if stop is None else events[stop]
        if stop is not None:
            del events[stop:]
        failure = _read_ahead(projection, events, store, known, model.generation)
        events.reverse()
        while failure is None and events:
            failure = _handle(projection, events.pop(), model, model.generation)
        if failure is None and undecodable is not None:
            failure = _undecodable(projection, undecodable, model.generation)
        if failure is not None:
            return failure
    return None


def _stops_at(projection: FlextProjection, codec: EventCodec) -> Callable[[RecordedEvent], bool]:
    """Whether ``projection`` must stop at an event: one of a class it handles that did not decode.

    A stored event whose class is registered but whose payload does not fit
    it (or lacks an upcaster) is an ``UnknownEvent`` that ``Projection``'s
    dispatch would pass over; skipping it would leave the read model wrong
    for good, so the runner stops there instead, as for a raising ``handle``.
    A projection that does not say which classes it handles
    (``handled_event_types``) stops at every such event.
    """
    handled = getattr(projection, "handled_event_types", None)
    classes = tuple(handled()) if callable(handled) else None

    def stops(recorded: RecordedEvent) -> bool:
        event = recorded.event
        if type(event) is not UnknownEvent or event.error_code == UNKNOWN_MESSAGE_TYPE:
            return False
        if classes is None:
            return True
        cls = codec.event_class(event.event_type)
        return cls is not None and issubclass(cls, classes)

    return stops


def _undecodable(projection: FlextProjection, recorded: RecordedEvent, generation: int) -> FlextResult[Any]:
    event = recorded.event
    assert isinstance(event, UnknownEvent)
    return Failure(
        f"projection {projection.name!r} cannot decode event {recorded.event_type} at position "
        f"{recorded.position} (stream {recorded.stream_id!r}, version {recorded.version}): {event.reason}",
        PROJECTION_FAILED,
        {
            "projection": projection.name,
            "generation": generation,
            "position": recorded.position,
            "event_type": recorded.event_type,
            "stream_id": recorded.stream_id,
            "cause": event.error_code,
        },
    )


def _read_ahead(
    projection: FlextProjection,
    events: list[RecordedEvent],
    store: ProjectionStore,
    known: dict[str, str | None],
    generation: int,
) -> FlextResult[Any] | None:
    """Read what ``projection.read_keys`` names for ``events`` into ``known``, in one ``get_many``."""
    read_keys = getattr(projection, "read_keys", None)
    if read_keys is None or not events:
        return None
    try:
        wanted = [key for key in dict.fromkeys(read_keys(events)) if key not in known]
    except Exception as exc:
        return _projection_failure(projection, events[0], generation, exc, "read_keys")
    if wanted:
        get_many = getattr(store, "get_many", None)  # a store that predates get_many reads key by key
        if get_many is not None:
            found: Mapping[str, Document] = get_many(projection.name, generation, wanted)
        else:
            found = ProjectionStore.get_many(store, projection.name, generation, wanted)
        for key in wanted:
            document = found.get(key)
            known[key] = None if document is None else encode_document(key, document)
    return None


def _handle(
    projection: FlextProjection, recorded: RecordedEvent, model: _BufferedModel, generation: int
) -> FlextResult[Any] | None:
    """Run one ``handle``; a raised exception is the projection's bug, reported with the event."""
    try:
        projection.handle(recorded, model)
    except Exception as exc:
        return _projection_failure(projection, recorded, generation, exc, "handle")
    return None


def _projection_failure(
    projection: FlextProjection, recorded: RecordedEvent, generation: int, exc: Exception, method: str
) -> FlextResult[Any]:
    at = "" if method == "handle" else f" in {method}"
    return Failure(
        f"projection {projection.name!r} raised {type(exc).__name__}{at} on event {recorded.event_type} "
        f"at position {recorded.position} (stream {recorded.stream_id!r}, version {recorded.version}): "
        f"{exc}",
        PROJECTION_FAILED,
        {
            "projection": projection.name,
            "generation": generation,
            "position": recorded.position,
            "event_type": recorded.event_type,
            "stream_id": recorded.stream_id,
            "exception_type": type(exc).__name__,
        },
    )


def _newest(checkpoints: list[ProjectionCheckpoint], state: ProjectionState) -> ProjectionCheckpoint | None:
    matching = [c for c in checkpoints if c.state is state]
    return matching[-1] if matching else None


def _unknown(name: str, projections: Mapping[str, FlextProjection]) -> FlextResult[Any]:
    known = ", ".join(sorted(projections)) or "none"
    return Failure(
        f"no projection named {name!r} (known: {known}); is the plugin that provides it enabled?",
        NOT_FOUND,
        {"projection": name},
    )


def _storage_failure(exc: ProjectionStoreError) -> FlextResult[Any]:
    return Failure(exc.message, exc.error_code or STORAGE_ERROR, exc.error_data)
