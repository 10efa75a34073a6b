"""The console and OTLP exporters, from a real ``flext`` subprocess.

OTLP goes to a real HTTP receiver in this process that decodes what it gets
with OpenTelemetry's own protobuf classes, as a collector would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from flext_sdk.testing import FlextCliRunner

pytestmark = pytest.mark.slow


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_otlp_sends_spans_and_metrics_to_the_collector(
    flext_cli: FlextCliRunner, receiver: _Receiver
) -> None:
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    env = {
        "FLEXT_TELEMETRY_EXPORTER": "otlp",
        "FLEXT_TELEMETRY_OTLP_ENDPOINT": endpoint,
        "FLEXT_TELEMETRY_SERVICE_NAME": "flext-otlp-test",
    }
    checked = flext_cli("--output", "json", "doctor", env=env)  # boots and starts every plugin
    assert checked.exit_code == 0, checked.stderr
    assert checked.json()["ok"] is True
    paths = [path for path, _ in receiver.received]
    assert "/v1/traces" in paths
    assert "/v1/metrics" in paths
    spans, services = [], set()
    for path, body in receiver.received:
        if path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                services |= {
                    a.value.string_value for a in resource.resource.attributes if a.key == "service.name"
                }
                spans += [span for scope in resource.scope_spans for span in scope.spans]
    assert services == {"flext-otlp-test"}
    startups = {
        a.value.string_value for span in spans if span.name == "flext.plugin.startup" for a in span.attributes
    }
    assert "observability" in startups
    metric_names = {
        metric.name
        for path, body in receiver.received
        if path == "/v1/metrics"
        for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert "flext.plugin.startup.duration" in metric_names


def test_console_writes_spans_to_stderr_and_leaves_stdout_to_the_command(flext_cli: FlextCliRunner) -> None:
    checked = flext_cli("--output", "json", "doctor", env={"FLEXT_TELEMETRY_EXPORTER": "console"})
    assert checked.exit_code == 0, checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    assert '"name": "flext.plugin.startup"' in checked.stderr


def test_a_bad_exporter_fails_only_the_plugin_and_doctor_names_the_variable(
    flext_cli: FlextCliRunner,
) -> None:
    checked = flext_cli("--output", "json", "doctor", env={"FLEXT_TELEMETRY_EXPORTER": "zipkin"})
    assert checked.exit_code == 1  # doctor reports a problem
    [problem] = [p for p in checked.json()["data"]["problems"] if p["plugin"] == "observability"]
    assert "FLEXT_TELEMETRY_EXPORTER" in problem["problem"]
    assert "VALIDATION_ERROR" in problem["problem"]
    assert [p["plugin"] for p in checked.json()["data"]["problems"]] == ["observability"]
    assert "Traceback" not in checked.stderr
