"""The ``eventstore-sqlite`` plugin: provides the ``sqlite`` event store backend.

Loading the plugin opens nothing. The store file is created when the factory
is called (in a directory that exists, unless it is the default file); a
command that only reads opens it with ``create=False`` and the backend's probe,
``probe_store``, refuses a path with no event store instead, then opens it
read-only. A file FLEXT did not create is refused by both, untouched.
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
    "probe_store",
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


def open_store(
    codec: EventCodec | None = None, *, location: str | None = None, read_only: bool = False
) -> FlextEventStore:
    """Open the SQLite event store at ``location`` (a path or ``sqlite:///path``; None: the data dir).

    The file is created if missing, in a directory that must exist unless
    ``location`` is None (the default file's directories are created).
    ``read_only=True`` opens an existing store for reading only.

    Raises:
        FileNotFoundError: the directory of ``location`` does not exist.
        NotAFlextStoreError: the file is not one FLEXT created (it is left untouched).
        FlextError: a directory, a store of a newer layout, or (``read_only``) no store.
        ValueError: ``location`` names no file.
        OSError: SQLite cannot open the file.

    """
    from flext_plugin_eventstore_sqlite.locations import open_event_store

    return open_event_store(codec, location, read_only=read_only)


def probe_store(location: str | None) -> FlextResult[None]:
    """Succeed if an event store file is at ``location`` (None: the default); create nothing.

    The backend's ``LocationSyntax.probe``: ``NOT_FOUND`` for a missing or
    empty file, ``VALIDATION_ERROR`` for a directory, ``NOT_A_FLEXT_STORE``
    for a file FLEXT did not create.
    """
    from flext_plugin_eventstore_sqlite.locations import find_store

    return find_store(location)


@hookimpl
def flext_event_store_backends() -> dict[str, EventStoreFactory]:
    """Provide the ``sqlite`` backend."""
    return {BACKEND_NAME: open_store}


@hookimpl
def flext_event_store_locations() -> list[LocationSyntax]:
    """File paths and ``sqlite:///path`` select this backend; it is the default store."""
    from flext_eventsourcing import LocationSyntax

    return [LocationSyntax(backend=BACKEND_NAME, paths=True, default=True, read_only=True, probe=probe_store)]


def open_projection_store(*, location: str | None = None) -> ProjectionStore:
    """Open the read models kept in the SQLite event store file at ``location`` (same rules as events).

    Raises:
        NotAFlextStoreError: the file is not one FLEXT created (it is left untouched).

    """
    from flext_plugin_eventstore_sqlite.files import inspect_file, refusal
    from flext_plugin_eventstore_sqlite.locations import writable_path
    from flext_plugin_eventstore_sqlite.projections import SQLiteProjectionStore

    path = writable_path(location)
    refused = refusal(inspect_file(path), reading=False)
    if refused is not None:
        raise refused
    return SQLiteProjectionStore(path)


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
