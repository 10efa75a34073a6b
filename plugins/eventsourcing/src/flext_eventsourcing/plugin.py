"""The ``eventsourcing`` plugin: the event store in the container, and the hooks backends implement.

Installed, it registers two services: ``EventStores`` (opens a store at a
location a user named) and ``FlextEventStore`` (the store at the default
location, opened on first use and closed with the kernel). It offers the
in-memory backend (``memory://``) itself; files and databases come from
backend plugins. Disabled, neither service exists, and what needs one fails
naming this plugin.

Plugins teach the stores' codecs their event classes with an ``owner``; when
one of them is unplugged (it failed, stopped, or is hot-reloaded) this plugin
hears ``flext_contributions_removed`` and takes its classes out of the codecs
of the stores it opened, so that its next version can register them again.
"""

from __future__ import annotations

import threading
import weakref
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
    from flext_kernel.result import FlextResult

__all__ = [
    "NAME",
    "flext_contributions_removed",
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


class _OpeningStores(EventStores):
    """``EventStores`` that remembers what it opened, for ``flext_contributions_removed`` to clean.

    The codecs are held weakly: a store that was closed and dropped takes
    its codec with it.
    """

    def __init__(self, kernel: FlextKernel) -> None:
        super().__init__(kernel.plugins)
        self._codecs: weakref.WeakSet[EventCodec] = weakref.WeakSet()
        self._lock = threading.Lock()  # handlers may open stores while a plugin is unplugged
        self.default: FlextEventStore | None = None
        """The container's ``FlextEventStore``, once it was opened."""

    def open_event_store(
        self,
        location: str | None = None,
        codec: EventCodec | None = None,
        *,
        create: bool = True,
        read_only: bool = False,
    ) -> FlextResult[FlextEventStore]:
        """Open the store as ``EventStores`` does, and remember its codec."""
        opened = super().open_event_store(location, codec, create=create, read_only=read_only)
        if opened.is_success:
            with self._lock:
                self._codecs.add(opened.value.codec)
        return opened

    def codecs(self) -> list[EventCodec]:
        """The codecs of the stores opened so far that are still alive."""
        with self._lock:
            return list(self._codecs)


@hookimpl
def flext_register_services(container: FlextContainer) -> None:
    """Register ``EventStores`` and the default ``FlextEventStore`` (opened on first resolve)."""

    def stores() -> EventStores:
        return _OpeningStores(container.resolve(FlextKernel))

    container.register_singleton(EventStores, stores, owner=NAME)
    _register_default_store(container)


def _register_default_store(container: FlextContainer, *, replace: bool = False) -> None:
    """Register ``FlextEventStore``; replacing it closes the store opened so far (the container does)."""
    from flext_eventsourcing.eventstore import FlextEventStore

    def default_store() -> FlextEventStore:
        stores = container.resolve(EventStores)
        store = stores.open_event_store().unwrap()
        if isinstance(stores, _OpeningStores):
            stores.default = store
        return store

    container.register_singleton(FlextEventStore, default_store, owner=NAME, replace=replace)


@hookimpl
def flext_contributions_removed(kernel: FlextKernel, owner: str) -> None:
    """Take what ``owner`` put into the stores opened here out of them.

    Its event and aggregate classes leave the codecs: those registered with
    ``owner=owner``, with their upcasters, and those defined in ``owner``'s
    modules that were registered without an owner (a projection runner's),
    which would otherwise keep their type names from the classes of
    ``owner``'s next version. If ``owner`` is the backend that opened the
    container's ``FlextEventStore``, that store runs code being unloaded: it
    is closed, and the next resolve opens one with the backend's next version.
    """
    found = kernel.container.get(EventStores)
    if found.is_failure or not isinstance(found.value, _OpeningStores):
        return  # event sourcing itself is leaving, or somebody else opens the stores
    opening = found.value
    record = kernel.plugins.records.get(owner)
    modules = record.modules if record is not None else ()
    for codec in opening.codecs():
        codec.remove_owner(owner)
        codec.remove_modules(modules)
    if opening.default is not None and type(opening.default).__module__ in modules:
        opening.default = None
        _register_default_store(kernel.container, replace=True)


def _memory_event_store(codec: EventCodec | None = None, *, location: str | None = None) -> FlextEventStore:
    from flext_eventsourcing.memory_store import InMemoryEventStore

    return InMemoryEventStore(codec)


def _memory_projection_store(*, location: str | None = None) -> ProjectionStore:
    from flext_eventsourcing.memory_projection_store import InMemoryProjectionStore

    return InMemoryProjectionStore()


@hookimpl
def flext_event_store_backends() -> dict[str, EventStoreFactory]:
    """The in-memory backend: each store lives in this process only, for tests and trials."""
    return {"memory": _memory_event_store}


@hookimpl
def flext_projection_store_backends() -> dict[str, ProjectionStoreFactory]:
    """Read models in memory, next to the in-memory event store."""
    return {"memory": _memory_projection_store}


@hookimpl
def flext_event_store_locations() -> list[LocationSyntax]:
    """``memory://`` selects the in-memory backend; its address means nothing."""
    return [LocationSyntax(backend="memory", address_required=False)]
