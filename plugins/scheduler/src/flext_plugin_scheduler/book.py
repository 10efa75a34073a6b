"""The schedules as their event streams say they are, kept up to date by reading only what is new.

``ScheduleBook`` folds each ``schedule-<name>`` stream into a
``ScheduleState`` and remembers the version it read up to; ``refresh``
reads the events appended since, by this process or any other. Every
append that decides something (a definition, a claim, a skip) passes the
version the decision was made at, so a decision made on a stale view fails
with ``CONCURRENCY_CONFLICT`` and writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from flext_eventsourcing import ANY
from flext_kernel.errors import ALREADY_REGISTERED, CONCURRENCY_CONFLICT, NOT_FOUND, VALIDATION_ERROR
from flext_plugin_scheduler.events import (
    AGGREGATE_TYPE,
    EVENT_CLASSES,
    INDEX_STREAM,
    FiringFinished,
    FiringStarted,
    ScheduleAdded,
    ScheduleEvent,
    ScheduleIndexed,
    ScheduleRemoved,
    SlotClaimed,
    SlotsSkipped,
    stream_of,
)
from flext_sdk import FlextEventStore, FlextResult

__all__ = ["ScheduleBook", "ScheduleState", "checked_name"]

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A schedule's name: a letter or digit, then letters, digits, ``_``, ``.``, ``-``; up to 64."""
_ATTEMPTS: Final = 5
"""How often a definition change is retried after another process appended meanwhile."""


def checked_name(name: str, *, what: str = "schedule name") -> FlextResult[str]:
    """``name`` if it is a valid name (schedule, pipeline or job), else a failure saying what is allowed."""
    if _NAME.fullmatch(name):
        return FlextResult.ok(name)
    return FlextResult.fail(
        f"invalid {what} {name!r}: use 1-64 letters, digits, '_', '.' or '-', "
        "starting with a letter or digit",
        error_code=VALIDATION_ERROR,
        error_data={"name": name},
    )


@dataclass
class ScheduleState:
    """One schedule folded from its stream (its current definition's generation only)."""

    name: str
    """The schedule's name."""
    version: int = 0
    """The stream version read so far: what a decision made on this state appends at."""
    definition: ScheduleAdded | None = None
    """The current definition; None once removed (or never added)."""
    anchor: datetime | None = None
    """The last slot claimed or skipped (``since`` before any): the next due slot comes after it."""
    last_claim: SlotClaimed | None = None
    """The latest claimed slot."""
    last_finished: FiringFinished | None = None
    """The latest firing that ended."""
    open_claims: dict[str, SlotClaimed] = field(default_factory=dict)
    """Claims without a ``FiringFinished`` yet, by run id (running, or their scheduler died)."""
    started: dict[str, FiringStarted] = field(default_factory=dict)
    """``FiringStarted`` of the open claims, by run id."""
    skipped: int = 0
    """Slots not run under this definition (missed under ``latest``, skipped under ``none``)."""
    claims: int = 0
    """Slots claimed under this definition."""

    def fold(self, event: object, version: int) -> None:
        """Apply one event read at ``version``."""
        self.version = version
        if isinstance(event, ScheduleAdded):
            self._start(event)
        elif isinstance(event, ScheduleRemoved):
            self.definition = None
        elif isinstance(event, SlotClaimed):
            self._advance(event.slot)
            self.last_claim = event
            self.open_claims[event.run_id] = event
            self.claims += 1
            self.skipped += event.missed
        elif isinstance(event, SlotsSkipped):
            self._advance(event.last)
            self.skipped += event.count
        elif isinstance(event, FiringStarted):
            self.started[event.run_id] = event
        elif isinstance(event, FiringFinished):
            self.open_claims.pop(event.run_id, None)
            self.started.pop(event.run_id, None)
            self.last_finished = event

    def _start(self, added: ScheduleAdded) -> None:
        """A new definition: a new generation, whose slots come after its ``since``."""
        self.definition, self.anchor = added, added.since
        self.last_claim, self.last_finished = None, None
        self.open_claims, self.started = {}, {}
        self.skipped = self.claims = 0

    def _advance(self, slot: datetime) -> None:
        if self.anchor is None or slot > self.anchor:
            self.anchor = slot


class ScheduleBook:
    """Reads and appends the schedules' streams in one event store."""

    def __init__(self, store: FlextEventStore) -> None:
        for cls in EVENT_CLASSES:
            if cls not in store.codec:
                store.codec.register(cls, owner="scheduler")
        self.store = store
        """The event store (the container's, or the one ``--store`` named)."""
        self._states: dict[str, ScheduleState] = {}
        self._index_version = 0

    def refresh(self) -> FlextResult[None]:
        """Read what was appended since the last refresh, to the index and to every schedule's stream."""
        index = self.store.read_stream(INDEX_STREAM, self._index_version)
        if index.is_failure:
            return _failed(index)
        for recorded in index.value:
            self._index_version = recorded.version
            if isinstance(recorded.event, ScheduleIndexed):
                self._states.setdefault(recorded.event.schedule, ScheduleState(recorded.event.schedule))
        for state in self._states.values():
            read = self.store.read_stream(stream_of(state.name), state.version)
            if read.is_failure:
                return _failed(read)
            for recorded in read.value:
                state.fold(recorded.event, recorded.version)
        return FlextResult.ok(None)

    def states(self) -> list[ScheduleState]:
        """Every schedule that has a definition now, by name."""
        return [self._states[name] for name in sorted(self._states) if self._states[name].definition]

    def get(self, name: str) -> ScheduleState | None:
        """The schedule ``name`` if it has a definition now."""
        state = self._states.get(name)
        return state if state is not None and state.definition is not None else None

    def add(self, definition: dict[str, Any]) -> FlextResult[ScheduleAdded]:
        """Record a new schedule (``definition`` holds ``ScheduleAdded``'s fields); its name must be free."""
        name = str(definition["schedule"])
        for _attempt in range(_ATTEMPTS):
            refreshed = self.refresh()
            if refreshed.is_failure:
                return _failed(refreshed)
            if self.get(name) is not None:
                return FlextResult.fail(
                    f"schedule {name!r} exists already",
                    error_code=ALREADY_REGISTERED,
                    error_data={"schedule": name, "hint": f"remove it first: 'flext schedule remove {name}'"},
                )
            if name not in self._states:
                indexed = self._append(INDEX_STREAM, ScheduleIndexed, name, self._index_version)
                if indexed.is_failure and indexed.error_code != CONCURRENCY_CONFLICT:
                    return _failed(indexed)
                continue  # read the index (and the stream) again, then add
            event = ScheduleAdded(aggregate_id=stream_of(name), aggregate_type=AGGREGATE_TYPE, **definition)
            appended = self.append(self._states[name], event)
            if appended.is_success:
                return FlextResult.ok(event)
            if appended.error_code != CONCURRENCY_CONFLICT:
                return _failed(appended)
        return FlextResult.fail(
            f"schedule {name!r} kept changing while it was added; try again", error_code=CONCURRENCY_CONFLICT
        )

    def remove(self, name: str) -> FlextResult[None]:
        """Record that the schedule ``name`` is removed (its history stays)."""
        for _attempt in range(_ATTEMPTS):
            refreshed = self.refresh()
            if refreshed.is_failure:
                return refreshed
            state = self.get(name)
            if state is None:
                return FlextResult.fail(
                    f"no schedule named {name!r}",
                    error_code=NOT_FOUND,
                    error_data={"schedule": name, "hint": "'flext schedule list' shows the schedules"},
                )
            removed = ScheduleRemoved(
                aggregate_id=stream_of(name), aggregate_type=AGGREGATE_TYPE, schedule=name
            )
            appended = self.append(state, removed)
            if appended.is_success or appended.error_code != CONCURRENCY_CONFLICT:
                return appended
        return FlextResult.fail(
            f"schedule {name!r} kept changing while it was removed; try again",
            error_code=CONCURRENCY_CONFLICT,
        )

    def append(
        self, state: ScheduleState, event: ScheduleEvent, *, checked: bool = True
    ) -> FlextResult[None]:
        """Append ``event`` to ``state``'s stream at ``state.version`` (``checked``) or wherever it is."""
        appended = self.store.append(stream_of(state.name), [event], state.version if checked else ANY)
        if appended.is_failure:
            return _failed(appended)
        if checked:  # nothing came between: the state may take it without reading it back
            state.fold(event, appended.value.version)
        return FlextResult.ok(None)

    def _append(self, stream: str, cls: type[ScheduleEvent], name: str, version: int) -> FlextResult[None]:
        event = cls(aggregate_id=stream, aggregate_type=AGGREGATE_TYPE, schedule=name)
        appended = self.store.append(stream, [event], version)
        return _failed(appended) if appended.is_failure else FlextResult.ok(None)


def _failed(result: FlextResult[Any]) -> FlextResult[Any]:
    """The failure of ``result`` as a failure of another type (same message, code and data)."""
    return FlextResult.fail(result.error or "", error_code=result.error_code, error_data=result.error_data)
