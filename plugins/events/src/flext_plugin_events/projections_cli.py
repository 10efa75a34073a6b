"""``flext projections``: the read models plugins contribute (``flext_projections``), run and rebuilt.

The projections come from the active plugins; their read models and
checkpoints live next to the events (``--store``). ``run`` brings every
projection up to date (``--follow`` keeps it so), ``rebuild`` builds one
afresh beside the live one and swaps it in when complete.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flext_eventsourcing import STORE_HINT, opened_store, stores_of
from flext_kernel.errors import VALIDATION_ERROR
from flext_sdk.cli import EXIT_OK, emit, emit_table, fail, note

if TYPE_CHECKING:
    from flext_eventsourcing import ProjectionRunner, ProjectionStatus

__all__ = ["list_projections", "rebuild", "run", "status"]


@contextmanager
def _runner(store: str | None) -> Iterator[ProjectionRunner | int]:
    """A runner over the plugins' projections and the store at ``store`` (or an exit code)."""
    from flext_eventsourcing import ProjectionRunner

    with opened_store(store) as opened:
        if isinstance(opened, int):
            yield opened
            return
        kernel, events = opened
        stores = stores_of(kernel).unwrap()  # opened_store succeeded, so event sourcing is on
        projections = stores.open_projection_store(store)
        if projections.is_failure:
            yield fail(projections, hint=STORE_HINT)
            return
        try:
            yield ProjectionRunner(events, projections.value, stores.projections())
        finally:
            projections.value.close()


def _row(status: ProjectionStatus) -> dict[str, Any]:
    live, building, failed = status.live, status.building, status.failed
    return {
        "name": status.name,
        "state": status.state,
        "version": status.version,
        "live_version": None if live is None else live.version,
        "generation": None if live is None else live.generation,
        "position": None if live is None else live.position,
        "head": status.head_position,
        "building_position": None if building is None else building.position,
        "error": None if failed is None else failed.error,
        "updated_at": None if live is None else live.updated_at.isoformat(),
    }


def list_projections(*, store: str | None = None) -> int:
    """List the projections: those plugins contribute, and those only stored (orphaned).

    Args:
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.

    """
    with _runner(store) as runner:
        if isinstance(runner, int):
            return runner
        statuses = runner.status()
        if statuses.is_failure:
            return fail(statuses)
        providers = {name: type(projection).__module__ for name, projection in runner.projections.items()}
    rows = [{**_row(s), "provided_by": providers.get(s.name)} for s in statuses.value]
    if not rows:
        note("no projections: no active plugin contributes one (hook flext_projections)")
    return emit_table(rows, ["name", "state", "version", "provided_by"], title="Projections")


def status(name: str | None = None, *, store: str | None = None) -> int:
    """Show where projections are: state, generation, checkpoint against the store's last position.

    Args:
        name: One projection; default all.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.

    """
    with _runner(store) as runner:
        if isinstance(runner, int):
            return runner
        statuses = runner.status(name)
        if statuses.is_failure:
            return fail(statuses)
    rows = [_row(s) for s in statuses.value]
    return emit_table(
        rows,
        ["name", "state", "version", "generation", "position", "head", "error"],
        title="Projection status",
    )


def run(names: list[str] | None = None, *, store: str | None = None, follow: bool = False) -> int:
    """Bring projections up to date with the event store (building or rebuilding where needed).

    Args:
        names: Projections to run; default all.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.
        follow: Keep running, taking new events as they arrive, until Ctrl-C.

    """
    with _runner(store) as runner:
        if isinstance(runner, int):
            return runner
        result = runner.catch_up(names)
        if result.is_failure:
            return fail(result, hint="flext projections status shows each projection's state")
        if follow:
            note("following new events (Ctrl-C stops)")
            stop = threading.Event()
            try:
                followed = runner.run(stop)
            except KeyboardInterrupt:
                stop.set()
                return EXIT_OK
            if followed.is_failure:
                return fail(followed)
    handled = result.value
    human = (
        "\n".join(f"{name}: {count} events" for name, count in sorted(handled.items())) or "no projections"
    )
    return emit(handled, human=human)


def rebuild(name: str, *, store: str | None = None, from_timestamp: datetime | None = None) -> int:
    """Rebuild a projection beside the live one and swap it in when it has caught up.

    Args:
        name: The projection.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.
        from_timestamp: Skip events that occurred before this (ISO 8601, with a time zone).

    """
    if from_timestamp is not None and from_timestamp.tzinfo is None:
        from flext_sdk import FlextResult

        return fail(
            FlextResult.fail(
                f"--from-timestamp {from_timestamp.isoformat()} has no time zone; add one, e.g. "
                f"{from_timestamp.isoformat()}+00:00",
                VALIDATION_ERROR,
            )
        )
    with _runner(store) as runner:
        if isinstance(runner, int):
            return runner
        rebuilt = runner.rebuild(name, from_timestamp)
        if rebuilt.is_failure:
            return fail(rebuilt)
    checkpoint = rebuilt.value
    return emit(
        checkpoint.model_dump(mode="json"),
        human=f"rebuilt {name}: generation {checkpoint.generation} is live at position {checkpoint.position}",
    )
