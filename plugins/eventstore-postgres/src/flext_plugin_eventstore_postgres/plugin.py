"""The ``eventstore-postgres`` plugin: provides the ``postgres`` event store backend.

Loading the plugin imports neither psycopg nor anything that connects; the
database is reached when the factory's store is first used, and the schema
created then. A command that only reads opens with ``create=False``: the
probe, ``probe_store``, then refuses a database or schema that holds no store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    "flext_projection_store_backends",
    "manifest",
    "open_projection_store",
    "open_store",
    "probe_store",
]

BACKEND_NAME = "postgres"
"""The name users pick this backend by."""

manifest = PluginManifest(
    name="eventstore-postgres",
    version="0.1.0",
    description="Event store on PostgreSQL: parallel writers, LISTEN/NOTIFY live subscriptions",
    requires=("eventsourcing",),
)
"""The plugin's manifest."""


def open_store(codec: EventCodec | None = None, *, location: str | None = None) -> FlextEventStore:
    """Open the PostgreSQL event store at ``location`` (a URL; None: ``$FLEXT_EVENTSTORE_URL``).

    Raises:
        ValueError: no location given and ``FLEXT_EVENTSTORE_URL`` unset, or not a PostgreSQL address.

    """
    from flext_plugin_eventstore_postgres.store import PostgresEventStore

    return PostgresEventStore(codec, url=location)


def probe_store(location: str | None) -> FlextResult[None]:
    """Succeed if the store's tables are at ``location`` (None: ``$FLEXT_EVENTSTORE_URL``); create nothing.

    The backend's ``LocationSyntax.probe``: one connection; ``NOT_FOUND`` for a
    missing database or a schema without the store, ``STORAGE_ERROR`` for a
    server that cannot be reached.

    Raises:
        ValueError: no location and ``FLEXT_EVENTSTORE_URL`` unset, or not a PostgreSQL address.

    """
    from flext_plugin_eventstore_postgres.store import PostgresEventStore

    store = PostgresEventStore(url=location, listen=False)
    try:
        return store.find()
    finally:
        store.close()


@hookimpl
def flext_event_store_backends() -> dict[str, EventStoreFactory]:
    """Provide the ``postgres`` backend."""
    return {BACKEND_NAME: open_store}


@hookimpl
def flext_event_store_locations() -> list[LocationSyntax]:
    """``postgresql://`` and ``postgres://`` URLs, and libpq ``key=value`` strings, select this backend."""
    from flext_eventsourcing import LocationSyntax

    return [
        LocationSyntax(
            backend=BACKEND_NAME,
            schemes=("postgresql", "postgres"),
            pattern=r"\s*(host|hostaddr|dbname|user|port|service)\s*=",
            install_hint='pip install "flext[postgres]" (psycopg and this plugin)',
            probe=probe_store,
        )
    ]


def open_projection_store(*, location: str | None = None) -> ProjectionStore:
    """Open the read models kept in the event store's schema at ``location``."""
    from flext_plugin_eventstore_postgres.projections import PostgresProjectionStore

    return PostgresProjectionStore(location)


@hookimpl
def flext_projection_store_backends() -> dict[str, ProjectionStoreFactory]:
    """Keep read models in the same schema as the events."""
    return {BACKEND_NAME: open_projection_store}
