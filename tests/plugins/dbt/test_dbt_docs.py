"""The dbt pages tell the truth: their quick starts run as written, the JSON has the documented keys.

Everything goes through real ``flext`` processes, with dbt from the environment
the other dbt tests share (the ``dbt_sqlite`` fixture builds it once per machine).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("dbt_sqlite")]

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "plugins" / "dbt.md"
README = ROOT / "plugins" / "dbt" / "README.md"
NOISE = ("[AdapterEventDebug]", "Unable to parse logging event dictionary")


def _first_bash_block(page: Path, after: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(after) if after else 0
    block = re.search(r"```bash\n(.*?)```", text[start:], re.DOTALL)
    assert block is not None, f"{page} has no bash block after {after!r}"
    return block.group(1)


def _shell(flext_cli: FlextCliRunner, script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with bash as a user would, with this environment's ``flext`` first on PATH."""
    env = flext_cli.environment()
    env.pop("DIRECTORY_WAREHOUSE", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.parametrize(
    ("page", "after"),
    [(GUIDE, "## Quick start"), (README, "")],
    ids=["docs/plugins/dbt.md", "plugins/dbt/README.md"],
)
def test_the_quick_start_runs_as_written(
    flext_cli: FlextCliRunner, tmp_path: Path, page: Path, after: str
) -> None:
    # A fresh checkout's examples/, without what earlier runs wrote into it.
    shutil.copytree(
        ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("output", "target", "logs")
    )
    done = _shell(flext_cli, _first_bash_block(page, after), tmp_path)

    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "dbt build: directory" in done.stdout
    assert "tests: 19 passed" in done.stdout
    assert "dbt show: directory" in done.stdout
    assert "group_cn" in done.stdout  # the preview's columns
    assert "dbt.InvocationCompleted" in done.stdout  # flext events show dbt-directory
    assert "error:" not in done.stderr
    for noise in NOISE:
        assert noise not in done.stdout + done.stderr


def test_a_missing_warehouse_directory_fails_in_one_line_and_debug_noise_needs_debug(
    flext_cli: FlextCliRunner, project: Path, tmp_path: Path
) -> None:
    # What the old quick start did: DIRECTORY_WAREHOUSE in a directory that does not exist.
    env = {"DIRECTORY_WAREHOUSE": str(tmp_path / "warehouse" / "directory.db")}

    plain = flext_cli("data", "dbt", "build", str(project), env=env)

    assert plain.exit_code == 1, plain
    errors = [line for line in plain.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert errors == [
        "error: Runtime Error: Runtime Error; Database Error; unable to open database file (DBT_ERROR)",
        "hint: dbt-sqlite cannot open a file profiles.yml names: check that its directory exists "
        "(a path read with env_var must be absolute)",
    ]
    assert "Running with dbt=" in plain.stderr  # dbt's own log still shows
    for noise in NOISE:
        assert noise not in plain.stderr

    debug = flext_cli("--debug", "data", "dbt", "build", str(project), env=env)
    assert debug.exit_code == 1, debug
    assert all(noise in debug.stderr for noise in NOISE)


def _documented_report() -> dict[str, object]:
    section = GUIDE.read_text(encoding="utf-8").split("### `--output json`", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    document: dict[str, object] = json.loads(block.group(1))
    return document


def _keys(report: Mapping[str, object]) -> tuple[set[str], set[str]]:
    nodes = report["nodes"]
    assert isinstance(nodes, list)
    assert nodes
    return set(report), set(nodes[0])


@pytest.mark.usefixtures("warehouse")
def test_json_output_has_the_documented_keys(flext_cli: FlextCliRunner, project: Path) -> None:
    documented = _documented_report()
    assert set(documented) == {"ok", "data"}
    expected = _keys(documented["data"])  # type: ignore[arg-type]
    snake = re.compile(r"[a-z][a-z0-9_]*")
    assert all(snake.fullmatch(key) for key in expected[0] | expected[1])

    for command in (
        ("data", "dbt", "build", str(project)),
        ("data", "dbt", "show", str(project), "--select", "group_membership", "--limit", "3"),
    ):
        done = flext_cli("--output", "json", *command)
        assert done.exit_code == 0, done
        document = done.json()
        assert set(document) == {"ok", "data"}
        assert _keys(document["data"]) == expected, command
        assert isinstance(document["data"]["elapsed"], float)
    assert document["data"]["columns"][:2] == ["group_cn", "group_dn"]
    assert len(document["data"]["rows"]) == 3


def _on_a_terminal(flext_cli: FlextCliRunner, *args: str, columns: int) -> tuple[int, str]:
    """(exit code, stdout) of ``flext *args`` on a terminal ``columns`` wide; dbt's log (stderr) apart."""
    shown = flext_cli.on_terminal(*args, columns=columns)
    return shown.exit_code, shown.stdout


@pytest.mark.usefixtures("warehouse")
def test_build_and_show_are_readable_at_80_columns(flext_cli: FlextCliRunner, project: Path) -> None:
    code, built = _on_a_terminal(flext_cli, "data", "dbt", "build", str(project), columns=80)
    assert code == 0, built
    lines = built.splitlines()
    assert max(len(line) for line in lines) <= 80, built
    assert "…" not in built, built
    for model in ("live_entries", "group_membership", "directory_summary"):
        assert any(re.search(rf"│ {model} +│ success", line) for line in lines), built
    assert "tests: 19 passed" in lines, built

    show = ("data", "dbt", "show", str(project), "--select", "group_membership", "--limit", "4")
    code, shown = _on_a_terminal(flext_cli, *show, columns=80)
    assert code == 0, shown
    assert "…" not in shown, shown
    rows = flext_cli("--output", "json", *show).json()["data"]["rows"]
    for row in rows:  # every value whole, on one line
        for value in row.values():
            if value is not None:
                assert any(line.rstrip().endswith(f" {value}") for line in shown.splitlines()), (value, shown)
