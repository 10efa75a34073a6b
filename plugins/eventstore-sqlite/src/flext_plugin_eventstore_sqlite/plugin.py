"""The ``eventstore-sqlite`` plugin: provides the ``sqlite`` event store backend.

Loading the plugin opens nothing; the store file is created when the factory
is first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_sdk import PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_kernel.eventcodec import EventCodec
    from flext_kernel.eventstore import EventStoreFactory, FlextEventStore

__all__ = ["BACKEND_NAME", "flext_event_store_backends", "manifest", "open_store"]

BACKEND_NAME = "sqlite"
"""The name users pick this backend by."""

manifest = PluginManifest(
    name="eventstore-sqlite",
    version="0.1.0",
    description="Embedded event store: one SQLite file in WAL mode (the default backend)",
)
"""The plugin's manifest."""


def open_store(codec: EventCodec | None = None, *, location: str | None = None) -> FlextEventStore:
    """Open the SQLite event store at ``location`` (a path or ``sqlite:///path``; None: the data dir)."""
    from flext_plugin_eventstore_sqlite.store import SQLiteEventStore, path_from_location

    return SQLiteEventStore(codec, path=path_from_location(location))


@hookimpl
def flext_event_store_backends() -> dict[str, EventStoreFactory]:
    """Provide the ``sqlite`` backend."""
    return {BACKEND_NAME: open_store}
