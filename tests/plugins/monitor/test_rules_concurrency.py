"""Rules-file edits and evaluations that run at the same time, as real ``flext`` processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from flext_sdk.testing import FlextCliRunner


def _run_together(
    flext_cli: FlextCliRunner, commands: list[list[str]], env: dict[str, str]
) -> list[tuple[int, str]]:
    clis = [
        subprocess.Popen(
            [*flext_cli.command, *command],
            env=flext_cli.environment(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    return [(cli.wait(timeout=120), cli.communicate()[1]) for cli in clis]


def test_concurrent_adds_keep_every_rule(flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yaml"
    env = {"FLEXT_ALERT_RULES": str(rules)}
    for round_ in range(2):
        names = [f"r{round_}-{index}" for index in range(4)]
        done = _run_together(
            flext_cli, [["monitor", "alerts", "add", name, "--pipeline-failed", "p"] for name in names], env
        )
        assert [code for code, _ in done] == [0, 0, 0, 0], done
        kept = [rule["name"] for rule in yaml.safe_load(rules.read_text())["rules"]]
        assert all(name in kept for name in names), kept
    assert not list(tmp_path.glob(".alerts-*"))  # no temporary file left behind


def test_concurrent_removes_remove_every_rule(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    rules = tmp_path / "alerts.yaml"
    body = {
        "rules": [
            {"name": f"r{index}", "when": {"type": "run_failed", "pipeline": "p"}} for index in range(6)
        ]
    }
    rules.write_text(yaml.safe_dump(body))
    env = {"FLEXT_ALERT_RULES": str(rules)}
    done = _run_together(flext_cli, [["monitor", "alerts", "remove", f"r{index}"] for index in range(4)], env)
    assert [code for code, _ in done] == [0, 0, 0, 0], done
    assert [rule["name"] for rule in yaml.safe_load(rules.read_text())["rules"]] == ["r4", "r5"]


def test_concurrent_evaluations_all_succeed(
    flext_home: Path, flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    rules = tmp_path / "alerts.yaml"
    body = {
        "rules": [
            {"name": f"stale{index}", "when": {"type": "no_success", "pipeline": f"p{index}", "within": "1h"}}
            for index in range(3)
        ]
    }
    rules.write_text(yaml.safe_dump(body))
    env = {"FLEXT_ALERT_RULES": str(rules)}
    for _round in range(2):
        done = _run_together(flext_cli, [["monitor", "alerts", "evaluate"] for _ in range(4)], env)
        for code, err in done:  # a lost race on the event stream is a one-line failure, never a traceback
            assert "FileNotFoundError" not in err, err
            assert "INTERNAL_ERROR" not in err, err
            assert code in (0, 1), err
    assert not list((flext_home / "data" / "monitor").glob("*.tmp"))
