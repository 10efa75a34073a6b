"""The ``eventsourcing`` plugin: the event store in the container, and the hooks backends implement.

Installed, it registers two services: ``EventStores`` (opens a store at a
location a user named) and ``FlextEventStore`` (the store at the default
location, opened on first use and closed with the kernel). It offers the
in-memory backend (``memory://``) itself; files and databases come from
backend plugins. Disabled, neither service exists, and what needs one fails
naming this plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_eventsourcing.stores import EventStores, LocationSyntax
from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.plugins.manifest import PluginManifest

if TYPE_CHECKING:
    from flext_eventsourcing.eventcodec import EventCodec
    from flext_eventsourcing.eventstore import EventStoreFactory, FlextEventStore
    from flext_eventsourcing.projection import ProjectionStore, ProjectionStoreFactory
    from flext_kernel.container import FlextContainer

__all__ = [
    "NAME",
    "flext_event_store_backends",
    "flext_event_store_locations",
    "flext_projection_store_backends",
    "flext_register_services",
    "manifest",
]

NAME = "eventsourcing"
"""The plugin's name, which backend plugins list in ``requires``."""

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Event sourcing: the event store in the container, projections, and the backend hooks",
    hookspecs="flext_eventsourcing.hookspecs",
)
"""The plugin's manifest."""


@hookimpl
def flext_register_services(container: FlextContainer) -> None:
    """Register ``EventStores`` and the default ``FlextEventStore`` (opened on first resolve)."""
    from flext_eventsourcing.eventstore import FlextEventStore

    def stores() -> EventStores:
        return EventStores(container.resolve(FlextKernel).plugins)

    def default_store() -> FlextEventStore:
        return container.resolve(EventStores).open_event_store().unwrap()

    container.register_singleton(EventStores, stores, owner=NAME)
    container.register_singleton(FlextEventStore, default_store, owner=NAME)


def _memory_event_store(codec: EventCodec | None = None, *, location: str | None = None) -> FlextEventStore:
    from flext_eventsourcing.memory_store import InMemoryEventStore

    return InMemoryEventStore(codec)


def _memory_projection_store(*, location: str | None = None) -> ProjectionStore:
    from flext_eventsourcing.memory_projection_store import InMemoryProjectionStore

    return InMemoryProjectionStore()


@hookimpl
def flext_event_store_backends() -> dict[str, EventStoreFactory]:
    """The in-memory backend: one store per process, for tests and trials."""
    return {"memory": _memory_event_store}


@hookimpl
def flext_projection_store_backends() -> dict[str, ProjectionStoreFactory]:
    """Read models in memory, next to the in-memory event store."""
    return {"memory": _memory_projection_store}


@hookimpl
def flext_event_store_locations() -> list[LocationSyntax]:
    """``memory://`` selects the in-memory backend; its address means nothing."""
    return [LocationSyntax(backend="memory", address_required=False)]
