"""An OTLP collector that is not there: the command still ends, with its own exit code and one warning line.

The port is one this test bound and closed, so nothing listens on it and every
connection is refused (the exporter's "transient error" it would retry for its
whole default timeout, about 17 s a command before the fix, printing each try).
The subprocess is bounded by the runner's timeout, so a hang fails the test.
"""

from __future__ import annotations

import socket

import pytest

from flext_sdk.testing import FlextCliRunner

pytestmark = pytest.mark.slow


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed: nothing listens there now


def _otlp_env(port: int) -> dict[str, str]:
    return {
        "FLEXT_TELEMETRY_EXPORTER": "otlp",
        "FLEXT_TELEMETRY_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "FLEXT_TELEMETRY_OTLP_TIMEOUT": "0.5",
    }


def test_an_unreachable_collector_leaves_the_exit_code_and_prints_one_warning(
    flext_cli: FlextCliRunner,
) -> None:
    quiet = flext_cli("--output", "json", "schedule", "list")  # boots the kernel, so telemetry is on
    assert quiet.exit_code == 0, quiet.stderr
    done = flext_cli("--output", "json", "schedule", "list", env=_otlp_env(_closed_port()))
    assert done.exit_code == quiet.exit_code, done.stderr
    assert done.json() == quiet.json()  # stdout is the command's alone
    extra = [line for line in done.stderr.splitlines() if line not in quiet.stderr.splitlines()]
    assert len(extra) == 1, done.stderr  # the export failed: said once, not once per try
    assert extra[0].startswith("warning: telemetry: could not export to the OTLP collector"), extra
    assert "Transient error" not in done.stderr
    assert "Traceback" not in done.stderr


def test_doctor_keeps_its_exit_code_and_output_with_an_unreachable_collector(
    flext_cli: FlextCliRunner,
) -> None:
    quiet = flext_cli("--output", "json", "doctor")  # starts every plugin: many spans and metrics
    done = flext_cli("--output", "json", "doctor", env=_otlp_env(_closed_port()))
    assert done.exit_code == quiet.exit_code, done.stderr
    assert done.json()["ok"] == quiet.json()["ok"]
    assert "Transient error" not in done.stderr
    extra = set(done.stderr.splitlines()) - set(quiet.stderr.splitlines())
    assert len([line for line in extra if line.strip()]) <= 1, done.stderr
