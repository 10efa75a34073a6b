"""Read models in the PostgreSQL schema: the projection store contract and the live view."""

from __future__ import annotations

import functools
from typing import Any

import psycopg
import pytest
from flext_plugin_eventstore_postgres import PostgresEventStore
from flext_plugin_eventstore_postgres.projections import PostgresProjectionStore
from psycopg import sql

from flext_eventsourcing import NO_STREAM, ProjectionRunner
from flext_sdk.testing.projections import Deposited, ProjectionStoreContract, ProjectionStoreFactory, Totals

pytestmark = pytest.mark.postgres


class TestPostgresProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    def projection_store_factory(self, postgres_url: str, pg_schema: str) -> ProjectionStoreFactory:
        return functools.partial(PostgresProjectionStore, postgres_url, schema=pg_schema)


def test_readers_query_the_live_view_with_plain_sql(postgres_url: str, pg_schema: str) -> None:
    with PostgresEventStore(url=postgres_url, schema=pg_schema) as events:
        events.append("acc-1", [Deposited(aggregate_id="acc-1", amount=7)], NO_STREAM).unwrap()
        with PostgresProjectionStore(postgres_url, schema=pg_schema) as store:
            ProjectionRunner(events, store, [Totals()]).catch_up().unwrap()
    with psycopg.connect(postgres_url) as connection:
        query = sql.SQL("SELECT key, document->>'total' FROM {} ORDER BY key").format(
            sql.Identifier(pg_schema, "flext_rm_contract-totals")
        )
        rows: list[tuple[Any, ...]] = connection.execute(query).fetchall()
    assert rows == [("_count", None), ("acc-1", "7")]


def test_the_url_schema_parameter_is_honoured(postgres_url: str, pg_schema: str) -> None:
    with PostgresProjectionStore(f"{postgres_url}?schema={pg_schema}") as store:
        assert store.schema == pg_schema
        store.create_generation("totals", 1)
    with PostgresProjectionStore(postgres_url, schema=pg_schema) as again:
        assert [c.name for c in again.checkpoints()] == ["totals"]


def test_a_remembered_table_is_never_another_generations(postgres_url: str, pg_schema: str) -> None:
    """Row ids start again when the schema is dropped and made anew: a handle must notice, not mix them up."""
    reader = PostgresProjectionStore(postgres_url, schema=pg_schema)
    reader.create_generation("first", 1)
    assert reader.commit("first", 1, 0, 1, {"k": {"of": "first"}})
    assert reader.get("first", 1, "k") == {"of": "first"}  # the table of ("first", 1) is remembered
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(pg_schema)))
    with PostgresProjectionStore(postgres_url, schema=pg_schema) as writer:
        writer.create_generation("second", 1)  # gets the row id, so the table, "first" had
        assert writer.commit("second", 1, 0, 1, {"k": {"of": "second"}})
        assert reader.get("first", 1, "k") is None
        assert reader.get_many("first", 1, ["k"]) == {}
        assert not reader.commit("first", 1, 1, 2, {"k": {"of": "first again"}})
        assert dict(writer.documents("second", 1)) == {"k": {"of": "second"}}
        writer.create_generation("first", 1)
        assert reader.commit("first", 1, 0, 3, {"k": {"of": "first, anew"}}), "looked up afresh"
        assert reader.get("first", 1, "k") == {"of": "first, anew"}
    reader.close()


def test_a_schema_made_before_the_generation_numbers_table_continues_its_numbers(
    postgres_url: str, pg_schema: str
) -> None:
    with PostgresProjectionStore(postgres_url, schema=pg_schema) as store:
        assert [store.create_generation("totals", 1).generation for _ in range(2)] == [1, 2]
    with psycopg.connect(postgres_url, autocommit=True) as connection:  # as an older plugin left the schema
        connection.execute(
            sql.SQL("DROP TABLE {}").format(sql.Identifier(pg_schema, "flext_projection_generations"))
        )
    with PostgresProjectionStore(postgres_url, schema=pg_schema) as store:
        assert store.create_generation("totals", 1).generation == 3
        store.drop("totals")
        assert store.create_generation("totals", 1).generation == 4
