"""Unplugging a plugin takes its classes out of the event codecs, so its next version can register them.

The codec half (``remove_owner``, ``remove_modules``) is tested on a bare
``EventCodec``; the plugin half boots a kernel with the ``eventsourcing``
plugin and a plugin that registers event classes in the stores' codecs, then
removes that plugin's contributions as a failure, a shutdown or a hot reload does.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import ClassVar

import pytest

from flext_eventsourcing.aggregate import FlextAggregateRoot, when
from flext_eventsourcing.eventcodec import EventCodec
from flext_eventsourcing.eventstore import FlextEventStore, StreamDeleted
from flext_eventsourcing.stores import EventStores
from flext_kernel.container import FlextContainer
from flext_kernel.errors import ALREADY_REGISTERED, FlextError
from flext_kernel.kernel import FlextKernel
from flext_kernel.messages import FlextDomainEvent
from flext_kernel.plugins.base import FlextPlugin
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.plugins.manifest import PluginManifest


class Shipped(FlextDomainEvent):
    message_type: ClassVar[str | None] = "orders.Shipped"
    parcels: int


class Order(FlextAggregateRoot):
    parcels: int = 0

    @when(Shipped)
    def _shipped(self, event: Shipped) -> None:
        self.parcels += event.parcels


class Billed(FlextDomainEvent):
    message_type: ClassVar[str | None] = "billing.Billed"


def _next_version() -> tuple[type[FlextDomainEvent], type[FlextAggregateRoot]]:
    """Classes with the same type names as ``Shipped`` and ``Order``, as a reloaded module defines them."""

    class Shipped(FlextDomainEvent):
        message_type: ClassVar[str | None] = "orders.Shipped"
        parcels: int

    class Order(FlextAggregateRoot):
        @when(Shipped)
        def _shipped(self, event: Shipped) -> None:
            pass

    return Shipped, Order


def test_remove_owner_forgets_the_owners_classes_aggregates_and_upcasters() -> None:
    codec = EventCodec()
    codec.register_aggregate(Order, owner="orders")
    codec.register(Billed, owner="billing")
    codec.upcasters.add(Shipped, 1, dict, owner="orders")
    codec.upcasters.add(Billed, 1, dict, owner="billing")
    codec.type_of(Shipped(aggregate_id="o1", parcels=1))  # fills the name cache

    assert codec.remove_owner("orders") == 2  # the aggregate and its event
    assert (Order in codec, Shipped in codec, Billed in codec) == (False, False, True)
    assert codec.upcasters.versions(Shipped) == []
    assert codec.upcasters.versions(Billed) == [1]
    assert Shipped not in codec._names  # the cache lets the unloaded class go
    assert codec.remove_owner("orders") == 0  # idempotent

    shipped, order = _next_version()
    codec.register_aggregate(order, owner="orders")  # no ALREADY_REGISTERED
    assert codec.event_class("orders.Shipped") is shipped
    assert StreamDeleted in codec


def test_remove_modules_forgets_classes_registered_without_an_owner() -> None:
    codec = EventCodec()
    codec.register_aggregate(Order)  # as a projection runner registers what it handles
    codec.register(Billed, owner="billing")
    shipped, _ = _next_version()
    with pytest.raises(FlextError) as raised:
        codec.register(shipped)
    assert raised.value.error_code == ALREADY_REGISTERED

    assert codec.remove_modules([__name__]) == 3  # Order, Shipped and Billed live here
    assert codec.names() == ["flext.StreamDeleted"]
    assert codec.remove_modules(["somewhere.else"]) == 0
    codec.register(shipped)
    assert codec.event_class("orders.Shipped") is shipped


# The plugin half.

ORDERS = "orders-plugin"


@pytest.fixture
def orders_module() -> Iterator[types.ModuleType]:
    """A plugin module ``orders_plugin`` that registers ``Shipped`` in a store's codec when told to."""
    module = types.ModuleType("orders_plugin")
    module.manifest = PluginManifest(name=ORDERS, requires=("eventsourcing",))  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module
    sys.modules.pop(module.__name__, None)


def _boot(*extra: Candidate) -> FlextKernel:
    candidates = [Candidate("eventsourcing", "flext_eventsourcing.plugin", "builtin"), *extra]
    return FlextKernel.boot(candidates, strict=True).unwrap()


def test_removing_a_plugins_contributions_cleans_every_store_the_kernel_opened(
    orders_module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", "memory://")
    with _boot(Candidate(ORDERS, "orders_plugin", "builtin")) as kernel:
        default = kernel.container.resolve(FlextEventStore)
        named = kernel.container.resolve(EventStores).open_event_store("memory://").unwrap()
        for store in (default, named):
            store.codec.register(Shipped, owner=ORDERS)
            store.codec.register(Billed, owner="billing")
        unrelated = EventCodec()  # not opened through the kernel: left alone
        unrelated.register(Shipped, owner=ORDERS)

        kernel.remove_contributions(ORDERS)

        for store in (default, named):
            assert Shipped not in store.codec
            assert Billed in store.codec
            shipped, _ = _next_version()
            store.codec.register(shipped, owner=ORDERS)  # the next version registers again
        assert Shipped in unrelated


def test_a_class_of_the_unplugged_plugins_modules_goes_even_without_an_owner(
    orders_module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", "memory://")

    class Placed(FlextDomainEvent):
        message_type: ClassVar[str | None] = "orders.Placed"

    Placed.__module__ = "orders_plugin"
    with _boot(Candidate(ORDERS, "orders_plugin", "builtin")) as kernel:
        kernel.plugins.records[ORDERS].modules = ("orders_plugin",)  # a builtin candidate owns none
        store = kernel.container.resolve(FlextEventStore)
        store.codec.register(Placed)  # ownerless, as a projection runner registers
        store.codec.register(Shipped)
        kernel.remove_contributions(ORDERS)
        assert (Placed in store.codec, Shipped in store.codec) == (False, True)


def test_the_codecs_of_closed_and_dropped_stores_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", "memory://")
    with _boot() as kernel:
        stores = kernel.container.resolve(EventStores)
        opened = stores.open_event_store().unwrap()
        assert len(stores.codecs()) == 1  # type: ignore[attr-defined]  # the plugin's own EventStores
        opened.close()
        del opened
        assert len(stores.codecs()) == 0  # type: ignore[attr-defined]


class Raising(FlextPlugin):
    manifest = PluginManifest(name="raising")

    @hookimpl
    def flext_contributions_removed(self, kernel: FlextKernel, owner: str) -> None:
        raise RuntimeError(f"cannot forget {owner}")

    @hookimpl
    def flext_register_services(self, container: FlextContainer) -> None:
        container.register("raising-service", object(), owner="raising")


def test_a_listener_that_raises_fails_alone_and_its_contributions_go_too(
    orders_module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", "memory://")
    with _boot(
        Candidate(ORDERS, "orders_plugin", "builtin"), Candidate("raising", f"{__name__}:Raising", "builtin")
    ) as kernel:
        store = kernel.container.resolve(FlextEventStore)
        store.codec.register(Shipped, owner=ORDERS)
        kernel.remove_contributions(ORDERS)
        record = kernel.plugins.records["raising"]
        assert record.failed
        assert record.reason == "flext_contributions_removed raised RuntimeError: cannot forget orders-plugin"
        assert "raising-service" not in kernel.container
        assert Shipped not in store.codec  # the other listener was still heard
        assert kernel.plugins.records["eventsourcing"].state.value == "active"
