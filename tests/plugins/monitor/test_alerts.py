"""``flext monitor alerts``: rules in YAML, evaluated into events once per change, notifying for real."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from flext_plugin_monitor.rules import load_rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_kernel.errors import VALIDATION_ERROR
from flext_sdk.testing import FlextCliRunner

from .conftest import Received
from .history import RunSpec, record
from .test_metrics import NO_OBSERVABILITY

SECRET = "T0KEN-s3cr3t"

VALUE_PLUGIN = '''
"""GetMetricsText answering flext_queue_depth with the value in FLEXT_TEST_VALUE."""

import os

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import FlextResult, PluginManifest
from flext_sdk.contracts.observability import GetMetricsText, MetricsText

manifest = PluginManifest(name="valuetest")


@hookimpl
def flext_register_handlers(command_bus, query_bus, event_bus):
    def answer(query):
        value = os.environ.get("FLEXT_TEST_VALUE", "0")
        text = f"# TYPE flext_queue_depth gauge\\nflext_queue_depth{{queue=\\"a\\"}} {value}\\n"
        return FlextResult.ok(MetricsText(text=text))

    query_bus.register(GetMetricsText, answer, owner="valuetest")
'''


def _write(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def _events(flext_cli: FlextCliRunner) -> list[dict[str, Any]]:
    exported = flext_cli("events", "export")
    assert exported.exit_code == 0, exported
    return [
        json.loads(line)
        for line in exported.stdout.splitlines()
        if json.loads(line)["stream_id"] == "monitor-alerts"
    ]


def test_a_failed_run_fires_once_notifies_both_ways_and_resolves_once(
    flext_home: Path, flext_cli: FlextCliRunner, http_server: Received, tmp_path: Path
) -> None:
    out = tmp_path / "alerts.jsonl"
    rules = _write(
        tmp_path / "alerts.yaml",
        {
            "notifiers": {
                "hook": {"type": "webhook", "url": f"{http_server.base}/hooks/{SECRET}?token={SECRET}"},
                "shell": {"type": "command", "command": ["sh", "-c", f"cat >> {out}; echo >> {out}"]},
            },
            "rules": [
                {
                    "name": "numbers-failed",
                    "when": {"type": "run_failed", "pipeline": "numbers"},
                    "severity": "critical",
                    "notify": ["hook", "shell"],
                }
            ],
        },
    )
    env = {"FLEXT_ALERT_RULES": str(rules)}
    record(
        RunSpec("numbers", 3.0, ended_ago=300),
        RunSpec("numbers", 4.0, ended_ago=60, status="failed", error="boom"),
    )

    first = flext_cli("monitor", "alerts", "evaluate", env=env)
    assert first.exit_code == 0, first
    assert "fired: numbers-failed" in first.stdout
    again = flext_cli(
        "monitor", "alerts", "evaluate", env=env
    )  # still failing: no second event, no second POST
    assert "fired: none; resolved: none" in again.stdout

    assert len(http_server.posts) == 1
    path, alert = http_server.posts[0]
    assert path == f"/hooks/{SECRET}?token={SECRET}"
    assert (alert["status"], alert["rule"], alert["severity"]) == ("firing", "numbers-failed", "critical")
    assert "boom" in alert["summary"]
    delivered = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert [(item["status"], item["event_id"]) for item in delivered] == [("firing", alert["event_id"])]

    listed = flext_cli("monitor", "alerts", "list", env=env)
    assert "firing" in listed.stdout
    assert f"{http_server.base.split('//')[1]}/***" in listed.stdout
    assert SECRET not in listed.stdout + listed.stderr + first.stdout + first.stderr

    record(RunSpec("numbers", 3.0, ended_ago=1))
    resolved = flext_cli("monitor", "alerts", "evaluate", env=env)
    assert "resolved: numbers-failed" in resolved.stdout
    flext_cli("monitor", "alerts", "evaluate", env=env)
    events = _events(flext_cli)
    assert [event["event_type"] for event in events] == ["monitor.AlertFired", "monitor.AlertResolved"]
    assert [post[1]["status"] for post in http_server.posts] == ["firing", "resolved"]
    assert SECRET not in json.dumps(events)


def test_a_notifier_that_fails_is_exit_1_and_the_alert_stays_recorded(
    flext_home: Path, flext_cli: FlextCliRunner, http_server: Received, tmp_path: Path
) -> None:
    http_server.status = 500
    rules = _write(
        tmp_path / "alerts.yaml",
        {
            "notifiers": {
                "hook": {"type": "webhook", "url": f"{http_server.base}/{SECRET}"},
                "false": {
                    "type": "command",
                    "command": [sys.executable, "-c", "import sys; sys.exit('pager down')"],
                },
            },
            "rules": [
                {
                    "name": "stale",
                    "when": {"type": "no_success", "pipeline": "p", "within": "1h"},
                    "notify": ["hook", "false"],
                }
            ],
        },
    )
    env = {"FLEXT_ALERT_RULES": str(rules)}
    failed = flext_cli("monitor", "alerts", "evaluate", env=env)
    assert failed.exit_code == 1
    assert "fired: stale" in failed.stdout
    error = failed.stderr.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith("error: 2 notification(s) failed: stale -> hook: webhook http://127.0.0.1:")
    assert "/*** answered 500" in error[0]
    assert "stale -> false: command " in error[0]
    assert "exited 1: pager down" in error[0]
    assert error[0].endswith("(ALERT_NOTIFY_FAILED)")
    assert SECRET not in failed.stdout + failed.stderr
    quiet = flext_cli("monitor", "alerts", "evaluate", env=env)
    assert quiet.exit_code == 0  # recorded as firing: not fired (nor sent) again
    assert len(http_server.posts) == 1


def test_a_metric_rule_fires_after_its_duration_and_resolves(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    plugins = flext_home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "valuetest.py").write_text(VALUE_PLUGIN)
    rules = _write(
        tmp_path / "alerts.yaml",
        {
            "rules": [
                {
                    "name": "deep",
                    "when": {
                        "type": "metric",
                        "metric": "flext_queue_depth",
                        "labels": {"queue": "a"},
                        "above": 10,
                        "for": "1s",
                    },
                },
                {
                    "name": "later",
                    "when": {"type": "metric", "metric": "flext_queue_depth", "above": 10, "for": "1h"},
                },
            ]
        },
    )
    env = {**NO_OBSERVABILITY, "FLEXT_ALERT_RULES": str(rules), "FLEXT_TEST_VALUE": "50"}
    assert "fired: none" in flext_cli("monitor", "alerts", "evaluate", env=env).stdout  # pending
    time.sleep(1.1)  # the rule's own duration, not a timing assertion
    fired = flext_cli("--output", "json", "monitor", "alerts", "evaluate", env=env).json()["data"]
    assert (fired["fired"], fired["resolved"]) == (["deep"], [])
    low = flext_cli("--output", "json", "monitor", "alerts", "evaluate", env={**env, "FLEXT_TEST_VALUE": "2"})
    assert low.json()["data"]["resolved"] == ["deep"]
    events = _events(flext_cli)
    assert [(event["event_type"], event["data"]["value"]) for event in events] == [
        ("monitor.AlertFired", 50.0),
        ("monitor.AlertResolved", 2.0),
    ]


def test_add_list_remove_and_test(flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    out = tmp_path / "test-alert.json"
    rules = _write(
        tmp_path / "alerts.yaml",
        {"notifiers": {"shell": {"type": "command", "command": ["sh", "-c", f"cat > {out}"]}}},
    )
    env = {"FLEXT_ALERT_RULES": str(rules)}
    record(RunSpec("numbers", 2.0, ended_ago=30, status="failed", error="target exited 1"))
    added = flext_cli(
        "monitor",
        "alerts",
        "add",
        "numbers-failed",
        "--pipeline-failed",
        "numbers",
        "--severity",
        "critical",
        "--notify",
        "shell",
        env=env,
    )
    assert added.exit_code == 0, added
    flext_cli("monitor", "alerts", "add", "stale", "--no-success", "numbers", "--within", "2h", env=env)
    taken = flext_cli("monitor", "alerts", "add", "stale", "--no-success", "x", env=env)
    assert (taken.exit_code, taken.stderr.splitlines()[0]) == (
        1,
        f"error: a rule named 'stale' exists in {rules} (ALREADY_REGISTERED)",
    )
    both = flext_cli(
        "monitor", "alerts", "add", "x", "--no-success", "x", "--metric", "m", "--above", "1", env=env
    )
    assert both.exit_code == 2
    bad = flext_cli("monitor", "alerts", "add", "x", "--metric", "m", "--hold", "5x", "--above", "1", env=env)
    assert bad.exit_code == 2
    assert "'5x' is not a duration" in bad.stderr

    listed = flext_cli("--output", "json", "monitor", "alerts", "list", env=env).json()["data"]
    assert [(row["rule"], row["condition"], row["state"]) for row in listed] == [
        ("numbers-failed", "pipeline numbers failed", "ok"),
        ("stale", "no successful run of numbers for 2h", "ok"),
    ]
    tried = flext_cli("monitor", "alerts", "test", "numbers-failed", env=env)
    assert tried.exit_code == 0, tried
    assert tried.stdout.startswith("numbers-failed would fire: pipeline numbers failed")
    sent = json.loads(out.read_text())
    assert (sent["status"], sent["rule"]) == ("test", "numbers-failed")
    assert _events(flext_cli) == []  # a test records nothing

    assert flext_cli("monitor", "alerts", "remove", "stale", env=env).exit_code == 0
    assert flext_cli("monitor", "alerts", "remove", "stale", env=env).exit_code == 2
    assert [rule["name"] for rule in yaml.safe_load(rules.read_text())["rules"]] == ["numbers-failed"]


RULE = "rules:\n  - name: a\n"
BAD_FILES = [
    (
        RULE + "    when: {type: run_failed, pipeline: p}\n    sevrity: x\n",
        4,
        "rules.0.sevrity",
        "Extra inputs",
    ),
    (
        RULE + "    when:\n      type: no_success\n      pipeline: p\n      within: soon\n",
        6,
        "rules.0.when.within",
        "'soon' is not a duration",
    ),
    (
        RULE + "    when: {type: run_failed, pipeline: p}\n    notify: [nobody]\n",
        4,
        "rules.0.notify.0",
        "no notifier named 'nobody'",
    ),
    (
        "notifiers:\n  h:\n    type: webhook\n    url: ftp://x\n",
        4,
        "notifiers.h.url",
        "String should match pattern",
    ),
    ("notifiers:\n  h: {type: pager}\n", 2, "notifiers.h.type", "no notifier of type 'pager'"),
    (
        RULE + "    when: {type: metric, metric: m}\n",
        3,
        "rules.0.when",
        "exactly one of 'above' and 'below'",
    ),
    (
        RULE
        + "    when: {type: run_failed, pipeline: p}\n"
        + "  - name: a\n    when: {type: run_failed, pipeline: q}\n",
        4,
        "rules.1.name",
        "the rule name 'a' is used twice",
    ),
    ("rules: [\n", 2, "", "not valid YAML"),
]


def test_a_bad_rules_file_is_one_line_naming_file_line_and_key(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    rules = tmp_path / "alerts.yaml"
    for text, line, key, message in BAD_FILES:
        rules.write_text(text)
        for command in (("list",), ("evaluate",)):
            done = flext_cli("monitor", "alerts", *command, env={"FLEXT_ALERT_RULES": str(rules)})
            assert done.exit_code == 2, (text, done)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert lines[0].startswith(f"error: {rules}:{line}: {key}{': ' if key else ''}"), (lines[0], line)
            assert message in lines[0]
            assert lines[0].endswith(f"({VALIDATION_ERROR})")
    assert not (flext_home / "data" / "events.db").exists()  # nothing evaluated, nothing written


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_is_rules_or_one_validation_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    loaded = load_rules(path)
    if loaded.is_failure:
        assert loaded.error_code == VALIDATION_ERROR
        assert (loaded.error or "").startswith(str(path))
        assert "\n" not in (loaded.error or "")


def test_the_scheduler_evaluates_the_rules(flext_home: Path, flext_cli: FlextCliRunner) -> None:
    """The documented line: a schedule whose job is 'monitor alerts evaluate' fires the alert."""
    added = flext_cli("monitor", "alerts", "add", "stale", "--no-success", "numbers", "--within", "1h")
    assert added.exit_code == 0, added
    scheduled = flext_cli(
        "schedule", "add", "alerts", "--cron", "* * * * * *", "--command", "monitor alerts evaluate"
    )
    assert scheduled.exit_code == 0, scheduled
    time.sleep(1.5)  # let the every-second slot come due (not a timing assertion)
    fired = flext_cli("schedule", "run-due")
    assert fired.exit_code == 0, fired
    assert "completed" in fired.stdout
    assert [event["event_type"] for event in _events(flext_cli)] == ["monitor.AlertFired"]
