"""Live subscriptions and ``flext events tail`` live through a PostgreSQL restart, each event once.

Issue 22, item 8: ``flext events tail`` died when PostgreSQL restarted
(``STORAGE_ERROR ... (INTERNAL_ERROR)``, exit 1, and stayed dead after the
server was back), and the API's subscription iterator raised the same. These
tests restart a private server (``private_postgres``: never the machine's)
under a live subscription and a live ``flext events tail``: stop fast, stay
down longer than a connection attempt takes, start; events written before
and after must each arrive once, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol

import psycopg
import pytest
from flext_plugin_eventstore_postgres import PostgresEventStore
from psycopg import sql

from flext_eventsourcing import ANY, FlextEventStoreError
from flext_kernel.result import FlextResult
from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing._cli import flext_command
from flext_sdk.testing.eventstore import WAIT, Noted, contract_codec

pytestmark = pytest.mark.postgres

DOWN_FOR = 3.0
"""Seconds the server stays down under a store with ``connect_timeout=1``: several reads fail meanwhile."""
DOWN_FOR_DEFAULTS = 12.0
"""Seconds it stays down under a store with the default ``connect_timeout`` (10 s): a read fails meanwhile."""
AFTER_RESTART = 60.0
"""Seconds to wait for the events written after the restart (back-off included)."""


class PrivatePostgres(Protocol):
    """What the tests use of ``conftest.PrivatePostgres``."""

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self, mode: str = "fast") -> None: ...

    def restart(self, down_for: float = 0.0) -> None: ...


def wait_for(condition: Callable[[], bool], timeout: float = WAIT, what: str = "the condition") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _drop(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def location(private_postgres: PrivatePostgres) -> Iterator[str]:
    """A store location on the private server, in a schema of this test's own (dropped afterwards)."""
    schema = f"flext_restart_{uuid.uuid4().hex[:10]}"
    yield f"{private_postgres.url}?schema={schema}"
    _drop(private_postgres.url, schema)


def _append(store: PostgresEventStore, count: int, start: int) -> list[str]:
    """Append ``count`` events to stream ``s`` one by one; their ids, in order."""
    ids = []
    for n in range(start, start + count):
        event = Noted(aggregate_id="s", n=n)
        store.append("s", [event], ANY).unwrap()
        ids.append(str(event.event_id))
    return ids


@pytest.mark.slow
def test_a_live_subscription_resumes_after_a_restart_exactly_once(
    private_postgres: PrivatePostgres, location: str
) -> None:
    # connect_timeout=1: a read while the server is down fails after a second, not ten.
    writer = PostgresEventStore(contract_codec(), url=location, connect_timeout=1)
    reader = PostgresEventStore(contract_codec(), url=location, connect_timeout=1)
    outages: list[FlextResult[Any] | None] = []
    received: list[str] = []
    failures: list[BaseException] = []
    try:
        written = _append(writer, 5, 0)
        subscription = reader.subscribe(0, on_outage=outages.append)

        def follow() -> None:
            try:
                received.extend(str(recorded.event_id) for recorded in subscription)
            except BaseException as exc:  # the test reports it
                failures.append(exc)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        wait_for(lambda: len(received) == 5, what="the events written before the restart")
        private_postgres.restart(down_for=DOWN_FOR)
        written += _append(writer, 5, 5)
        wait_for(lambda: len(received) == 10 or bool(failures), AFTER_RESTART, "the events written after it")
        subscription.stop()
        thread.join(WAIT)
    finally:
        reader.close()
        writer.close()
    assert failures == []
    assert received == written, "every event once, in order"
    assert subscription.retries >= 1, "a read failed while the server was down, and was retried"
    assert outages[0] is not None
    assert outages[0].error_data["reason"] == "connection_failed"
    assert outages[-1] is None, "the end of the outage was reported"


@pytest.mark.slow
def test_an_async_subscription_resumes_after_a_restart_exactly_once(
    private_postgres: PrivatePostgres, location: str
) -> None:
    writer = PostgresEventStore(contract_codec(), url=location, connect_timeout=1)
    reader = PostgresEventStore(contract_codec(), url=location, connect_timeout=1)

    async def follow(subscription: Any, received: list[str], total: int) -> None:
        async for recorded in subscription:
            received.append(str(recorded.event_id))
            if len(received) == total:
                return

    async def scenario() -> tuple[list[str], list[str], int]:
        written = _append(writer, 3, 0)
        received: list[str] = []
        subscription = reader.subscribe_async(0)
        task = asyncio.create_task(follow(subscription, received, 6))
        while len(received) < 3:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(private_postgres.restart, DOWN_FOR)
        written += await asyncio.to_thread(_append, writer, 3, 3)
        await asyncio.wait_for(task, AFTER_RESTART)
        return written, received, subscription.retries

    try:
        written, received, retries = asyncio.run(scenario())
    finally:
        reader.close()
        writer.close()
    assert received == written
    assert retries >= 1


@pytest.mark.slow
def test_reads_work_at_once_when_the_server_is_back_though_the_pool_is_still_backing_off(
    private_postgres: PrivatePostgres, location: str
) -> None:
    """After an outage psycopg_pool retries in the background with back-off (1, 2, 4, 8 s ...).

    The store must not wait for it: the server answers, so an operation gets
    a connection at once, and "all N connections were in use" (``TIMEOUT``)
    is never said of a pool that had none in use.
    """
    store = PostgresEventStore(contract_codec(), url=location, connect_timeout=1)
    try:
        _append(store, 1, 0)
        private_postgres.stop()
        deadline = time.monotonic() + 8  # the pool's attempts fail at 0, 1, 3 and 7 s: the next is at 15 s
        while time.monotonic() < deadline:
            down = store.read_all()
            assert down.error_code == "STORAGE_ERROR", down
            assert down.error_data["reason"] == "connection_failed"
        private_postgres.start()
        started = time.monotonic()
        for _ in range(3):
            back = store.read_all()
            assert back.is_success, back
        assert time.monotonic() - started < 5
        _append(store, 1, 1)
        assert len(store.read_all().unwrap()) == 2
    finally:
        store.close()


def test_a_connect_timeout_in_the_location_is_the_stores() -> None:
    assert PostgresEventStore(url="postgresql://u@127.0.0.1:1/db?connect_timeout=3").connect_timeout == 3
    assert PostgresEventStore(url="host=127.0.0.1 dbname=db connect_timeout=2").connect_timeout == 2
    assert PostgresEventStore(url="postgresql://u@127.0.0.1:1/db").connect_timeout == 10
    assert (
        PostgresEventStore(url="postgresql://u@h/db?connect_timeout=3", connect_timeout=5).connect_timeout
        == 5
    )
    with pytest.raises(ValueError, match="connect_timeout must be a number of seconds, not 'soon'"):
        PostgresEventStore(url="postgresql://u@127.0.0.1:1/db?connect_timeout=soon")


def _read_lines(stream: IO[str], into: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.extend(iter(stream.readline, "")), daemon=True)
    thread.start()
    return thread


def _close(process: subprocess.Popen[str], readers: list[threading.Thread]) -> None:
    for thread in readers:
        thread.join(WAIT)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _tail(flext_cli: FlextCliRunner, location: str, *options: str) -> subprocess.Popen[str]:
    """Start a real ``flext events tail`` on ``location``; JSON lines on stdout."""
    env = {**os.environ, "FLEXT_HOME": str(flext_cli.home), "NO_COLOR": "1"}
    return subprocess.Popen(
        [*flext_command(), *options, "events", "tail", "--store", location, "--from-start"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_flext_events_tail_follows_across_a_restart_and_prints_every_event_once(
    flext_cli: FlextCliRunner, private_postgres: PrivatePostgres, location: str
) -> None:
    writer = PostgresEventStore(contract_codec(), url=location)
    try:
        written = _append(writer, 3, 0)
        tail = _tail(flext_cli, location, "--output", "json")
        out: list[str] = []
        err: list[str] = []
        readers = [_read_lines(tail.stdout, out), _read_lines(tail.stderr, err)]  # type: ignore[arg-type]
        try:
            wait_for(lambda: len(out) == 3 or tail.poll() is not None, what="the events before the restart")
            private_postgres.restart(down_for=DOWN_FOR_DEFAULTS)
            written += _append(writer, 3, 3)
            wait_for(lambda: len(out) == 6 or tail.poll() is not None, AFTER_RESTART, "the events after it")
            assert tail.poll() is None, f"tail ended with {tail.returncode}: {''.join(err)}"
            tail.send_signal(signal.SIGINT)
            assert tail.wait(WAIT) == 130
        finally:
            if tail.poll() is None:
                tail.kill()
            _close(tail, readers)
    finally:
        writer.close()
    assert [json.loads(line)["event_id"] for line in out] == written, "every event once, in order"
    assert "Traceback" not in "".join(err)


def test_flext_events_tail_on_a_schema_dropped_under_it_fails_with_one_code(
    flext_cli: FlextCliRunner, postgres_url: str, pg_schema: str
) -> None:
    location = f"{postgres_url}?schema={pg_schema}"
    writer = PostgresEventStore(contract_codec(), url=location)
    try:
        _append(writer, 1, 0)
    finally:
        writer.close()
    tail = _tail(flext_cli, location)
    out: list[str] = []
    err: list[str] = []
    readers = [_read_lines(tail.stdout, out), _read_lines(tail.stderr, err)]  # type: ignore[arg-type]
    try:
        wait_for(lambda: len(out) == 1, what="the first event")
        _drop(postgres_url, pg_schema)
        assert tail.wait(WAIT) == 1
    finally:
        if tail.poll() is None:
            tail.kill()
        _close(tail, readers)
    (error,) = [line for line in err if line.startswith("error:")]
    position = out[0].split()[0]  # the first column of tail's line: the event's position
    assert error.startswith(f"error: subscription could not read after position {position}: "), error
    assert error.rstrip().endswith("does not exist (STORAGE_ERROR)"), error
    assert "INTERNAL_ERROR" not in "".join(err)
    assert "Traceback" not in "".join(err)


def test_a_subscription_given_no_time_to_reconnect_raises_the_failure() -> None:
    """``reconnect_for=0``: the first failed read ends the subscription with its code, as before."""
    store = PostgresEventStore(
        contract_codec(), url="postgresql://flext@127.0.0.1:1/events", connect_timeout=1
    )
    try:
        with pytest.raises(FlextEventStoreError, match="cannot reach") as raised:
            store.subscribe(0, reconnect_for=0).next_event(WAIT)
        assert raised.value.error_code == "STORAGE_ERROR"
    finally:
        store.close()
