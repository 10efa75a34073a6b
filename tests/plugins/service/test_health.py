"""``flext service health``/``list`` against real servers: PostgreSQL, NATS, Redis, the event store."""

from __future__ import annotations

import json
import selectors
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Services, free_port, wait_for

pytestmark = pytest.mark.slow

PASSWORD = "s3cret-Pa55word"
"""A password in the configured URLs, which must appear in no output."""


def _rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["service"]: row for row in document["data"]["services"]}


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.postgres
@pytest.mark.nats
def test_the_real_servers_are_up_and_no_password_is_shown(services: Services) -> None:
    services.set(
        FLEXT_EVENTSTORE_URL=f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/postgres",
        FLEXT_NATS_URL="nats://127.0.0.1:4222",
        FLEXT_REDIS_URL="redis://127.0.0.1:6379",
    )
    done = services("--output", "json", "service", "health")
    assert done.exit_code == 0, done
    rows = _rows(done.json())
    assert rows["event-store"]["status"] == "up"
    assert rows["event-store"]["detail"].startswith("postgres")
    assert rows["postgres"]["status"] == "up"
    assert rows["postgres"]["detail"].startswith("PostgreSQL ")
    assert rows["postgres"]["target"] == "postgresql://postgres:***@127.0.0.1:5432/postgres"
    assert rows["nats"]["detail"].startswith("nats-server ")
    assert rows["redis"] == {**rows["redis"], "status": "up", "detail": "PONG"}
    assert rows["serve"]["status"] == "down"  # not running, and not required
    assert rows["serve"]["required"] is False
    assert all(isinstance(row["latency_ms"], float) for row in rows.values())
    table = services("service", "health")
    listed = services("service", "list")
    for output in (done, table, listed):
        assert PASSWORD not in output.stdout + output.stderr
    assert "postgresql://postgres:***@127.0.0.1:5432/postgres" in listed.stdout


def test_a_required_service_down_fails_and_an_optional_one_does_not(services: Services) -> None:
    port = free_port()
    down = {
        "name": "target-db",
        "kind": "dependency",
        "check": {"type": "tcp", "host": "127.0.0.1", "port": port},
    }
    services.set({**down, "required": False})
    optional = services("service", "health")
    assert optional.exit_code == 0, optional
    assert "connection refused" in optional.stdout
    services.set(down)
    required = services("service", "health")
    assert required.exit_code == 1, required
    assert required.stderr.strip() == "error: required service(s) down: target-db (SERVICE_UNHEALTHY)"
    rows = _rows(services.json("service", "health"))
    assert rows["target-db"]["status"] == "down"
    only = services("--output", "json", "service", "health", "event-store")
    assert only.exit_code == 0
    assert list(_rows(only.json())) == ["event-store"]


def test_a_hung_server_is_down_after_its_timeout(services: Services, silent_server: int) -> None:
    services.set(
        {
            "name": "hung",
            "kind": "dependency",
            "check": {"type": "nats", "url": f"nats://127.0.0.1:{silent_server}"},
        },
        {
            "name": "hung2",
            "kind": "dependency",
            "check": {"type": "redis", "url": f"redis://127.0.0.1:{silent_server}"},
        },
    )
    done = services("--output", "json", "service", "health", "--timeout", "0.5")
    assert done.exit_code == 1
    rows = _rows(done.json())
    for name in ("hung", "hung2"):
        assert rows[name]["status"] == "down"
        assert rows[name]["detail"] == "no answer in 0.5s"
        assert rows[name]["latency_ms"] is None
    assert rows["event-store"]["status"] == "up"  # the others answered all the same


def test_the_checks_run_at_the_same_time(services: Services) -> None:
    """Three hung servers' checks are open at once: a round lasts one timeout, not three."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    most = 0
    stop = threading.Event()

    def serve() -> None:  # counts connections open at once; a closed one is dropped before new ones count
        nonlocal most
        open_ = 0
        while not stop.is_set():
            events = selector.select(0.1)
            for key, _ in sorted(events, key=lambda event: event[0].fileobj is listener):
                if key.fileobj is listener:
                    connection, _ = listener.accept()
                    selector.register(connection, selectors.EVENT_READ)
                    open_ += 1
                    most = max(most, open_)
                else:
                    connection = key.fileobj  # type: ignore[assignment]
                    if not connection.recv(1024):
                        selector.unregister(connection)
                        connection.close()
                        open_ -= 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    services.set(
        *(
            {
                "name": f"hung{n}",
                "kind": "dependency",
                "check": {"type": "nats", "url": f"nats://127.0.0.1:{port}"},
            }
            for n in range(3)
        )
    )
    try:
        done = services("--output", "json", "service", "health", "hung0", "hung1", "hung2", "--timeout", "2")
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert done.exit_code == 1
    assert most == 3


def test_since_is_the_last_change_of_state(services: Services) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    services.set(
        {"name": "db", "kind": "dependency", "check": {"type": "tcp", "host": "127.0.0.1", "port": port}}
    )
    try:
        first = _rows(services.json("service", "health"))["db"]
        assert first["status"] == "up"
        again = _rows(services.json("service", "health"))["db"]
        assert again["since"] == first["since"]
    finally:
        listener.close()
    # Down from now: since moves (to a later or the same second), and status remembers it.
    down = _rows(services.json("service", "health"))["db"]
    assert down["status"] == "down"
    assert down["since"] >= first["since"]
    recorded = json.loads((services.flext_cli.home / "data" / "services" / "health.json").read_text())
    assert recorded["db"]["status"] == "down"
    assert recorded["db"]["since"] == down["since"]
    status = {row["service"]: row for row in services.json("service", "status")["data"]}
    assert status["db"]["last_status"] == "down"
    assert status["db"]["since"] == down["since"]


def test_redis_with_a_password(services: Services, tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            PASSWORD,
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _accepts(port), what="redis-server")
        services.set(FLEXT_REDIS_URL=f"redis://:{PASSWORD}@127.0.0.1:{port}")
        done = services("--output", "json", "service", "health", "redis")
        assert _rows(done.json())["redis"]["detail"] == "PONG"
        assert PASSWORD not in done.stdout
        services.set(FLEXT_REDIS_URL=f"redis://127.0.0.1:{port}")
        refused = _rows(services.json("service", "health", "redis"))["redis"]
        assert refused["status"] == "down"
        assert refused["detail"].startswith("authentication required")
        services.set(FLEXT_REDIS_URL=f"redis://:wrong@127.0.0.1:{port}")
        assert (
            _rows(services.json("service", "health", "redis"))["redis"]["detail"] == "authentication refused"
        )
    finally:
        server.terminate()
        server.wait()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_the_event_store_is_down_without_event_sourcing(services: Services) -> None:
    services.set(FLEXT_DISABLE_PLUGINS="eventsourcing")
    done = services("--output", "json", "service", "health")
    assert done.exit_code == 1
    row = _rows(done.json())["event-store"]
    assert row["status"] == "down"
    assert "plugin 'eventsourcing' is" in row["detail"]


def test_watch_prints_a_round_per_interval_until_ctrl_c(services: Services) -> None:
    services.set()
    watcher = subprocess.Popen(
        [
            *services.flext_cli.command,
            "--output",
            "json",
            "service",
            "health",
            "--watch",
            "--interval",
            "0.2",
        ],
        env=services.flext_cli.environment(services.environment()),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(120, watcher.kill)
    watchdog.start()
    try:
        assert watcher.stdout is not None
        rounds = [json.loads(watcher.stdout.readline()) for _ in range(2)]
        assert [round_["data"]["healthy"] for round_ in rounds] == [True, True]
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=60) == 130
    finally:
        watchdog.cancel()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        assert watcher.stdout is not None
        watcher.stdout.close()


def test_list_names_every_service_and_its_owner(services: Services) -> None:
    services.set({"name": "worker", "kind": "local-process", "argv": ["sleep", "1"], "required": False})
    listed = {row["service"]: row for row in services.json("service", "list")["data"]}
    assert listed["worker"]["owner"] == "svctest"
    assert listed["worker"]["check"] == "process"
    assert listed["event-store"]["owner"] == "service"
    services.set({"name": "Bad Name", "kind": "dependency"})
    warned = services("service", "list")
    assert warned.exit_code == 0
    assert "warning: plugin svctest: invalid service description (name:" in warned.stderr
