"""The ``scheduler`` plugin: declares its commands; loading it imports nothing else."""

from __future__ import annotations

from flext_sdk import CommandEntry, GroupEntry, PluginManifest

__all__ = ["NAME", "manifest"]

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
