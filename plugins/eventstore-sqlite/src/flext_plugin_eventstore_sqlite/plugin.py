"""The ``eventstore-sqlite`` plugin: provides the ``sqlite`` event store backend.

Loading the plugin opens nothing; the store file is created when the factory
is first called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flext_sdk import FlextResult, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_eventsourcing import (
        EventCodec,
        EventStoreFactory,
        FlextEventStore,
        LocationSyntax,
        ProjectionStore,
        ProjectionStoreFactory,
    )

__all__ = [
    "BACKEND_NAME",
    "flext_event_store_backends",
    "flext_event_store_locations",
    "flext_health",
    "flext_projection_store_backends",
    "manifest",
    "open_projection_store",
    "open_store",
]

BACKEND_NAME = "sqlite"
"""The name users pick this backend by."""

manifest = PluginManifest(
    name="eventstore-sqlite",
    version="0.1.0",
    description="Embedded event store: one SQLite file in WAL mode (the default backend)",
    requires=("eventsourcing",),
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


@hookimpl
def flext_event_store_locations() -> list[LocationSyntax]:
    """File paths and ``sqlite:///path`` select this backend; it is the default store."""
    from flext_eventsourcing import LocationSyntax

    return [LocationSyntax(backend=BACKEND_NAME, paths=True, default=True)]


def open_projection_store(*, location: str | None = None) -> ProjectionStore:
    """Open the read models kept in the SQLite event store file at ``location``."""
    from flext_plugin_eventstore_sqlite.projections import SQLiteProjectionStore
    from flext_plugin_eventstore_sqlite.store import path_from_location

    return SQLiteProjectionStore(path_from_location(location))


@hookimpl
def flext_projection_store_backends() -> dict[str, ProjectionStoreFactory]:
    """Keep read models in the same SQLite file as the events."""
    return {BACKEND_NAME: open_projection_store}


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """Check that the default store's directory can take the file (nothing is created)."""
    from flext_kernel.errors import STORAGE_ERROR
    from flext_plugin_eventstore_sqlite.store import default_path

    path = default_path()
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent  # the file and its directories are created on first use
    if not os.access(directory, os.W_OK):
        return FlextResult.fail(
            f"the default event store {path} cannot be created: {directory} is not writable "
            "(set FLEXT_EVENTSTORE_URL or FLEXT_HOME to a writable place)",
            error_code=STORAGE_ERROR,
            error_data={"path": str(path)},
        )
    return FlextResult.ok({"default_store": str(path), "exists": path.exists()})
