"""Read models in the SQLite file: the projection store contract, views, and exactly-once under SIGKILL."""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from flext_plugin_eventstore_sqlite import APPLICATION_ID, SQLiteEventStore
from flext_plugin_eventstore_sqlite.projections import SQLiteProjectionStore

from flext_eventsourcing import (
    NO_STREAM,
    NOT_A_FLEXT_STORE,
    EventStores,
    ProjectionRunner,
    ProjectionStoreError,
)
from flext_kernel.errors import STORAGE_ERROR
from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.discovery import discover
from flext_sdk.testing.projections import Deposited, ProjectionStoreContract, ProjectionStoreFactory, Totals


class TestSQLiteProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    def projection_store_factory(self, tmp_path: Path) -> ProjectionStoreFactory:
        return functools.partial(SQLiteProjectionStore, tmp_path / "events.db")


def test_readers_query_the_live_view_with_plain_sql(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with SQLiteEventStore(path=path) as events:
        events.append("acc-1", [Deposited(aggregate_id="acc-1", amount=7)], NO_STREAM).unwrap()
        store = SQLiteProjectionStore(path)
        ProjectionRunner(events, store, [Totals()]).catch_up().unwrap()
        store.close()
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT key, json_extract(document, '$.total') FROM \"flext_rm_contract-totals\" ORDER BY key"
        ).fetchall()
    assert rows == [("_count", None), ("acc-1", 7)]


def test_a_closed_store_fails_with_storage_error(tmp_path: Path) -> None:
    store = SQLiteProjectionStore(tmp_path / "events.db")
    store.close()
    with pytest.raises(ProjectionStoreError) as raised:
        store.checkpoints()
    assert raised.value.error_code == STORAGE_ERROR


def test_the_plugin_provides_projection_stores_next_to_its_event_stores(tmp_path: Path) -> None:
    location = str(tmp_path / "kernel.db")
    only = ["eventsourcing", "eventstore-sqlite"]
    with FlextKernel.boot(discover(()), only=only, strict=True).unwrap() as kernel:
        stores = kernel.container.resolve(EventStores)
        events = stores.open_event_store(location).unwrap()
        projections = stores.open_projection_store(location).unwrap()
        events.append("acc-1", [Deposited(aggregate_id="acc-1", amount=3)], NO_STREAM).unwrap()
        ProjectionRunner(events, projections, [Totals()]).catch_up().unwrap()
        assert dict(projections.documents("contract-totals"))["acc-1"] == {"total": 3, "events": 1}
        events.close()
        projections.close()


_SLOW_RUNNER = textwrap.dedent(
    """
    import sys, time
    from flext_plugin_eventstore_sqlite import APPLICATION_ID, SQLiteEventStore
    from flext_plugin_eventstore_sqlite.projections import SQLiteProjectionStore
    from flext_eventsourcing import ProjectionRunner
    from flext_sdk.testing.projections import Totals

    class Slow(Totals):
        def handle(self, event, model):
            time.sleep(0.005)
            super().handle(event, model)

    path = sys.argv[1]
    events, store = SQLiteEventStore(path=path), SQLiteProjectionStore(path)
    runner = ProjectionRunner(events, store, [Slow()], batch_size=7)
    print("started", flush=True)
    print(runner.catch_up().unwrap(), flush=True)
    """
)


def test_a_runner_killed_mid_run_takes_every_event_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    accounts = 60
    with SQLiteEventStore(path=path) as events:
        for i in range(accounts):
            amounts = [1] * 5
            events.append(
                f"acc-{i}", [Deposited(aggregate_id=f"acc-{i}", amount=a) for a in amounts], NO_STREAM
            )
    script = tmp_path / "runner.py"
    script.write_text(_SLOW_RUNNER)
    total = accounts * 5
    interrupted_at: list[int] = []
    for _ in range(30):  # kill it again and again until one run gets to the end by itself
        process = subprocess.Popen(
            [sys.executable, str(script), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        started = process.stdout.readline().strip()
        if started == "started":
            time.sleep(0.3)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        out, err = process.communicate(timeout=30)
        if process.returncode == 0:
            break
        assert process.returncode == -signal.SIGKILL, f"the runner failed by itself: {started}{out}{err}"
        with SQLiteProjectionStore(path) as store:
            checkpoints = store.checkpoints("contract-totals")
            if checkpoints:
                interrupted_at.append(checkpoints[-1].position)
    else:
        pytest.fail("the runner never finished")
    assert any(0 < position < total for position in interrupted_at), (
        f"no kill landed mid-run (checkpoints after kills: {interrupted_at}): the test proved nothing"
    )
    with SQLiteProjectionStore(path) as store:
        view = dict(store.documents("contract-totals"))
    assert view["_count"] == {"n": total}, "an event was lost or taken twice"
    assert all(view[f"acc-{i}"] == {"total": 5, "events": 5} for i in range(accounts))


def test_a_file_made_before_the_generation_numbers_table_continues_its_numbers(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with SQLiteProjectionStore(path) as store:
        assert [store.create_generation("totals", 1).generation for _ in range(2)] == [1, 2]
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE flext_projection_generations")  # as an older plugin left the file
    with SQLiteProjectionStore(path) as store:
        assert [c.generation for c in store.checkpoints("totals")] == [1, 2]
    with sqlite3.connect(path) as connection:  # opening and reading wrote nothing: a read-only file opens
        query = "SELECT 1 FROM sqlite_master WHERE name = 'flext_projection_generations'"
        assert connection.execute(query).fetchall() == []
    with SQLiteProjectionStore(path) as store:
        assert store.create_generation("totals", 1).generation == 3
        store.drop("totals")
        assert store.create_generation("totals", 1).generation == 4


def test_a_foreign_database_is_refused_before_the_projection_store_touches_it(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE accounts (id)")
    raw.close()
    before = path.read_bytes()
    store = SQLiteProjectionStore(path)
    with pytest.raises(ProjectionStoreError, match="is not a FLEXT event store") as refused:
        store.checkpoints()
    assert refused.value.error_code == NOT_A_FLEXT_STORE
    assert path.read_bytes() == before
    store.close()


def test_the_projection_store_marks_a_file_it_creates(tmp_path: Path) -> None:
    store = SQLiteProjectionStore(tmp_path / "read.db")
    assert store.checkpoints() == []
    store.close()
    with sqlite3.connect(tmp_path / "read.db") as raw:
        assert raw.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    raw.close()
    with SQLiteEventStore(path=tmp_path / "read.db") as events:  # the events may follow in the same file
        assert events.read_all().unwrap() == []
