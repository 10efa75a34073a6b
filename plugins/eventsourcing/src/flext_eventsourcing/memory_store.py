"""InMemoryEventStore: the event store in a dict, for tests and examples.

It keeps every rule of the contract (it passes ``EventStoreContract``) but
nothing survives the process. Two stores built on the same ``InMemoryData``
share their events, the way two processes share a database file; tests use
that to simulate a restart.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from flext_eventsourcing.eventcodec import EventCodec
from flext_eventsourcing.eventstore import StoredEvent, StoredSnapshot
from flext_eventsourcing.eventstore_base import EventStoreBase, StreamHead, WriteTransaction

__all__ = ["InMemoryData", "InMemoryEventStore"]


class InMemoryData:
    """The rows of an in-memory store; share one between stores to simulate a restart."""

    __slots__ = ("by_id", "lock", "next_position", "positions", "rows", "snapshots", "streams")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        """Held by every write transaction and read."""
        self.rows: list[StoredEvent] = []
        """Every event, by position."""
        self.positions: list[int] = []
        """``rows``' positions, for bisecting."""
        self.streams: dict[str, list[StoredEvent]] = {}
        """Each stream's events, by version."""
        self.by_id: dict[str, StoredEvent] = {}
        """Every event by its id."""
        self.snapshots: dict[str, StoredSnapshot] = {}
        """The latest snapshot of each stream."""
        self.next_position = 1
        """The position the next insert gets; never reused, even after a delete."""


class _Transaction:
    """Writes straight into the data under its lock; the base class checks before it writes."""

    __slots__ = ("_data",)

    def __init__(self, data: InMemoryData) -> None:
        self._data = data

    def head(self, stream_id: str) -> StreamHead | None:
        stream = self._data.streams.get(stream_id)
        if not stream:
            return None
        return stream[-1].version, stream[-1].event_type

    def find(self, event_ids: Sequence[str]) -> list[StoredEvent]:
        by_id = self._data.by_id
        return [by_id[event_id] for event_id in event_ids if event_id in by_id]

    def insert(self, rows: Sequence[StoredEvent]) -> list[int]:
        data = self._data
        positions: list[int] = []
        for row in rows:
            stored = row._replace(position=data.next_position)
            data.next_position += 1
            data.rows.append(stored)
            data.positions.append(stored.position)
            data.streams.setdefault(stored.stream_id, []).append(stored)
            data.by_id[stored.event_id] = stored
            positions.append(stored.position)
        return positions

    def delete_events(self, stream_id: str, through_version: int) -> None:
        data = self._data
        stream = data.streams.get(stream_id, [])
        erased = [row for row in stream if row.version <= through_version]
        data.streams[stream_id] = [row for row in stream if row.version > through_version]
        doomed = {row.position for row in erased}
        data.rows = [row for row in data.rows if row.position not in doomed]
        data.positions = [row.position for row in data.rows]
        for row in erased:
            del data.by_id[row.event_id]
        data.snapshots.pop(stream_id, None)

    def snapshot_version(self, stream_id: str) -> int | None:
        row = self._data.snapshots.get(stream_id)
        return None if row is None else row.version

    def put_snapshot(self, row: StoredSnapshot) -> None:
        self._data.snapshots[row.stream_id] = row


class InMemoryEventStore(EventStoreBase):
    """An event store kept in memory; for tests only.

    Args:
        codec: the codec (a new one by default).
        data: the rows to use; pass another store's ``data`` to share them.
        poll_interval: see ``EventStoreBase``.

    """

    blocking = False

    def __init__(
        self, codec: EventCodec | None = None, *, data: InMemoryData | None = None, poll_interval: float = 0.1
    ) -> None:
        super().__init__(codec, poll_interval=poll_interval)
        self.data = data if data is not None else InMemoryData()
        """The stored rows."""

    @contextmanager
    def _write(self) -> Iterator[WriteTransaction]:
        with self.data.lock:
            yield _Transaction(self.data)

    def _read_stream_rows(self, stream_id: str, after_version: int, limit: int | None) -> list[StoredEvent]:
        with self.data.lock:
            stream = self.data.streams.get(stream_id, [])
            start = bisect.bisect_right(stream, after_version, key=_version)
            return stream[start : None if limit is None else start + limit]

    def _read_all_rows(self, after_position: int, limit: int | None) -> list[StoredEvent]:
        with self.data.lock:
            start = bisect.bisect_right(self.data.positions, after_position)
            return self.data.rows[start : None if limit is None else start + limit]

    def _snapshot_row(self, stream_id: str) -> StoredSnapshot | None:
        with self.data.lock:
            return self.data.snapshots.get(stream_id)

    def _close(self) -> None:
        """Nothing to release."""


def _version(row: StoredEvent) -> int:
    return row.version
