"""The ``scheduler`` plugin: its commands and the ``AddSchedule`` handler; loading it imports nothing else.

It contributes itself to the ``service`` plugin's registry (``flext_services``), so
``flext service start|stop|health scheduler`` supervise it like any local process.

Other plugins add schedules through ``flext_sdk.contracts.schedule`` (``AddSchedule`` on the
command bus), handled here: the meltano plugin imports a project's ``schedules:`` that way.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextCommandBus, FlextEventBus, FlextQueryBus, FlextResult
    from flext_sdk.contracts.schedule import AddSchedule, ScheduleAdding

__all__ = ["NAME", "flext_register_handlers", "flext_services", "manifest"]

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


_STOP_TIMEOUT = 150
"""Seconds ``flext service stop scheduler`` waits after SIGTERM: as ``flext scheduler stop``, long
enough for the running jobs to stop cleanly (``loop.STOP_WAIT``) and be recorded."""


@hookimpl(optionalhook=True)  # specified by the service plugin, which this plugin does not require
def flext_services() -> list[dict[str, object]]:
    """The scheduler as a local process of the service registry: ``flext scheduler`` in the foreground.

    ``flext service start scheduler`` runs it in a session of its own, with that command's
    environment (``FLEXT_EVENTSTORE_URL`` chooses the store). A plain dict: no import of the
    service plugin. Not required: FLEXT is ready without it (``run-due`` can fire from a system cron).
    """
    return [
        {
            "name": NAME,
            "kind": "local-process",
            "description": "fires the cron schedules of 'flext schedule add' (flext scheduler)",
            "required": False,
            "argv": [sys.executable, "-m", "flext_kernel.cli", "scheduler", "run"],
            "stop_timeout": _STOP_TIMEOUT,
        }
    ]
