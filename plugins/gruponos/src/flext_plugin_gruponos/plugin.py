"""The ``gruponos`` plugin: Oracle WMS Cloud into the warehouse database, as FLEXT pipelines and schedules.

Its commands (``flext gruponos ...``) are declared here and imported only
when they run (``flext_plugin_gruponos.cli``). It works through FLEXT's own
commands (``flext pipeline``, ``flext schedule``) and the event store, never
by importing the pipeline or scheduler plugins; it extracts with
``tap-oracle-wms`` and loads with ``target-postgres`` (or ``target-oracle``,
``target.kind: oracle``), which the singer plugin runs.
"""

from __future__ import annotations

from flext_sdk import CommandEntry, GroupEntry, PluginManifest

__all__ = ["NAME", "manifest"]

NAME = "gruponos"
"""The plugin's name."""

_CLI = "flext_plugin_gruponos.cli"

_COMMANDS = (
    (("gruponos", "init"), "init", "Start a GrupoNos deployment: a commented gruponos.yaml."),
    (
        ("gruponos", "pipeline", "deploy"),
        "deploy",
        "Create or update the pipeline and its incremental and reload schedules.",
    ),
    (("gruponos", "status"), "status", "Per entity: last run, rows, failures and the lag behind the WMS."),
    (("gruponos", "logs"), "logs", "Print (or follow) the latest run's log."),
    (("gruponos", "reload"), "reload", "Reload everything from the WMS now (a full refresh)."),
)

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="GrupoNos: Oracle WMS Cloud into the warehouse database, incrementally, on a schedule",
    requires=("eventsourcing", "pipeline", "scheduler"),
    commands=tuple(
        CommandEntry(path=path, target=f"{_CLI}:{attribute}", help=text)
        for path, attribute, text in _COMMANDS
    ),
    groups=(
        GroupEntry(path=("gruponos",), help="GrupoNos: Oracle WMS Cloud into the warehouse, on a schedule."),
        GroupEntry(path=("gruponos", "pipeline"), help="Deploy the GrupoNos pipeline and its schedules."),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""
