"""``flext meltano schedules import [DIR]``: a Meltano project's ``schedules:`` as FLEXT schedules.

The project is checked as for a delegated run (``meltano_cli.prepare``);
each schedule is planned (``schedules.planned_schedules``), every one is
checked by the scheduler plugin (``AddSchedule`` with ``check_only``), and
only when all pass are they added: a cron croniter cannot read stops the
import with the scheduler's line naming the schedule, nothing added.
``flext meltano import`` does the same after it registers the pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

from flext_kernel.result import Failure, FlextResult
from flext_sdk.cli import emit_table, fail, note

if TYPE_CHECKING:
    from flext_plugin_meltano.project import MeltanoProject

__all__ = ["COLUMNS", "import_schedules", "meltano_schedules_import"]

COLUMNS = ("schedule", "interval", "runs", "outcome")
"""The table's columns (the JSON has ``job_kind``, ``job`` and ``reason`` too)."""
Flag = Annotated[bool, Parameter(negative="")]


def meltano_schedules_import(
    project: Path | None = None, *, environment: str | None = None, dry_run: Flag = False
) -> int:
    """Add the project's Meltano schedules as FLEXT schedules (again: keep the same, replace the changed).

    Args:
        project: The Meltano project directory; default the working directory or its nearest parent.
        environment: Run the imported schedules in this Meltano environment; default the project's
            default_environment, whichever it is when they fire.
        dry_run: Check each schedule and show what importing would do; add nothing.

    """
    from flext_plugin_meltano.meltano_cli import prepare

    prepared = prepare(project, environment)
    if isinstance(prepared, int):
        return prepared
    imported = import_schedules(prepared[1], environment, dry_run=dry_run)
    if isinstance(imported, int):
        return imported
    if not imported:
        note(f"{prepared[1].root / 'meltano.yml'} has no schedules")
    return emit_table(imported, list(COLUMNS), title="schedules imported from Meltano")


def import_schedules(
    project: MeltanoProject, environment: str | None, *, dry_run: bool = False
) -> list[dict[str, Any]] | int:
    """Check every schedule of ``project``, then (unless ``dry_run``) add them; one row each.

    A failure is reported here (one ``error:`` line, its hint) and its exit code returned.
    """
    from flext_eventsourcing import opened_store
    from flext_plugin_meltano.schedules import add_schedules, planned_schedules
    from flext_sdk.contracts import hint_of, require_handler
    from flext_sdk.contracts.schedule import AddSchedule

    planned = planned_schedules(project, environment)
    if not planned:
        return []
    with opened_store(None) as opened:
        if isinstance(opened, int):
            return opened
        kernel, store = opened
        needed = require_handler(kernel, AddSchedule, why="importing Meltano's schedules")
        if isinstance(needed, Failure):
            return fail(needed, hint=hint_of(needed))
        checked = add_schedules(kernel.command_bus, store, planned, check_only=True)
        if isinstance(checked, Failure) or dry_run:
            outcomes = checked
        else:
            outcomes = add_schedules(kernel.command_bus, store, planned, check_only=False)
    if isinstance(outcomes, Failure):
        where = f"{project.root / 'meltano.yml'}: schedules: "
        failed = FlextResult.fail(where + (outcomes.error or ""), outcomes.error_code, outcomes.error_data)
        return fail(failed, hint=hint_of(outcomes))
    by_name = {adding.schedule: adding.outcome for adding in outcomes.value}
    return [
        {
            "schedule": schedule.name,
            "interval": schedule.interval,
            "runs": schedule.runs,
            "job_kind": schedule.fields["job_kind"] if schedule.fields else None,
            "job": schedule.fields["job"] if schedule.fields else None,
            "outcome": by_name.get(schedule.name, "left out"),
            "reason": schedule.reason or None,
        }
        for schedule in planned
    ]
