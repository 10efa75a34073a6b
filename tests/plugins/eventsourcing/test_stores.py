"""One location string picks the event store backend; each backend plugin declares the locations it takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flext_eventsourcing import (
    NO_STREAM,
    EventCodec,
    EventStoreFactory,
    EventStores,
    FlextEventStore,
    InMemoryEventStore,
    InMemoryProjectionStore,
    LocationSyntax,
    ProjectionStoreFactory,
)
from flext_eventsourcing.stores import EVENTSTORE_URL_VARIABLE, MISSING_STORE_HINT, parse_location
from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR
from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.base import FlextPlugin
from flext_kernel.plugins.discovery import Candidate, discover
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.plugins.manifest import PluginManifest
from flext_kernel.result import FlextResult
from flext_sdk.testing.projections import Deposited

BACKENDS = ["eventsourcing", "eventstore-sqlite", "eventstore-postgres"]


@pytest.fixture(scope="module")
def stores() -> Iterator[EventStores]:
    """The opener of a kernel with the first-party backends, as users get it."""
    with FlextKernel.boot(discover(()), only=BACKENDS, strict=True).unwrap() as kernel:
        yield kernel.container.resolve(EventStores)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (None, ("sqlite", None)),
        ("", ("sqlite", None)),
        ("events.db", ("sqlite", "events.db")),
        ("/var/lib/flext/events.db", ("sqlite", "/var/lib/flext/events.db")),
        ("sqlite:///tmp/e.db", ("sqlite", "sqlite:///tmp/e.db")),
        ("postgresql://app@db/events", ("postgres", "postgresql://app@db/events")),
        ("postgres://app@db/events?schema=x", ("postgres", "postgres://app@db/events?schema=x")),
        ("host=db dbname=events", ("postgres", "host=db dbname=events")),
        ("memory://", ("memory", None)),
        ("kafka://broker/topic", ("kafka", "kafka://broker/topic")),
        ("C:\\flext\\events.db", ("sqlite", "C:\\flext\\events.db")),
    ],
)
def test_locations_name_their_backend(
    stores: EventStores,
    location: str | None,
    expected: tuple[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EVENTSTORE_URL_VARIABLE, raising=False)
    assert stores.parse(location).unwrap() == expected


def test_the_environment_variable_is_the_default_location(
    stores: EventStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EVENTSTORE_URL_VARIABLE, "postgresql://app@db/events")
    assert stores.parse(None).unwrap() == ("postgres", "postgresql://app@db/events")
    assert stores.parse("other.db").unwrap() == ("sqlite", "other.db"), "an explicit location wins"


@given(st.text(max_size=60))
def test_any_text_names_a_backend_it_spells_out(text: str) -> None:
    syntaxes = [
        LocationSyntax(backend="files", paths=True, default=True),
        LocationSyntax(backend="db", schemes=("db",), pattern=r"\s*host\s*="),
    ]
    backend, address = parse_location(text or "x", syntaxes).unwrap()
    if backend not in ("files", "db"):
        assert text.strip().startswith(f"{backend}:"), "an undeclared backend is only chosen by its name"
        assert address == text.strip()


def test_no_backend_for_plain_paths_or_the_default_is_a_clear_failure() -> None:
    only_urls = [LocationSyntax(backend="db", schemes=("db",))]
    assert parse_location("events.db", only_urls).error_code == NOT_FOUND
    missing = parse_location(None, only_urls)
    assert missing.error_code == NOT_FOUND
    assert "no active plugin provides a default store" in str(missing.error)


def test_a_kernel_without_the_backend_plugin_says_so_and_names_none() -> None:
    with FlextKernel.boot(discover(()), only=["eventsourcing"], strict=True).unwrap() as kernel:
        stores = kernel.container.resolve(EventStores)
        missing = stores.open_event_store("postgresql://app@db/events")
        assert missing.error_code == NOT_FOUND
        assert "'postgresql' event store backend (available: memory)" in str(missing.error)
        assert stores.open_projection_store("sqlite:///x.db").error_code == NOT_FOUND
        assert stores.open_event_store(None).error_code == NOT_FOUND, "no backend declares the default"


def test_memory_stores_come_with_event_sourcing() -> None:
    with FlextKernel.boot(discover(()), only=["eventsourcing"], strict=True).unwrap() as kernel:
        stores = kernel.container.resolve(EventStores)
        assert isinstance(stores.open_event_store("memory://").unwrap(), InMemoryEventStore)
        assert stores.open_projection_store("memory://").unwrap().checkpoints() == []


def test_a_location_the_backend_refuses_is_a_validation_error(stores: EventStores) -> None:
    refused = stores.open_event_store("sqlite::memory:")
    assert refused.error_code == VALIDATION_ERROR
    assert "in-memory" in str(refused.error)


def test_plugins_resolve_the_event_store_from_the_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EVENTSTORE_URL_VARIABLE, str(tmp_path / "shared.db"))
    with FlextKernel.boot(discover(()), only=BACKENDS, strict=True).unwrap() as kernel:
        store = kernel.container.resolve(FlextEventStore)
        assert kernel.container.resolve(FlextEventStore) is store
        store.append("acc-1", [Deposited(aggregate_id="acc-1", amount=1)], NO_STREAM).unwrap()
    assert (tmp_path / "shared.db").exists()
    assert store.closed, "the kernel closes the store it opened"  # type: ignore[attr-defined]


def test_without_event_sourcing_there_is_no_event_store() -> None:
    with FlextKernel.boot(discover(()), only=["eventstore-sqlite"]).unwrap() as kernel:
        assert kernel.container.get(FlextEventStore).error_code == NOT_FOUND
        assert "requires plugin 'eventsourcing'" in str(kernel.plugins.records["eventstore-sqlite"].reason)


def test_commands_without_event_sourcing_name_the_plugin_and_how_to_enable_it() -> None:
    from flext_eventsourcing import stores_of
    from flext_kernel.errors import PLUGIN_DISABLED

    with FlextKernel.boot(discover(()), disabled=["eventsourcing"]).unwrap() as kernel:
        missing = stores_of(kernel)
    assert missing.error_code == PLUGIN_DISABLED
    assert "plugin 'eventsourcing' is disabled" in str(missing.error)
    assert missing.error_data["hint"] == "enable it with 'flext plugin enable eventsourcing'"


class Shelf(FlextPlugin):
    """A backend whose stores are names on a shelf: a store is there once a writer opened it."""

    manifest = PluginManifest(name="shelf", requires=("eventsourcing",))
    made: ClassVar[set[str]] = set()
    probed: ClassVar[list[str | None]] = []

    @staticmethod
    def _open(codec: EventCodec | None = None, *, location: str | None = None) -> FlextEventStore:
        Shelf.made.add(str(location))
        return InMemoryEventStore(codec)

    @staticmethod
    def _probe(address: str | None) -> FlextResult[None]:
        Shelf.probed.append(address)
        if address == "shelf://broken":
            raise ValueError("the shelf is broken")
        if address == "shelf://faraway":
            return FlextResult.fail("cannot see the shelf", STORAGE_ERROR)
        if address == "shelf://told":
            return FlextResult.fail("no such box", NOT_FOUND, {"hint": "put a box there"})
        if str(address) in Shelf.made:
            return FlextResult.ok(None)
        return FlextResult.fail(f"nothing on the shelf at {address}", NOT_FOUND, {"address": address})

    @hookimpl
    def flext_event_store_backends(self) -> dict[str, EventStoreFactory]:
        return {"shelf": self._open}

    @hookimpl
    def flext_projection_store_backends(self) -> dict[str, ProjectionStoreFactory]:
        return {"shelf": lambda *, location=None: InMemoryProjectionStore()}

    @hookimpl
    def flext_event_store_locations(self) -> list[LocationSyntax]:
        return [LocationSyntax(backend="shelf", probe=self._probe)]


@pytest.fixture
def shelf() -> Iterator[EventStores]:
    """The opener of a kernel with event sourcing and the ``shelf`` backend."""
    Shelf.made.clear()
    Shelf.probed.clear()
    candidates = [
        Candidate("eventsourcing", "flext_eventsourcing.plugin", "builtin"),
        Candidate("shelf", f"{__name__}:Shelf", "builtin"),
    ]
    with FlextKernel.boot(candidates, strict=True).unwrap() as kernel:
        yield kernel.container.resolve(EventStores)


def test_create_false_refuses_a_store_the_backend_does_not_find_and_creates_nothing(
    shelf: EventStores,
) -> None:
    missing = shelf.open_event_store("shelf://a", create=False)
    assert missing.error_code == NOT_FOUND
    assert missing.error == "nothing on the shelf at shelf://a"
    assert missing.error_data == {"address": "shelf://a", "hint": MISSING_STORE_HINT}
    assert shelf.open_projection_store("shelf://a", create=False).error_code == NOT_FOUND
    assert Shelf.made == set(), "the factory was never called"
    assert shelf.open_event_store("shelf://a").is_success, "create=True (the default) opens it"
    assert shelf.open_event_store("shelf://a", create=False).is_success
    assert shelf.open_projection_store("shelf://a", create=False).is_success
    assert Shelf.probed == ["shelf://a", "shelf://a", "shelf://a", "shelf://a"], "only create=False probes"


def test_a_probe_that_cannot_tell_or_has_its_own_hint_is_passed_on(shelf: EventStores) -> None:
    faraway = shelf.open_event_store("shelf://faraway", create=False)
    assert (faraway.error_code, faraway.error) == (STORAGE_ERROR, "cannot see the shelf")
    told = shelf.open_event_store("shelf://told", create=False)
    assert told.error_data["hint"] == "put a box there"
    broken = shelf.open_event_store("shelf://broken", create=False)
    assert broken.error_code == VALIDATION_ERROR
    assert "the shelf is broken" in str(broken.error)


def test_a_backend_without_a_probe_opens_whatever_create_says() -> None:
    with FlextKernel.boot(discover(()), only=["eventsourcing"], strict=True).unwrap() as kernel:
        stores = kernel.container.resolve(EventStores)
        assert isinstance(stores.open_event_store("memory://", create=False).unwrap(), InMemoryEventStore)
