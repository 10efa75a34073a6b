"""A failed pipeline run says what failed, and where the whole log is (issue 15, item 2).

The issue saw ``target-postgres exited with code 1: (Background on this error
at: https://sqlalche.me/...)`` while the cause was only in the log, and a
killed tap explained by an unrelated SDK warning. Here the real
MeltanoLabs target-postgres refuses a NUL character, and a tap is killed by
SIGKILL right after printing such a warning, each through the real ``flext
pipeline run``; ``status`` and ``history`` carry the same line, and the
human output names the run's log.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

WARNING = (
    "2026-12-07 08:32:35,256 | WARNING  | tap-nul | Property 'x' was present in the 'users' stream "
    "but not found in catalog schema. Ignoring."
)
TAP = r"""
import json, os, signal, sys
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
print(json.dumps({"type": "SCHEMA", "stream": "users", "key_properties": ["id"],
                  "schema": {"type": "object", "properties": {"id": {"type": "integer"},
                                                              "name": {"type": "string"}}}}), flush=True)
for n in range(1, 4):
    name = "a\u0000b" if n == 2 else f"user {n}"
    print(json.dumps({"type": "RECORD", "stream": "users", "record": {"id": n, "name": name}}), flush=True)
if config.get("die"):
    print(THE_WARNING, file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
print(json.dumps({"type": "STATE", "value": {"bookmarks": {"users": {"last": 3}}}}), flush=True)
""".replace("THE_WARNING", repr(WARNING))
TARGET = "import sys\nfor line in sys.stdin:\n    pass\n"
PLUGIN = """
from flext_sdk import PluginManifest, hookimpl
from flext_sdk.contracts.singer import ConnectorSpec

manifest = PluginManifest(name="nul", version="1.0.0", description="a tap that sends a NUL character")


@hookimpl(optionalhook=True)
def flext_singer_connectors():
    return [
        ConnectorSpec(name="tap-nul", kind="tap", executable={tap!r}),
        ConnectorSpec(name="target-sink", kind="target", executable={target!r}),
    ]
"""


@pytest.fixture
def tap_nul(flext_cli, tmp_path: Path) -> Path:
    scripts = []
    for name, body in (("tap-nul", TAP), ("target-sink", TARGET)):
        path = tmp_path / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)
        scripts.append(str(path))
    plugins = flext_cli.home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "nul.py").write_text(PLUGIN.format(tap=scripts[0], target=scripts[1]))
    return tmp_path


def _create(flext_cli, folder: Path, name: str, tap: dict, target: str, config: dict) -> None:
    body = {
        "name": name,
        "extract": {"name": "tap-nul", "config": tap},
        "load": {"name": target, "config": config},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body))
    created = flext_cli("pipeline", "create", str(path))
    assert created.exit_code == 0, created


def _failed(flext_cli, name: str) -> tuple[str, dict, str]:
    """(the run's stderr, its history entry, status's table) of a run expected to fail."""
    run = flext_cli("pipeline", "run", name, "--no-retry")
    assert run.exit_code == 1, run
    last = flext_cli("--output", "json", "pipeline", "history", name).json()["data"][0]
    assert (
        run.stderr.splitlines()[-1]
        == f"hint: the whole log: 'flext pipeline logs {name} --run {last['run_id']}'"
    )
    status = flext_cli("pipeline", "status", name)
    assert f"hint: why a run failed is in its log: 'flext pipeline logs {name} --run {last['run_id']}'" in (
        status.stderr
    )
    return run.stderr, last, status.stdout


@pytest.mark.postgres
def test_target_postgres_refusing_a_nul_says_so_not_where_sqlalchemy_explains_it(
    flext_cli, tap_nul: Path, postgres_url: str, pg_schema: str
) -> None:
    added = flext_cli("data", "targets", "add", "target-postgres")
    assert added.exit_code == 0, added.stderr
    config = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "", "database": "test"}
    _create(flext_cli, tap_nul, "nul", {}, "target-postgres", {**config, "default_target_schema": pg_schema})
    stderr, last, _status = _failed(flext_cli, "nul")
    cause = "PostgreSQL text fields cannot contain NUL (0x00) bytes"
    expected = f"target-postgres exited with code 1: sqlalchemy.exc.DataError: (psycopg.DataError) {cause}"
    assert stderr.splitlines()[0] == f"error: {expected} (RUN_FAILED)", stderr
    assert last["error"] == expected
    assert "sqlalche.me" not in last["error"]
    log = flext_cli("pipeline", "logs", "nul").stdout
    assert "(Background on this error at: https://sqlalche.me/" in log  # the rest stays in the log


def test_a_killed_tap_is_said_to_be_killed_not_explained_by_a_warning(flext_cli, tap_nul: Path) -> None:
    _create(flext_cli, tap_nul, "killed", {"die": True}, "target-sink", {})
    stderr, last, _status = _failed(flext_cli, "killed")
    assert stderr.splitlines()[0] == "error: tap-nul was killed by signal 9 (SIGKILL) (RUN_FAILED)"
    assert last["error"] == "tap-nul was killed by signal 9 (SIGKILL)"
    assert WARNING in flext_cli("pipeline", "logs", "killed").stdout
