"""Webhook URLs that parse but cannot be sent, answers that are not HTTP, and a notifier that raises.

Each is refused or reported as one line with no secret in it, and one bad
notifier does not keep a rule's other notifiers from being told.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flext_sdk.testing import FlextCliRunner

SECRET = "T0KEN-s3cr3t"

RAISING_PLUGIN = '''
"""A notifier kind whose notify raises (a bug in another plugin), naming a secret in the exception."""

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import FlextResult, PluginManifest

manifest = PluginManifest(name="raisingnotifier", requires=("monitor",))


class Raising:
    kind = "raising"

    def validate(self, settings):
        return FlextResult.ok(None)

    def describe(self, settings):
        return "raising"

    def notify(self, alert, settings):
        raise RuntimeError("boom T0KEN-s3cr3t")


@hookimpl
def flext_alert_notifiers():
    return [Raising()]
'''


def _rules(path: Path, notifiers: dict[str, Any], notify: list[str]) -> dict[str, str]:
    body = {
        "notifiers": notifiers,
        "rules": [
            {
                "name": "stale",
                "when": {"type": "no_success", "pipeline": "p", "within": "1h"},
                "notify": notify,
            }
        ],
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return {"FLEXT_ALERT_RULES": str(path)}


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:44x3/{SECRET}",
        f"http://127.0.0.1:99999/{SECRET}",
        f"http://127.0.0.1/hooks/{SECRET} now",
        f"http://127.0.0.1/hooks/{SECRET}\tx",
        f"http://127.0.0.1/hooks/{SECRET}\x7f",
        f"http:///{SECRET}",
        f"http://[::1/{SECRET}",
    ],
)
def test_a_webhook_url_that_cannot_be_sent_is_refused_when_read(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path, url: str
) -> None:
    env = _rules(tmp_path / "alerts.yaml", {"hook": {"type": "webhook", "url": url}}, ["hook"])
    for command in (("monitor", "alerts", "evaluate"), ("monitor", "alerts", "list")):
        refused = flext_cli(*command, env=env)
        assert refused.exit_code == 2, refused
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert "notifiers.hook.url" in lines[0]
        assert lines[0].endswith("(VALIDATION_ERROR)")
        assert SECRET not in refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr


@pytest.fixture
def not_http() -> Iterator[str]:
    """A server on a loopback port that answers every connection with a line that is not HTTP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"HELLO THERE\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()


def test_an_answer_that_is_not_http_is_a_notify_failure_with_no_secret(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path, not_http: str
) -> None:
    out = tmp_path / "delivered.jsonl"
    notifiers = {
        "hook": {"type": "webhook", "url": f"{not_http}/hooks/{SECRET}", "timeout": 30},
        "shell": {"type": "command", "command": ["sh", "-c", f"cat >> {out}; echo >> {out}"]},
    }
    env = _rules(tmp_path / "alerts.yaml", notifiers, ["hook", "shell"])
    failed = flext_cli("monitor", "alerts", "evaluate", env=env)
    assert failed.exit_code == 1, failed
    assert "fired: stale" in failed.stdout
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith(f"error: 1 notification(s) failed: stale -> hook: webhook {not_http}/***")
    assert lines[0].endswith("(ALERT_NOTIFY_FAILED)")
    assert SECRET not in failed.stdout + failed.stderr
    delivered = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert [item["rule"] for item in delivered] == ["stale"]  # the other notifier was told


def test_a_notifier_that_raises_does_not_stop_the_others(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    plugins = flext_home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "raisingnotifier.py").write_text(RAISING_PLUGIN)
    out = tmp_path / "delivered.jsonl"
    notifiers = {
        "bad": {"type": "raising"},
        "shell": {
            "type": "command",
            "command": [sys.executable, "-c", f"open({str(out)!r}, 'a').write('x\\n')"],
        },
    }
    env = _rules(tmp_path / "alerts.yaml", notifiers, ["bad", "shell"])
    failed = flext_cli("monitor", "alerts", "evaluate", env=env)
    assert failed.exit_code == 1, failed
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: 1 notification(s) failed: stale -> bad: ")
    assert lines[0].endswith("(ALERT_NOTIFY_FAILED)")
    assert SECRET not in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr
    assert out.read_text() == "x\n"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_command_that_times_out_leaves_no_child_behind(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    child = tmp_path / "child.pid"
    script = f"sleep 600 & echo $! > {child}; wait"  # the notifier's own child outlives a killed shell
    notifiers = {"slow": {"type": "command", "command": ["sh", "-c", script], "timeout": 2}}
    env = _rules(tmp_path / "alerts.yaml", notifiers, ["slow"])
    failed = flext_cli("monitor", "alerts", "evaluate", env=env)
    try:
        assert failed.exit_code == 1, failed
        assert "did not end in 2s (ALERT_NOTIFY_FAILED)" in failed.stderr
        assert not _alive(int(child.read_text()))
    finally:
        import os
        import signal

        if child.exists() and _alive(int(child.read_text())):
            os.kill(int(child.read_text()), signal.SIGKILL)
