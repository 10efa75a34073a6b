"""``flext serve`` as a real process on a free port, asked over real HTTP."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from flext_sdk.testing import FlextCliRunner

from .conftest import Services, free_port, wait_for

pytestmark = pytest.mark.slow

NO_OBSERVABILITY = {"FLEXT_DISABLE_PLUGINS": "observability"}
"""The observability plugin answers GetMetricsText when installed; these tests say who answers."""

METRICS_PLUGIN = '''
"""A local plugin answering the SDK's GetMetricsText, as the observability plugin does."""

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import FlextResult, PluginManifest
from flext_sdk.contracts.observability import GetMetricsText, MetricsText

manifest = PluginManifest(name="metricstest")


@hookimpl
def flext_register_handlers(command_bus, query_bus, event_bus):
    text = "# HELP flext_test_total A counter.\\n# TYPE flext_test_total counter\\nflext_test_total 3\\n"
    answer = FlextResult.ok(MetricsText(text=text))
    query_bus.register(GetMetricsText, lambda query: answer, owner="metricstest")
'''


def get(url: str) -> tuple[int, str, str]:
    """``(status, content type, body)`` of ``GET url``."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["content-type"], error.read().decode()


def get_json(url: str) -> tuple[int, Any]:
    status, _, body = get(url)
    return status, json.loads(body)


@pytest.fixture
def serve(services: Services) -> Callable[..., Any]:
    """``with serve(*options) as base:`` runs ``flext serve`` on a free port until the block ends."""

    @contextmanager
    def run(*options: str, env: dict[str, str] | None = None) -> Iterator[str]:
        port = free_port()
        process = subprocess.Popen(
            [*services.flext_cli.command, *options, "serve", "--port", str(port)],
            env=services.flext_cli.environment({**services.environment(), **(env or {})}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: process.poll() is not None or _answers(base), what="flext serve")
            assert process.poll() is None, process.communicate()[1]
            yield base
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, stderr
            assert "Traceback" not in stderr
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()

    return run


def _answers(base: str) -> bool:
    try:
        return get(f"{base}/health")[0] == 200
    except OSError:
        return False


def test_health_ready_and_no_metrics_without_a_provider(
    serve: Callable[..., Any], services: Services
) -> None:
    services.set()
    with serve(env=NO_OBSERVABILITY) as base:
        assert get_json(f"{base}/health") == (200, {"status": "ok"})
        status, ready = get_json(f"{base}/ready")
        assert status == 200
        assert ready["ready"] is True
        shown = [row["service"] for row in ready["services"]]
        assert "event-store" in shown
        assert "serve" not in shown  # not itself (other plugins, the scheduler, add their own services)
        status, content_type, body = get(f"{base}/metrics")
        assert status == 503
        assert content_type.startswith("text/plain")
        assert body.startswith("no metrics: /metrics, but plugin 'observability' is ")
        assert get(f"{base}/nope")[0] == 404


def test_ready_is_503_while_a_required_service_is_down(serve: Callable[..., Any], services: Services) -> None:
    port = free_port()
    services.set(
        {
            "name": "target-db",
            "kind": "dependency",
            "check": {"type": "tcp", "host": "127.0.0.1", "port": port},
        }
    )
    with serve(env=NO_OBSERVABILITY) as base:
        status, ready = get_json(f"{base}/ready")
        assert status == 503
        assert ready["down"] == ["target-db"]
        with socket.create_server(("127.0.0.1", port)):
            status, ready = get_json(f"{base}/ready")
        assert status == 200
        assert ready["ready"] is True


def test_metrics_are_scraped_from_the_provider(
    serve: Callable[..., Any], services: Services, tmp_path: Path
) -> None:
    services.set()
    plugins = tmp_path / "more-plugins"
    plugins.mkdir()
    (plugins / "metricstest.py").write_text(METRICS_PLUGIN)
    with serve("--plugins-dir", str(plugins), env=NO_OBSERVABILITY) as base:
        status, content_type, body = get(f"{base}/metrics")
    assert status == 200, body
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert "\nflext_test_total 3\n" in body


def test_a_port_in_use_is_one_line(services: Services) -> None:
    services.set()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = services("serve", "--port", str(port))
    assert done.exit_code == 1
    assert done.stderr.splitlines()[0] == (
        f"error: cannot listen on 127.0.0.1:{port}: address already in use (SERVICE_START_FAILED)"
    )


def test_flext_service_starts_checks_and_stops_serve(services: Services) -> None:
    port = free_port()
    services.set(FLEXT_SERVE_PORT=str(port), **NO_OBSERVABILITY)
    started = services.json("service", "start", "serve")
    assert started["data"]["started"] is True
    try:
        rows = {row["service"]: row for row in services.json("service", "health")["data"]["services"]}
        assert rows["serve"]["status"] == "up"
        assert rows["serve"]["detail"] == "HTTP 200"
        assert get_json(f"http://127.0.0.1:{port}/health")[0] == 200
    finally:
        stopped = services.json("service", "stop", "serve")
    assert stopped["data"]["stopped"] is True
    assert stopped["data"]["forced"] is False  # uvicorn ends on SIGTERM
    rows = {row["service"]: row for row in services.json("service", "health")["data"]["services"]}
    assert rows["serve"]["status"] == "down"


def _pipeline_conftest() -> Any:
    path = Path(__file__).parents[1] / "pipeline" / "conftest.py"
    spec = importlib.util.spec_from_file_location("pipeline_test_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pipelines(flext_cli: FlextCliRunner, tmp_path: Path) -> Callable[..., Path]:
    """``pipelines(name, **target)``: tap-numbers -> target-file registered (connectors installed once)."""
    package = _pipeline_conftest()._package(Path(os.environ["FLEXT_TOOLS_DIR"]).parent / "test-sources")
    for kind, connector in (("taps", "tap-numbers"), ("targets", "target-file")):
        added = flext_cli("data", kind, "add", connector, "--pip-url", str(package))
        assert added.exit_code == 0, added

    def make(name: str, **target: Any) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        body = {
            "name": name,
            "extract": {"name": "tap-numbers", "config": {"records": 3}},
            "load": {"name": "target-file", "config": {"path": "rows.json", **target}},
        }
        (folder / "pipeline.yaml").write_text(yaml.safe_dump(body))
        created = flext_cli("pipeline", "create", str(folder / "pipeline.yaml"))
        assert created.exit_code == 0, created
        return folder

    return make


def _walk(base: str, path: str, limit: int) -> list[list[Any]]:
    """Every page of ``path``, following ``next``."""
    pages: list[list[Any]] = []
    after: Any = None
    while True:
        query = f"limit={limit}" + (f"&after={after}" if after is not None else "")
        status, body = get_json(f"{base}{path}?{query}")
        assert status == 200, body
        pages.append(body["items"])
        after = body["next"]
        if after is None:
            return pages


def test_the_read_api_pages_pipelines_runs_and_events(
    serve: Callable[..., Any], services: Services, pipelines: Callable[..., Path], flext_cli: FlextCliRunner
) -> None:
    services.set()
    for name in ("alpha", "beta", "gamma"):
        pipelines(name, **({"fail_at": 2} if name == "beta" else {}))
    assert flext_cli("pipeline", "run", "alpha").exit_code == 0
    assert flext_cli("pipeline", "run", "beta").exit_code == 1
    exported = flext_cli("events", "export")
    assert exported.exit_code == 0, exported
    stored = [json.loads(line) for line in exported.stdout.splitlines()]
    with serve(env=NO_OBSERVABILITY) as base:
        pages = _walk(base, "/api/v1/pipelines", 2)
        assert [[item["name"] for item in page] for page in pages] == [["alpha", "beta"], ["gamma"]]
        named = {item["name"]: item for page in pages for item in page}
        assert named["alpha"]["tap"] == "tap-numbers"
        assert named["alpha"]["last_run_status"] == "completed"
        assert named["beta"]["last_run_status"] == "failed"
        assert named["gamma"]["last_run_id"] is None

        runs = [run for page in _walk(base, "/api/v1/runs", 1) for run in page]
        assert [(run["pipeline"], run["status"]) for run in runs] == [
            ("alpha", "completed"),
            ("beta", "failed"),
        ]
        assert runs[0]["records"]
        assert runs[1]["error"]
        status, only = get_json(f"{base}/api/v1/runs?pipeline=beta")
        assert [run["pipeline"] for run in only["items"]] == ["beta"]

        events = [event for page in _walk(base, "/api/v1/events", 3) for event in page]
        # Every exported event, in order; later ones are only the audit plugin's record of commands run since.
        assert [event["position"] for event in events[: len(stored)]] == [
            event["position"] for event in stored
        ]
        assert {event["stream_id"] for event in events[len(stored) :]} <= {"audit"}
        assert [event["position"] for event in events] == sorted(event["position"] for event in events)
        assert events[0]["event_type"] == "pipeline.Registered"
        assert events[0]["data"]["pipeline"] == "alpha"

        pipelines("delta")  # written while serving: the next request sees it
        names = [item["name"] for page in _walk(base, "/api/v1/pipelines", 10) for item in page]
        assert names == ["alpha", "beta", "delta", "gamma"]

        for bad in ("limit=0", "limit=1001", "limit=x"):
            status, body = get_json(f"{base}/api/v1/runs?{bad}")
            assert status == 400
            assert body["code"] == "VALIDATION_ERROR"
        status, body = get_json(f"{base}/api/v1/events?after=abc")
        assert (status, body["code"]) == (400, "VALIDATION_ERROR")


def test_the_read_api_before_anything_was_recorded(serve: Callable[..., Any], services: Services) -> None:
    services.set()
    with serve(env=NO_OBSERVABILITY) as base:
        for path in ("/api/v1/pipelines", "/api/v1/runs", "/api/v1/events"):
            assert get_json(f"{base}{path}") == (200, {"items": [], "next": None})


def test_ctrl_c_ends_serve_with_130(services: Services) -> None:
    services.set()
    port = free_port()
    process = subprocess.Popen(
        [*services.flext_cli.command, "serve", "--port", str(port)],
        env=services.flext_cli.environment({**services.environment(), **NO_OBSERVABILITY}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: process.poll() is not None or _answers(f"http://127.0.0.1:{port}"), what="flext serve"
        )
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


DSN_PASSWORD = "hunter2-dsn"


def test_a_key_value_dsn_password_is_hidden_in_health_list_and_ready(
    serve: Callable[..., Any], services: Services
) -> None:
    unquoted = (
        f"host=127.0.0.1 user=postgres password=first {DSN_PASSWORD} dbname=postgres"  # libpq refuses it
    )
    services.set(
        {
            "name": "kv-db",
            "kind": "dependency",
            "required": False,
            "check": {
                "type": "postgres",
                "url": f"host=127.0.0.1 port=5432 user=postgres password={DSN_PASSWORD}",
            },
        },
        {
            "name": "kv-bad",
            "kind": "dependency",
            "required": False,
            "check": {"type": "postgres", "url": unquoted},
        },
        FLEXT_POSTGRES_URL=(
            f"host=127.0.0.1 port=5432 user=postgres password='{DSN_PASSWORD} x' dbname=postgres"
        ),
    )
    health = services("--output", "json", "service", "health")
    assert health.exit_code in (0, 1), health
    rows = {row["service"]: row for row in health.json()["data"]["services"]}
    assert rows["postgres"]["target"] == "host=127.0.0.1 port=5432 user=postgres password=*** dbname=postgres"
    assert rows["kv-db"]["target"] == "host=127.0.0.1 port=5432 user=postgres password=***"
    assert rows["kv-bad"]["target"] == "host=127.0.0.1 user=postgres password=*** dbname=postgres"
    assert rows["kv-bad"]["status"] == "down"
    outputs = [health, services("service", "health"), services("service", "list")]
    outputs.append(services("--output", "json", "service", "list"))
    for output in outputs:
        assert DSN_PASSWORD not in output.stdout + output.stderr
    with serve() as base:
        _, body = get_json(f"{base}/ready")
    assert DSN_PASSWORD not in json.dumps(body)
    assert "password=***" in json.dumps(body)


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "1%C2%B2", "-1", "0", "x", ""])
def test_a_limit_that_is_not_a_plain_number_is_400(
    serve: Callable[..., Any], services: Services, limit: str
) -> None:
    services.set()
    with serve() as base:
        for path in ("events", "runs", "pipelines"):
            status, body = get_json(f"{base}/api/v1/{path}?limit={limit}")
            assert status == 400, body
            assert body["code"] == "VALIDATION_ERROR"
            assert body["error"].startswith("limit must be a whole number")
        status, body = get_json(f"{base}/api/v1/events?after=%C2%B2")
        assert status == 400, body
        assert body["code"] == "VALIDATION_ERROR"


def test_starting_serve_on_a_port_another_server_answers_fails(services: Services) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Healthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    other = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)  # answers /health as serve would
    Thread(target=other.serve_forever, daemon=True).start()
    try:
        port = other.server_address[1]
        services.set(FLEXT_SERVE_PORT=str(port), **NO_OBSERVABILITY)
        started = services("service", "start", "serve", "--wait", "60")
        assert started.exit_code == 1, started
        first = started.stderr.splitlines()[0]
        assert first.startswith("error: serve ended at once; its last line: "), first
        assert first.endswith("(SERVICE_START_FAILED)")
        assert "started serve" not in started.stdout
        status = {row["service"]: row for row in services.json("service", "status")["data"]}
        assert status["serve"]["process"] == "stopped"
    finally:
        other.shutdown()
        other.server_close()
