"""Where the PostgreSQL backend finds a store: the probe commands that only read open with.

A database that does not exist, or a schema without the store's tables, is
``NOT_FOUND`` and nothing is created; a server that cannot be reached is
``STORAGE_ERROR``. Writers still create the schema on first use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from flext_plugin_eventstore_postgres import PostgresEventStore
from flext_plugin_eventstore_postgres.plugin import probe_store

from flext_eventsourcing import NO_STREAM, EventStores
from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR
from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.discovery import discover
from flext_sdk.testing.projections import Deposited

pytestmark = pytest.mark.postgres


def _schema_exists(url: str, schema: str) -> bool:
    with psycopg.connect(url) as connection:
        found = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


@pytest.fixture(scope="module")
def stores() -> Iterator[EventStores]:
    only = ["eventsourcing", "eventstore-postgres"]
    with FlextKernel.boot(discover(()), only=only, strict=True).unwrap() as kernel:
        yield kernel.container.resolve(EventStores)


def test_a_schema_without_a_store_is_not_found_and_is_not_created(
    stores: EventStores, postgres_url: str, pg_schema: str
) -> None:
    location = f"{postgres_url}?schema={pg_schema}"
    missing = stores.open_event_store(location, create=False)
    assert missing.error_code == NOT_FOUND
    server = PostgresEventStore(url=postgres_url).server  # user@host:port/dbname; connects to nothing
    assert missing.error == f"no event store in schema {pg_schema!r} of {server}"
    assert "commands that record events create the schema" in str(missing.error_data["hint"])
    assert stores.open_projection_store(location, create=False).error_code == NOT_FOUND
    assert not _schema_exists(postgres_url, pg_schema)


def test_a_schema_a_writer_made_is_found(stores: EventStores, postgres_url: str, pg_schema: str) -> None:
    location = f"{postgres_url}?schema={pg_schema}"
    writer = stores.open_event_store(location).unwrap()  # create=True: the schema comes on first use
    try:
        writer.append("acc-1", [Deposited(aggregate_id="acc-1", amount=1)], NO_STREAM).unwrap()
    finally:
        writer.close()
    reader = stores.open_event_store(location, create=False).unwrap()
    try:
        assert [event.stream_id for event in reader.read_all().unwrap()] == ["acc-1"]
    finally:
        reader.close()
    assert stores.open_projection_store(location, create=False).is_success


def test_a_database_that_does_not_exist_is_not_found_with_how_to_create_it(postgres_url: str) -> None:
    name = f"flext_missing_{uuid.uuid4().hex[:8]}"
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    missing = probe_store(url)
    assert missing.error_code == NOT_FOUND
    assert missing.error == f"the database {name!r} does not exist ({PostgresEventStore(url=url).server})"
    assert missing.error_data["hint"] == f"create it (createdb {name}) or check the address"
    writer = PostgresEventStore(url=url)  # a writer cannot create a database either: the same failure
    try:
        assert writer.read_all().error_code == NOT_FOUND
    finally:
        writer.close()


def test_a_server_that_cannot_be_reached_is_a_storage_error() -> None:
    unreachable = probe_store("postgresql://app@127.0.0.1:1/events")  # nothing listens on port 1
    assert unreachable.error_code == STORAGE_ERROR
    assert "cannot reach the PostgreSQL event store at app@127.0.0.1:1/events" in str(unreachable.error)


def test_a_location_that_is_not_postgresql_is_refused(stores: EventStores) -> None:
    refused = stores.open_event_store("postgresql:", create=False)
    assert refused.error_code == VALIDATION_ERROR
