"""The ``scheduler`` plugin: its commands and the ``AddSchedule`` handler; loading it imports nothing else.

Other plugins add schedules through ``flext_sdk.contracts.schedule`` (``AddSchedule`` on the
command bus), handled here: the meltano plugin imports a project's ``schedules:`` that way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextCommandBus, FlextEventBus, FlextQueryBus, FlextResult
    from flext_sdk.contracts.schedule import AddSchedule, ScheduleAdding

__all__ = ["NAME", "flext_register_handlers", "manifest"]

NAME = "scheduler"
"""The plugin's name."""

_SCHEDULE = "flext_plugin_scheduler.schedule_cli"
_SCHEDULER = "flext_plugin_scheduler.scheduler_cli"

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Cron schedules for pipelines and Meltano jobs, fired by 'flext scheduler' or 'run-due'",
    requires=("eventsourcing",),
    commands=(
        CommandEntry(path=("schedule", "add"), target=f"{_SCHEDULE}:add", help="Add a cron schedule."),
        CommandEntry(
            path=("schedule", "list"),
            target=f"{_SCHEDULE}:list_schedules",
            help="List the schedules: next due time, last firing and its outcome.",
        ),
        CommandEntry(path=("schedule", "remove"), target=f"{_SCHEDULE}:remove", help="Remove a schedule."),
        CommandEntry(
            path=("schedule", "run-due"),
            target=f"{_SCHEDULE}:run_due",
            help="Run what is due now, once, and exit (for a system cron or CI).",
        ),
        CommandEntry(
            path=("scheduler",),
            target=f"{_SCHEDULER}:scheduler",
            help="Run the scheduler (foreground or --background); 'flext scheduler stop' stops it.",
        ),
    ),
    groups=(GroupEntry(path=("schedule",), help="Add, list, remove and run cron schedules."),),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_register_handlers(
    command_bus: FlextCommandBus, query_bus: FlextQueryBus, event_bus: FlextEventBus
) -> None:
    """Handle ``AddSchedule`` (the handler's module loads when first asked)."""
    from flext_sdk.contracts.schedule import AddSchedule

    def add_schedule(command: AddSchedule) -> FlextResult[ScheduleAdding]:
        from flext_plugin_scheduler.handlers import add_schedule as handle

        return handle(command)

    command_bus.register(AddSchedule, add_schedule, owner=NAME)
