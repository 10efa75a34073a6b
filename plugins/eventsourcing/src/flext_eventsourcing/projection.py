"""Projections: read models built from the event store, exactly once per event.

A *projection* turns events into a read model that answers questions the
event streams cannot answer cheaply ("balance of every account", "entries
migrated per suffix"). Its read model is a set of JSON documents by key, kept
by a ``ProjectionStore`` next to the events (the same SQLite file, the same
PostgreSQL schema), together with the projection's *checkpoint*: the global
position of the last event it has taken into account.

Why documents and a checkpoint in one store: the runner
(``flext_eventsourcing.projection_runner``) writes a batch's document changes and
the new checkpoint in one transaction. A process killed at any moment leaves
either both or neither, so every event takes effect exactly once; a restarted
runner carries on from the checkpoint.

Why *generations*: a projection's documents live in one generation (a table
per generation in SQL stores). A rebuild (the projection's ``version``
changed, or an operator asked for one) fills a new generation while readers
keep reading the old one, then ``promote`` swaps them in one transaction:
nobody ever sees a half-built view.

Writing one::

    class Balances(Projection):
        name = "balances"
        version = 1

        @when(Deposited)
        def _deposited(self, event: RecordedEvent, model: ReadModel) -> None:
            doc = model.get(event.stream_id) or {"balance": 0}
            model.put(event.stream_id, {"balance": doc["balance"] + event.event.amount})
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Final, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict

from flext_eventsourcing.aggregate import when
from flext_eventsourcing.errors import ProjectionStoreError
from flext_eventsourcing.eventstore import RecordedEvent
from flext_kernel.errors import STORAGE_ERROR, FlextError
from flext_kernel.messages import FlextDomainEvent

__all__ = [
    "PROJECTION_NAME_PATTERN",
    "Document",
    "FlextProjection",
    "Projection",
    "ProjectionCheckpoint",
    "ProjectionState",
    "ProjectionStore",
    "ProjectionStoreFactory",
    "ReadModel",
    "check_projection_name",
    "encode_changes",
    "encode_document",
    "when",
]

Document = dict[str, Any]
"""A read-model document: JSON data (what ``json.dumps`` accepts)."""

PROJECTION_NAME_PATTERN: Final = re.compile(r"[a-z][a-z0-9_-]{0,39}")
"""Projection names: lower case, digits, ``-`` and ``_``; they become table names."""


def check_projection_name(name: str) -> str:
    """Return ``name`` if it is a valid projection name; raise ``FlextError`` saying why not."""
    if not isinstance(name, str) or PROJECTION_NAME_PATTERN.fullmatch(name) is None:
        raise FlextError(
            f"invalid projection name {name!r}: use 1-40 characters, a lower-case letter first, "
            "then lower-case letters, digits, '-' or '_'"
        )
    return name


class ReadModel(Protocol):
    """The documents of one projection generation, as a batch of the runner sees them.

    Reads see the batch's own writes; writes take effect when the runner
    commits the batch with its checkpoint, all together or not at all.
    """

    def get(self, key: str) -> Document | None:
        """Return the document stored under ``key``, or None."""
        ...

    def put(self, key: str, document: Mapping[str, Any]) -> None:
        """Store ``document`` (JSON data) under ``key``, replacing any previous one."""
        ...

    def delete(self, key: str) -> None:
        """Remove the document under ``key`` (nothing happens if there is none)."""
        ...


@runtime_checkable
class FlextProjection(Protocol):
    """Anything the runner can project: a name, a version and a ``handle`` method.

    ``handle`` must be deterministic in the events (a rebuild replays them)
    and must not raise for events it does not care about. An exception is a
    bug: the runner rolls the batch back, marks the projection failed at that
    event, and carries on with the other projections.

    A projection may also define ``read_keys(events: Sequence[RecordedEvent])
    -> Iterable[str]``: the keys ``handle`` will ``get`` for a batch of
    events, e.g. ``{event.stream_id for event in events}``. The runner then
    reads those it does not hold yet in one ``ProjectionStore.get_many`` per
    batch, instead of one ``get`` per key (naming a key that ``handle`` does
    not read costs only its share of the query). Without it, a catch-up
    reads each document the first time ``handle`` asks for it, and keeps it.
    """

    @property
    def name(self) -> str:
        """Unique name; also what ``flext projections`` and table names use."""
        ...

    @property
    def version(self) -> int:
        """Raise it when ``handle`` changes meaning: the runner then rebuilds the read model."""
        ...

    def handle(self, event: RecordedEvent, model: ReadModel) -> None:
        """Take one event into the read model."""
        ...


class Projection:
    """Base class dispatching each event to the ``@when(EventType)`` method for its class.

    Methods take ``(self, event: RecordedEvent, model: ReadModel)``; events
    without a method are ignored (``UnknownEvent`` included). The handled
    classes are registered with the store's codec by the runner, so a
    projection decodes its events even in a process that never imported the
    plugin that writes them.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    _handlers: ClassVar[dict[type[FlextDomainEvent], Callable[..., None]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type[FlextDomainEvent], Callable[..., None]] = {}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                for event_type in getattr(attribute, "__flext_when__", ()):
                    handlers[event_type] = attribute
        cls._handlers = handlers
        if "name" in vars(cls):
            check_projection_name(cls.name)

    @classmethod
    def handled_event_types(cls) -> tuple[type[FlextDomainEvent], ...]:
        """The event classes this projection has ``@when`` methods for."""
        return tuple(cls._handlers)

    def handle(self, event: RecordedEvent, model: ReadModel) -> None:
        """Call the method for the event's class (or its nearest handled base class)."""
        handlers = self._handlers
        for klass in type(event.event).__mro__:
            handler = handlers.get(klass)
            if handler is not None:
                handler(self, event, model)
                return


class ProjectionState(StrEnum):
    """Where one generation of a projection is."""

    BUILDING = "building"
    """Being filled (first build or rebuild); readers do not see it yet."""
    LIVE = "live"
    """What readers see; the runner keeps it up to date."""


class ProjectionCheckpoint(BaseModel):
    """One generation of a projection as its store records it."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The projection."""
    generation: int
    """Which generation (1, 2, ...); each has its own documents."""
    version: int
    """The projection ``version`` the generation was built with."""
    position: int
    """Global position of the last event taken into account (0: none yet)."""
    state: ProjectionState
    """Building or live."""
    error: str | None = None
    """Why ``handle`` failed after ``position`` (the exception and the event), when it did.

    A failed generation is frozen: the runner leaves it alone until a rebuild,
    and a failed live generation stays readable, stale but consistent.
    """
    updated_at: datetime
    """When the checkpoint last moved."""

    @property
    def failed(self) -> bool:
        """True once the projection raised on this generation."""
        return self.error is not None


class ProjectionStore(Protocol):
    """Where read models and checkpoints live; each event store backend provides one.

    Every method is safe to call from several threads and processes at once.
    ``commit`` is the one that must be atomic: documents and checkpoint
    together, and only if the checkpoint is still where the caller read it.
    ``flext_sdk.testing.ProjectionStoreContract`` checks all of it.
    """

    def checkpoints(self, name: str | None = None) -> list[ProjectionCheckpoint]:
        """Every generation of projection ``name`` (of all projections if None), oldest first."""
        ...

    def create_generation(self, name: str, version: int) -> ProjectionCheckpoint:
        """Start an empty generation (state ``building``, position 0) and return it.

        Its number is one above any this store ever gave the projection,
        dropped generations included: a number names one build for good. The
        runner relies on it, since a commit names a generation and a position:
        if a build that was dropped and started afresh got the old number, a
        runner still working on the old build could commit into the new one
        once it reached the same position.
        """
        ...

    def get(self, name: str, generation: int, key: str) -> Document | None:
        """Read one committed document of a generation."""
        ...

    def get_many(self, name: str, generation: int, keys: Iterable[str]) -> dict[str, Document]:
        """Read several committed documents of a generation: the ones that exist, by key.

        The runner reads ahead with it (a projection's ``read_keys``). This
        default calls ``get`` once per key, so a store written before it
        existed keeps working; SQL stores answer in one query.
        """
        found: dict[str, Document] = {}
        for key in keys:
            document = self.get(name, generation, key)
            if document is not None:
                found[key] = document
        return found

    def commit(
        self,
        name: str,
        generation: int,
        expected_position: int,
        position: int,
        changes: Mapping[str, Document | None],
    ) -> bool:
        """Apply ``changes`` (None deletes) and move the checkpoint to ``position``, atomically.

        Returns False, writing nothing, if the generation is gone, has failed, or
        its checkpoint is no longer ``expected_position`` (another runner got
        there first).
        """
        ...

    def promote(self, name: str, generation: int) -> bool:
        """Make ``generation`` the live one and drop the older ones, atomically.

        Returns False if the generation does not exist or failed.
        """
        ...

    def mark_failed(self, name: str, generation: int, error: str) -> None:
        """Set the generation's ``error``; it keeps its state and documents, and takes no more commits."""
        ...

    def drop(self, name: str, generation: int | None = None) -> None:
        """Delete one generation (every generation if None) with its documents."""
        ...

    def documents(self, name: str, generation: int | None = None) -> Iterator[tuple[str, Document]]:
        """The documents of ``generation`` (the live one if None), by key order."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...

    def __enter__(self) -> Self:
        """Stores that subclass this protocol close on leaving a ``with`` block."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ProjectionStoreFactory(Protocol):
    """Opens a projection store: what the ``flext_projection_store_backends`` hook returns by name.

    ``location`` means what it means for the event store backend of the same
    name, so read models live next to the events they come from.
    """

    def __call__(self, *, location: str | None = None) -> ProjectionStore:
        """Open (lazily: nothing need connect before first use) the store at ``location``."""
        ...


def encode_document(key: str, document: Mapping[str, object]) -> str:
    """``document`` as compact JSON text; ``ProjectionStoreError`` if it is not JSON data."""
    try:
        return json.dumps(document, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProjectionStoreError(
            f"the document for key {key!r} is not JSON data: {exc}", STORAGE_ERROR, {"key": key}
        ) from exc


def encode_changes(changes: Mapping[str, Document | None]) -> tuple[list[tuple[str, str]], list[str]]:
    """Split a batch's changes into ``(key, JSON text)`` puts and deleted keys, encoding before any write.

    Every store encodes the whole batch first, so a document that is not JSON
    data fails the commit before anything of it is written.
    """
    puts: list[tuple[str, str]] = []
    deletes: list[str] = []
    for key, document in changes.items():
        if document is None:
            deletes.append(key)
        else:
            puts.append((key, encode_document(key, document)))
    return puts, deletes
