"""The ``audit`` plugin: declares ``flext audit log|export|verify`` and copies the chain to the event store.

Loading it imports nothing heavy: the commands import what they need when
they run. The run observer (``observer.record``) is declared as an entry
point in pyproject.toml, not here: the kernel calls it without loading the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import CommandEntry, GroupEntry, PluginManifest

if TYPE_CHECKING:
    from sqlite3 import Connection

    from flext_kernel.kernel import FlextKernel

__all__ = ["NAME", "flext_startup", "manifest"]

NAME: Final = "audit"
"""The plugin's name."""
_CLI: Final = "flext_plugin_audit.cli"

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="An audit log of every flext run: a tamper-evident hash chain, copied to the event store",
    commands=(
        CommandEntry(
            path=("audit", "log"),
            target=f"{_CLI}:log",
            help="The runs recorded: user, profile, command (secrets redacted), times, exit code.",
        ),
        CommandEntry(
            path=("audit", "export"),
            target=f"{_CLI}:export",
            help="Write every record, with its hashes, as JSON lines.",
        ),
        CommandEntry(
            path=("audit", "verify"),
            target=f"{_CLI}:verify",
            help="Recompute the hash chain; name any record edited, deleted or moved (exit 1).",
        ),
    ),
    groups=(GroupEntry(path=("audit",), help="Who ran what, when, and how it ended: log, export, verify."),),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_startup(kernel: FlextKernel) -> None:
    """Copy the records not yet in the event store (stream ``audit``), when there is a store.

    Costs one small SQLite read when nothing is pending. A store that cannot
    be opened or written leaves the records pending for the next start-up:
    the command that booted the kernel must not fail for the audit's copy.
    """
    import sqlite3

    from flext_plugin_audit import chain

    try:
        with chain.connected(create=False) as connection:
            if connection is None or not chain.uncopied(connection)[1]:
                return
            _copy(kernel, connection)
    except (sqlite3.Error, OSError):
        return  # the chain is unreadable: `flext audit verify` reports it


def _copy(kernel: FlextKernel, connection: Connection) -> None:
    from flext_eventsourcing import EventStores
    from flext_plugin_audit.copy import copy_records

    stores = kernel.container.get(EventStores)
    if stores.is_failure:
        return  # the eventsourcing plugin is off: the records wait
    # create=False: the audit never creates a store (a command that found none would now find one);
    # the records wait until a command that records events has made it.
    opened = stores.value.open_event_store(None, create=False)
    if opened.is_failure:
        return
    try:
        copy_records(opened.value, connection)
    finally:
        opened.value.close()
