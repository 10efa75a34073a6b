"""``flext monitor metrics [SERVICE]``: Prometheus text as a table (GetMetricsText or a /metrics)."""

from __future__ import annotations

import json
from pathlib import Path

from flext_sdk.testing import FlextCliRunner

from .conftest import Received

TEXT = (
    "# HELP flext_dispatches_total Dispatches.\n# TYPE flext_dispatches_total counter\n"
    'flext_dispatches_total{bus="command",outcome="ok"} 12\n'
    'flext_dispatches_total{bus="query",outcome="ok"} 3\n'
    "# HELP flext_up Whether up.\n# TYPE flext_up gauge\nflext_up 1\n"
)

METRICS_PLUGIN = f'''
"""A local plugin answering GetMetricsText, as the observability plugin does."""

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import FlextResult, PluginManifest
from flext_sdk.contracts.observability import GetMetricsText, MetricsText

manifest = PluginManifest(name="metricstest")


@hookimpl
def flext_register_handlers(command_bus, query_bus, event_bus):
    answer = FlextResult.ok(MetricsText(text={TEXT!r}))
    query_bus.register(GetMetricsText, lambda query: answer, owner="metricstest")
'''

SERVICE_PLUGIN = '''
"""A local plugin contributing one service checked over HTTP (its URL from the environment)."""

import os

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import PluginManifest

manifest = PluginManifest(name="svcmetrics", requires=("service",))


@hookimpl
def flext_services():
    url = os.environ["FLEXT_TEST_HTTP"]
    return [{"name": "exporter", "kind": "dependency", "required": False,
             "check": {"type": "http", "url": url + "/health"}},
            {"name": "db", "kind": "dependency", "check": {"type": "tcp", "host": "127.0.0.1", "port": 9}}]
'''

NO_OBSERVABILITY = {"FLEXT_DISABLE_PLUGINS": "observability"}


def _plugin(home: Path, name: str, body: str) -> None:
    plugins = home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / f"{name}.py").write_text(body)


def test_the_provider_s_text_as_rows(flext_home: Path, flext_cli: FlextCliRunner) -> None:
    _plugin(flext_home, "metricstest", METRICS_PLUGIN)
    done = flext_cli("--output", "json", "monitor", "metrics", env=NO_OBSERVABILITY)
    assert done.exit_code == 0, done
    rows = done.json()["data"]
    assert rows[0] == {
        "metric": "flext_dispatches",
        "type": "counter",
        "sample": "flext_dispatches_total",
        "labels": 'bus="command",outcome="ok"',
        "value": 12.0,
    }
    assert [(row["sample"], row["value"]) for row in rows[1:]] == [
        ("flext_dispatches_total", 3.0),
        ("flext_up", 1.0),
    ]
    table = flext_cli("monitor", "metrics", env=NO_OBSERVABILITY)
    assert "flext_up" in table.stdout
    assert 'bus="query"' in table.stdout


def test_no_provider_is_one_clear_line(flext_home: Path, flext_cli: FlextCliRunner) -> None:
    done = flext_cli("monitor", "metrics", env=NO_OBSERVABILITY)
    assert done.exit_code == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(
        "error: flext monitor metrics reads GetMetricsText, but plugin 'observability' is"
    )
    assert lines[0].endswith("(PLUGIN_DISABLED)")
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in done.stderr


def test_a_service_s_metrics_are_scraped_over_http(
    flext_home: Path, flext_cli: FlextCliRunner, http_server: Received
) -> None:
    http_server.metrics = TEXT
    _plugin(flext_home, "svcmetrics", SERVICE_PLUGIN)
    env = {"FLEXT_TEST_HTTP": http_server.base}
    done = flext_cli("--output", "json", "monitor", "metrics", "exporter", env=env)
    assert done.exit_code == 0, done
    assert [row["value"] for row in done.json()["data"]] == [12.0, 3.0, 1.0]

    not_http = flext_cli("monitor", "metrics", "db", env=env)
    assert not_http.exit_code == 2
    assert "is not checked over HTTP (127.0.0.1:9)" in not_http.stderr
    unknown = flext_cli("monitor", "metrics", "nope", env=env)
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: no service named 'nope' (NOT_FOUND)")

    http_server.metrics = "this is { not prometheus\n"
    garbled = flext_cli("monitor", "metrics", "exporter", env=env)
    assert garbled.exit_code == 2
    assert garbled.stderr.startswith("error: the metrics text is not Prometheus text")
    assert json.dumps(garbled.stderr).count("\\n") == 1  # one line
