"""``flext projections``: the read models plugins contribute (``flext_projections``), run and rebuilt.

The projections come from the active plugins; their read models and
checkpoints live next to the events (``--store``). ``run`` brings every
projection up to date (``--follow`` keeps it so), ``rebuild`` builds one
afresh beside the live one and swaps it in when complete. None of them
creates an event store: read models are built from events, so a ``--store``
with no events there is refused (``NOT_FOUND``). The JSON each command prints
is documented in docs/event-sourcing.md (tests check it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flext_eventsourcing import STORE_HINT, opened_store, stores_of
from flext_kernel.errors import VALIDATION_ERROR
from flext_plugin_events._times import iso
from flext_sdk.cli import EXIT_INTERRUPTED, current, emit, emit_table, fail, note

if TYPE_CHECKING:
    from flext_eventsourcing import ProjectionRunner, ProjectionStatus

__all__ = ["list_projections", "rebuild", "run", "status"]


@contextmanager
def _runner(store: str | None) -> Iterator[tuple[ProjectionRunner, dict[str, str]] | int]:
    """A runner over the plugins' projections and the store at ``store``, and which plugin gives each.

    Yields an exit code instead when the store cannot be opened; a store
    that is not there is refused, never created.
    """
    from flext_eventsourcing import ProjectionRunner

    with opened_store(store, create=False, read_only=True) as opened:  # the runner only reads events
        if isinstance(opened, int):
            yield opened
            return
        kernel, events = opened
        stores = stores_of(kernel).unwrap()  # opened_store succeeded, so event sourcing is on
        projections = stores.open_projection_store(store, create=False)
        if projections.is_failure:
            yield fail(projections, hint=str(projections.error_data.get("hint", STORE_HINT)))
            return
        providers = {
            projection.name: plugin
            for plugin, answer in kernel.plugins.collect("flext_projections")
            for projection in answer
        }
        try:
            yield ProjectionRunner(events, projections.value, stores.projections()), providers
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
        "updated_at": None if live is None else iso(live.updated_at),
    }


def list_projections(*, store: str | None = None) -> int:
    """List the projections: those plugins contribute, and those only stored (orphaned).

    Args:
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.

    """
    with _runner(store) as opened:
        if isinstance(opened, int):
            return opened
        runner, providers = opened
        statuses = runner.status()
        if statuses.is_failure:
            return fail(statuses)
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
    with _runner(store) as opened:
        if isinstance(opened, int):
            return opened
        statuses = opened[0].status(name)
        if statuses.is_failure:
            return fail(statuses)
    rows = [_row(s) for s in statuses.value]
    if current().output != "table":
        return emit(rows)
    # At most six columns, so that 80 fit: the error only when one failed, the versions in the JSON.
    columns = ["name", "state", "generation", "position", "head"]
    return emit_table(
        rows, columns + (["error"] if any(row["error"] for row in rows) else []), title="Projection status"
    )


def run(names: list[str] | None = None, *, store: str | None = None, follow: bool = False) -> int:
    """Bring projections up to date with the event store (building or rebuilding where needed).

    Args:
        names: Projections to run; default all.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.
        follow: Keep running, taking new events as they arrive, until Ctrl-C (exit code 130).

    """
    with _runner(store) as opened:
        if isinstance(opened, int):
            return opened
        runner = opened[0]
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
                return EXIT_INTERRUPTED
            if followed.is_failure:
                return fail(followed)
    handled = [{"name": name, "events": count} for name, count in sorted(result.value.items())]
    human = "\n".join(f"{row['name']}: {row['events']} events" for row in handled) or "no projections"
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
    with _runner(store) as opened:
        if isinstance(opened, int):
            return opened
        rebuilt = opened[0].rebuild(name, from_timestamp)
        if rebuilt.is_failure:
            return fail(rebuilt)
    checkpoint = rebuilt.value
    return emit(
        {**checkpoint.model_dump(mode="json"), "updated_at": iso(checkpoint.updated_at)},
        human=f"rebuilt {name}: generation {checkpoint.generation} is live at position {checkpoint.position}",
    )
