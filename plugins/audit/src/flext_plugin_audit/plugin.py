"""The ``audit`` plugin: ``flext audit log|export|verify|sync``; ``sync`` copies the chain to the event store.

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

__all__ = ["AT_STARTUP_ENV", "NAME", "copy_pending", "flext_startup", "manifest"]

NAME: Final = "audit"
"""The plugin's name."""
AT_STARTUP_ENV: Final = "FLEXT_AUDIT_COPY_AT_STARTUP"
"""Set to 1 to copy pending records whenever a command boots the kernel (docs/plugins/audit.md)."""
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
            path=("audit", "sync"),
            target=f"{_CLI}:sync",
            help="Copy the records not yet in the event store (stream audit), each once.",
        ),
        CommandEntry(
            path=("audit", "verify"),
            target=f"{_CLI}:verify",
            help="Recompute the hash chain; name any record edited, deleted or moved (exit 1).",
        ),
    ),
    groups=(GroupEntry(path=("audit",), help="Who ran what, when, and how it ended."),),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_startup(kernel: FlextKernel) -> None:
    """With ``FLEXT_AUDIT_COPY_AT_STARTUP=1``, copy the pending records when a command boots the kernel.

    Off by default: a copy at every start-up appends events before each command runs, so every
    projection reads as behind and every listing of the store shows the audit stream growing;
    ``flext audit sync`` (by hand or on a schedule) copies them instead.
    """
    import os

    if os.environ.get(AT_STARTUP_ENV, "").strip().lower() in {"1", "true", "yes"}:
        copy_pending(kernel)


def copy_pending(kernel: FlextKernel) -> int | None:
    """Copy the records not yet in the event store; how many were pending, or None when nothing could run.

    A store that cannot be opened or written leaves the records pending: the copy never fails a command.
    """
    import sqlite3

    from flext_plugin_audit import chain

    try:
        with chain.connected(create=False) as connection:
            if connection is None:
                return None
            pending = len(chain.uncopied(connection)[1])
            if pending and not _copy(kernel, connection):
                return None
            return pending
    except (sqlite3.Error, OSError):
        return None  # the chain is unreadable: `flext audit verify` reports it


def _copy(kernel: FlextKernel, connection: Connection) -> bool:
    from flext_eventsourcing import EventStores
    from flext_plugin_audit.copy import copy_records

    stores = kernel.container.get(EventStores)
    if stores.is_failure:
        return False  # the eventsourcing plugin is off: the records wait
    # create=False: the audit never creates a store (a command that found none would now find one);
    # the records wait until a command that records events has made it.
    opened = stores.value.open_event_store(None, create=False)
    if opened.is_failure:
        return False
    try:
        copy_records(opened.value, connection)
    finally:
        opened.value.close()
    return True
