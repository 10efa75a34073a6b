"""``flext schedule add|list|remove|run-due``: schedules as events in the event store.

Every command takes ``--store`` (default ``$FLEXT_EVENTSTORE_URL``, else the
embedded SQLite file); ``list`` only reads it and refuses one that is not
there. What ``--output json`` prints is listed in docs/plugins/scheduler.md.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from flext_eventsourcing import opened_store, stores_of
from flext_kernel.errors import INTERRUPTED, NOT_FOUND
from flext_plugin_scheduler.book import ScheduleBook, ScheduleState, checked_name
from flext_plugin_scheduler.cron import parse_cron
from flext_plugin_scheduler.definitions import schedule_definition
from flext_plugin_scheduler.errors import FIRING_FAILED
from flext_sdk import FlextResult
from flext_sdk.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    boot_kernel,
    current,
    emit,
    emit_error,
    emit_table,
    fail,
    note,
)
from flext_sdk.contracts import hint_of

if TYPE_CHECKING:
    from flext_plugin_scheduler.events import FiringFinished
    from flext_sdk import FlextEventStore, FlextKernel

__all__ = ["add", "list_schedules", "remove", "run_due"]

LIST_COLUMNS = ("schedule", "cron", "job", "catch_up", "next_due", "last_slot", "last_outcome")
"""The columns ``flext schedule list`` shows people (JSON has every key of ``schedule_document``)."""
RUN_COLUMNS = ("schedule", "slot", "run_id", "outcome", "error")
"""The columns ``flext schedule run-due`` shows people."""


def add(
    name: str,
    *,
    cron: str,
    pipeline: str | None = None,
    meltano_job: str | None = None,
    command: str | None = None,
    timezone: str = "UTC",
    catch_up: Literal["none", "latest", "all"] = "latest",
    full_refresh: bool = False,
    store: str | None = None,
) -> int:
    """Add a schedule: run a pipeline (or a Meltano job) at the times a cron expression names.

    The job runs in the current directory (where the pipeline's project is).
    The first slot due is the first one after now.

    Args:
        name: The schedule's name.
        cron: When: a cron expression ("*/15 * * * *"; a sixth field is seconds).
        pipeline: Run 'flext pipeline run PIPELINE'.
        meltano_job: Run 'flext meltano run MELTANO_JOB' (needs the meltano plugin).
        command: Run 'flext COMMAND', a FLEXT command line ("algar oud sync --project /srv/migration").
        timezone: The IANA time zone the expression is read in.
        catch_up: Slots missed while no scheduler ran: run the most recent once (latest), all, or none.
        full_refresh: Run the pipeline with --full-refresh (a scheduled reload; pipelines only).
        store: The event store (a SQLite path or postgresql:// URL).

    """
    definition = schedule_definition(
        name, cron, pipeline, meltano_job, timezone, catch_up, full_refresh, command
    )
    if definition.is_failure:
        return fail(definition, hint=hint_of(definition))
    with opened_store(store) as opened:
        if isinstance(opened, int):
            return opened
        added = ScheduleBook(opened[1]).add(definition.value)
    if added.is_failure:
        return fail(added, hint=hint_of(added))
    event = added.value
    document = _document_of_definition(event.schedule, definition.value)
    first = parse_cron(cron, timezone).unwrap().next_after(event.since)
    document["next_due"] = first
    job = {"pipeline": "pipeline", "meltano-job": "meltano job", "command": "flext"}[
        event.job_kind
    ] + f" {event.job}"
    return emit(
        document,
        human=f"added schedule {name}: {job} at '{cron}' ({timezone}), first due {_iso(first)}; "
        "'flext scheduler' or 'flext schedule run-due' fires it",
    )


@contextmanager
def _existing_store(
    store: str | None, *, read_only: bool
) -> Iterator[tuple[FlextKernel, FlextEventStore] | int | None]:
    """The store at ``store``; None when ``store`` is not given and the default store does not exist yet.

    A fresh home has no schedules, which is not an error; a ``--store`` that
    is not there is (``NOT_FOUND``, exit 2, nothing created).
    """
    booted = boot_kernel()
    if booted.is_failure:
        yield fail(booted)
        return
    with booted.value as kernel:
        stores = stores_of(kernel)
        if stores.is_failure:
            yield fail(stores, hint=hint_of(stores))
            return
        opened = stores.value.open_event_store(store, create=False, read_only=read_only)
        if opened.is_failure:
            absent = store is None and "FLEXT_EVENTSTORE_URL" not in os.environ
            yield None if absent and opened.error_code == NOT_FOUND else fail(opened, hint=hint_of(opened))
            return
        try:
            yield kernel, opened.value
        finally:
            opened.value.close()


def list_schedules(*, store: str | None = None) -> int:
    """List the schedules: when each is due next, its last firing and how it ended.

    Args:
        store: The event store (a SQLite path or postgresql:// URL).

    """
    documents: list[dict[str, Any]] = []
    with _existing_store(store, read_only=True) as opened:
        if isinstance(opened, int):
            return opened
        if opened is not None:
            book = ScheduleBook(opened[1])
            refreshed = book.refresh()
            if refreshed.is_failure:
                return fail(refreshed)
            documents = [schedule_document(state, datetime.now(UTC)) for state in book.states()]
    if current().output != "table":
        return emit(documents)
    if not documents:
        note("no schedules: add one with 'flext schedule add NAME --cron \"*/15 * * * *\" --pipeline P'")
    rows = [_row(document) for document in documents]
    return emit_table(rows, list(LIST_COLUMNS), title="Schedules")


def schedule_document(state: ScheduleState, now: datetime) -> dict[str, Any]:
    """One schedule as ``flext schedule list --output json`` prints it."""
    from flext_plugin_scheduler.loop import claimant_alive
    from flext_plugin_scheduler.planning import next_due

    definition = state.definition
    assert definition is not None, "only schedules with a definition are listed"
    document = _document_of_definition(state.name, definition.model_dump())
    last: FiringFinished | None = None
    outcome: str = "never run"
    error: str | None = None
    slot: datetime | None = None
    run_id: str | None = None
    if state.last_finished is not None:
        last, outcome, error = state.last_finished, state.last_finished.outcome, state.last_finished.error
    running = sorted(state.open_claims.values(), key=lambda claim: claim.slot)
    if running and (last is None or running[-1].slot >= last.slot):
        alive = claimant_alive(running[-1].claimed_by)
        outcome, error = ("running", None) if alive is not False else ("interrupted", None)
        slot, run_id = running[-1].slot, running[-1].run_id
    elif last is not None:
        slot, run_id = last.slot, last.run_id
    document.update(
        next_due=next_due(state, now),
        last_slot=slot,
        last_run_id=run_id,
        last_outcome=outcome,
        last_error=error,
        firings=state.claims,
        missed=state.skipped,
    )
    return document


def _document_of_definition(name: str, definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "schedule": name,
        "cron": definition["cron"],
        "timezone": definition["timezone"],
        "catch_up": definition["catch_up"],
        "job_kind": definition["job_kind"],
        "job": definition["job"],
        "full_refresh": definition.get("full_refresh", False),
        "directory": definition["directory"],
        "source": definition.get("source"),
    }


def _row(document: dict[str, Any]) -> dict[str, Any]:
    """A document as a table row for people: short times, the zone only when it is not UTC."""
    zone = "" if document["timezone"] == "UTC" else f" {document['timezone']}"
    kind = {"pipeline": "pipeline", "meltano-job": "meltano", "command": "flext"}[document["job_kind"]]
    outcome = document["last_outcome"]
    return {
        "schedule": document["schedule"],
        "cron": f"{document['cron']}{zone}",
        "job": f"{kind} {document['job']}" + (" --full-refresh" if document["full_refresh"] else ""),
        "catch_up": document["catch_up"],
        "next_due": _iso(document["next_due"]),
        "last_slot": _iso(document["last_slot"]),
        "last_outcome": outcome if not document["last_error"] else f"{outcome}: {document['last_error']}",
    }


def remove(name: str, *, store: str | None = None) -> int:
    """Remove a schedule: it fires no more (its firings stay in the event store).

    Args:
        name: The schedule.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    checked = checked_name(name)
    if checked.is_failure:
        return fail(checked)
    with _existing_store(store, read_only=False) as opened:
        if isinstance(opened, int):
            return opened
        removed = (
            ScheduleBook(opened[1]).remove(name)
            if opened is not None
            else FlextResult.fail(f"no schedule named {name!r}", error_code=NOT_FOUND)
        )
    if removed.is_failure:
        return fail(removed, hint=hint_of(removed))
    return emit({"schedule": name, "removed": True}, human=f"removed schedule {name}")


def run_due(*, store: str | None = None) -> int:
    """Run every slot that is due now, wait for the jobs, and exit: for a system cron or CI.

    A slot another scheduler claimed is not run again. Exits 1 if a job failed.

    Args:
        store: The event store (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_scheduler.clock import StopFlag, SystemClock
    from flext_plugin_scheduler.firing import Launcher
    from flext_plugin_scheduler.loop import Scheduler

    stop = StopFlag()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop.handle)
    with _existing_store(store, read_only=False) as opened:
        if isinstance(opened, int):
            return opened
        if opened is None:  # no store yet: no schedules
            return _ran([])
        kernel, events = opened
        scheduler = Scheduler(
            ScheduleBook(events), kernel, SystemClock(), launcher=Launcher(store=store), report=note
        )
        ran = scheduler.run_due(stop)
    if ran.is_failure:
        return fail(ran)
    if stop.signal == signal.SIGINT:
        return emit_error(
            "interrupted: the running jobs were asked to stop", INTERRUPTED, exit_code=EXIT_INTERRUPTED
        )
    return _ran(ran.value)


def _ran(finished: list[FiringFinished]) -> int:
    """Print the firings that ran; exit 1 (``FIRING_FAILED``) naming the first that failed."""
    documents = [
        {
            "schedule": event.schedule,
            "slot": event.slot,
            "run_id": event.run_id,
            "outcome": event.outcome,
            "exit_code": event.exit_code,
            "error": event.error,
            "code": event.code,
            "hint": event.hint,
        }
        for event in finished
    ]
    failed = [document for document in documents if document["outcome"] == "failed"]
    if current().output == "table":
        if documents:
            slots = [_iso(event.slot) for event in finished]
            rows = [{**document, "slot": slot} for document, slot in zip(documents, slots, strict=True)]
            emit_table(rows, list(RUN_COLUMNS), title="Firings")
        else:
            print("nothing was due")
    elif not failed:
        return emit(documents)
    if failed:
        first = failed[0]
        return emit_error(
            f"{len(failed)} of {len(documents)} firing(s) failed; {first['schedule']}: {first['error']}"
            f" [{first['code']}]",
            FIRING_FAILED,
            hint=str(first["hint"] or f"the job's log: {_log_hint(first)}"),
        )
    return EXIT_OK


def _log_hint(document: dict[str, Any]) -> str:
    from flext_plugin_scheduler.runtime import firing_log

    return str(firing_log(document["schedule"], document["run_id"]))


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
