"""The ``events`` plugin: declares its commands; loading it imports nothing else."""

from __future__ import annotations

from flext_sdk import CommandEntry, GroupEntry, PluginManifest

__all__ = ["NAME", "manifest"]

NAME = "events"
"""The plugin's name."""

_EVENTS = "flext_plugin_events.events_cli"
_PROJECTIONS = "flext_plugin_events.projections_cli"

_COMMANDS = (
    ("events", "streams", _EVENTS, "streams", "List the event streams."),
    ("events", "show", _EVENTS, "show", "Show the events of one stream."),
    ("events", "tail", _EVENTS, "tail", "Follow new events as they are written."),
    ("events", "export", _EVENTS, "export", "Write every event to a JSON-lines file."),
    ("events", "import", _EVENTS, "import_events", "Append the events of an export file."),
    ("projections", "list", _PROJECTIONS, "list_projections", "List the projections."),
    ("projections", "status", _PROJECTIONS, "status", "Show where projections are."),
    ("projections", "run", _PROJECTIONS, "run", "Bring projections up to date."),
    ("projections", "rebuild", _PROJECTIONS, "rebuild", "Rebuild a projection."),
)

manifest = PluginManifest(
    name=NAME,
    requires=("eventsourcing",),
    version="0.1.0",
    description="Browse, follow, export and import the event store; run and rebuild projections",
    commands=tuple(
        CommandEntry(path=(group, name), target=f"{module}:{attribute}", help=text)
        for group, name, module, attribute, text in _COMMANDS
    ),
    groups=(
        GroupEntry(path=("events",), help="Browse, follow, export and import the event store."),
        GroupEntry(
            path=("projections",), help="List, run and rebuild the projections (read models) of events."
        ),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""
