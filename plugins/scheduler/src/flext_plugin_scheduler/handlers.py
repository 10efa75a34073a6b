"""The handler of ``flext_sdk.contracts.schedule.AddSchedule``: schedules other plugins add.

The meltano plugin imports a project's ``schedules:`` through it. The
definition is built and checked as ``flext schedule add`` builds it
(``definitions.schedule_definition``), with the command's ``source`` kept in
``ScheduleAdded``; see the contract's docstring for what is kept, replaced
or refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_kernel.errors import ALREADY_REGISTERED
from flext_plugin_scheduler.book import ScheduleBook
from flext_plugin_scheduler.definitions import command_definition, schedule_definition
from flext_sdk import FlextResult
from flext_sdk.contracts.schedule import AddingOutcome, ScheduleAdding

if TYPE_CHECKING:
    from flext_plugin_scheduler.events import ScheduleAdded
    from flext_sdk.contracts.schedule import AddSchedule

__all__ = ["add_schedule"]

_COMPARED = ("cron", "timezone", "catch_up", "job_kind", "job", "directory", "full_refresh")
"""What makes two definitions the same (``since`` is when each was added)."""


def add_schedule(command: AddSchedule) -> FlextResult[ScheduleAdding]:
    """Add, keep or replace ``command.name``; with ``check_only``, only say which."""
    definition = _definition(command)
    if definition.is_failure:
        return FlextResult.fail(
            f"schedule {command.name!r}: {definition.error}",
            error_code=definition.error_code,
            error_data={**definition.error_data, "schedule": command.name},
        )
    book = ScheduleBook(command.store)
    refreshed = book.refresh()
    if refreshed.is_failure:
        return FlextResult.fail(refreshed.error or "", refreshed.error_code, refreshed.error_data)
    existing = book.get(command.name)
    outcome = _outcome(command, definition.value, existing.definition if existing else None)
    if outcome.is_failure or command.check_only or outcome.value == "unchanged":
        return outcome.map(lambda done: ScheduleAdding(schedule=command.name, outcome=done))
    if outcome.value == "replaced":
        removed = book.remove(command.name)
        if removed.is_failure:
            return FlextResult.fail(removed.error or "", removed.error_code, removed.error_data)
    added = book.add(definition.value)
    if added.is_failure:
        return FlextResult.fail(added.error or "", added.error_code, added.error_data)
    return FlextResult.ok(ScheduleAdding(schedule=command.name, outcome=outcome.value))


def _definition(command: AddSchedule) -> FlextResult[dict[str, Any]]:
    if command.job_kind == "command":
        built = command_definition(
            command.name, command.cron, command.job, command.timezone, command.catch_up, False
        )
    else:
        pipeline = command.job if command.job_kind == "pipeline" else None
        meltano_job = command.job if command.job_kind == "meltano-job" else None
        built = schedule_definition(
            command.name, command.cron, pipeline, meltano_job, command.timezone, command.catch_up
        )
    if built.is_failure:
        return built
    return FlextResult.ok({**built.value, "directory": command.directory, "source": command.source})


def _outcome(
    command: AddSchedule, definition: dict[str, Any], existing: ScheduleAdded | None
) -> FlextResult[AddingOutcome]:
    if existing is None:
        added: AddingOutcome = "added"
        return FlextResult.ok(added)
    if existing.source != command.source:
        added_by = f"'{existing.source}'" if existing.source else "'flext schedule add'"
        return FlextResult.fail(
            f"schedule {command.name!r} exists already, added by {added_by}; it is left as it is",
            error_code=ALREADY_REGISTERED,
            error_data={
                "schedule": command.name,
                "hint": f"remove it first ('flext schedule remove {command.name}') to import this one",
            },
        )
    same = all(getattr(existing, key) == definition[key] for key in _COMPARED)
    outcome: AddingOutcome = "unchanged" if same else "replaced"
    return FlextResult.ok(outcome)
