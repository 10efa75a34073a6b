"""The in-memory event store passes the event store contract, plus what is special about it."""

from __future__ import annotations

import pytest

from flext_eventsourcing.eventcodec import EventCodec
from flext_eventsourcing.eventstore import NO_STREAM, FlextEventStore
from flext_eventsourcing.memory_store import InMemoryData, InMemoryEventStore
from flext_kernel.errors import STORAGE_ERROR
from flext_sdk.testing.eventstore import EventStoreContract, Noted, StoreFactory, contract_codec


class TestInMemoryEventStore(EventStoreContract):
    supports_processes = False

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        data = InMemoryData()  # every store the test opens shares it, like processes share a file

        def open_store(codec: EventCodec) -> FlextEventStore:
            return InMemoryEventStore(codec, data=data)

        return open_store


def test_it_satisfies_the_protocol() -> None:
    assert isinstance(InMemoryEventStore(), FlextEventStore)


def test_stores_without_shared_data_are_independent() -> None:
    first, second = InMemoryEventStore(contract_codec()), InMemoryEventStore(contract_codec())
    assert first.append("s", [Noted(aggregate_id="s")], NO_STREAM).is_success
    assert second.read_all().unwrap() == []


def test_a_closed_store_fails_every_operation() -> None:
    store = InMemoryEventStore(contract_codec())
    store.close()
    store.close()  # closing twice is harmless
    for result in (
        store.append("s", [Noted(aggregate_id="s")], NO_STREAM),
        store.read_all(),
        store.read_stream("s"),
        store.load_snapshot("s"),
        store.delete_stream("s"),
    ):
        assert result.error_code == STORAGE_ERROR
        assert result.error == "the event store is closed"


def test_the_async_api_runs_inline_for_the_memory_store() -> None:
    assert InMemoryEventStore.blocking is False
