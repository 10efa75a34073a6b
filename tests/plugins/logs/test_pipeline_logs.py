"""A real pipeline run's lines reach the store, searchable, and its secrets do not (issue 18, "Logs").

A local plugin offers a tap and a target that print their config on stderr
(as real connectors do in debug output and error messages) and logs, at
start-up, a connection string through its own logger, which the logs plugin
stores. The pipeline's config holds a password from the environment, a
literal one under a secret key, one in a URL and one in a ``password=``
connection string. After ``flext pipeline run`` and ``flext logs search``,
every byte of the store's files (the database, its WAL and shared memory)
and every output of the logs commands are searched for each secret.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from flext_sdk.testing import FlextCliRunner

pytestmark = pytest.mark.slow

ENV_PASSWORD = "EnvSecret-A1B2"
LITERAL_PASSWORD = "Literal-C3D4"
URL_PASSWORD = "UrlPw-E5F6"
KV_PASSWORD = "KvPw-G7H8"
PLUGIN_PASSWORD = "PluginPw-J9K0"
SECRETS = (ENV_PASSWORD, LITERAL_PASSWORD, URL_PASSWORD, KV_PASSWORD, PLUGIN_PASSWORD)

TAP = r"""
import json, sys
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
print(f"INFO connecting to {config['url']} ({config['conn']}) with password {config['password']} "
      f"and api {config['api_password']}", file=sys.stderr, flush=True)
if "--discover" in sys.argv:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    print(json.dumps({"streams": [{"tap_stream_id": "items", "stream": "items", "schema": schema,
                                   "key_properties": ["n"], "metadata": []}]}))
    sys.exit(0)
print(json.dumps({"type": "SCHEMA", "stream": "items", "key_properties": ["n"],
                  "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}), flush=True)
for n in range(1, 4):
    print(json.dumps({"type": "RECORD", "stream": "items", "record": {"n": n}}), flush=True)
print("WARNING quokka-marker slow server", file=sys.stderr, flush=True)
print(json.dumps({"type": "STATE", "value": {"bookmarks": {"items": {"last": 3}}}}), flush=True)
"""

TARGET = r"""
import json, sys
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
rows = 0
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "RECORD":
        rows += 1
    elif message["type"] == "STATE":
        print(json.dumps(message["value"]), flush=True)
print(f"ERROR target-marker wrote {rows} rows", file=sys.stderr, flush=True)
open(config["path"], "w").write(str(rows))
"""

PLUGIN = """
import logging

from flext_sdk import PluginManifest, hookimpl
from flext_sdk.contracts.singer import ConnectorSpec

manifest = PluginManifest(name="leaky", version="1.0.0", description="connectors that print secrets")


@hookimpl
def flext_startup(kernel):
    logging.getLogger("leaky").info("leaky-marker dsn postgresql://u:{secret}@db/x password={secret}")


@hookimpl(optionalhook=True)
def flext_singer_connectors():
    return [
        ConnectorSpec(name="tap-leaky", kind="tap", executable={tap!r}),
        ConnectorSpec(name="target-leaky", kind="target", executable={target!r}),
    ]
"""


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def leaky(flext_cli: FlextCliRunner, tmp_path: Path) -> Path:
    """The leaky connectors and plugin in FLEXT_HOME/plugins, and a registered pipeline ``leaky``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tap, target = _script(bin_dir / "tap-leaky", TAP), _script(bin_dir / "target-leaky", TARGET)
    plugins = flext_cli.home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "leaky.py").write_text(PLUGIN.format(tap=tap, target=target, secret=PLUGIN_PASSWORD))
    folder = tmp_path / "leaky"
    folder.mkdir()
    body: dict[str, Any] = {
        "name": "leaky",
        "extract": {
            "name": "tap-leaky",
            "config": {
                "url": f"ldap://admin:{URL_PASSWORD}@ldap.example:389",
                "conn": f"host=db.example password={KV_PASSWORD} dbname=x",
                "password": "${LEAKY_PASSWORD}",
                "api_password": LITERAL_PASSWORD,
            },
        },
        "load": {"name": "target-leaky", "config": {"path": "rows.txt"}},
    }
    (folder / "pipeline.yaml").write_text(yaml.safe_dump(body))
    created = flext_cli("pipeline", "create", str(folder / "pipeline.yaml"))
    assert created.exit_code == 0, created
    return folder


def _leaks(root: Path, texts: list[str]) -> list[str]:
    found = []
    for path in sorted((root / "data" / "logs").iterdir()):
        data = path.read_bytes()
        found += [f"{secret} in {path.name}" for secret in SECRETS if secret.encode() in data]
    for number, text in enumerate(texts):
        found += [f"{secret} in output {number}" for secret in SECRETS if secret in text]
    return found


CORRELATION = "it-logs-0001"
"""The correlation id the test's ``flext pipeline run`` is started with."""


def test_a_pipeline_runs_lines_are_stored_searchable_and_without_secrets(
    flext_cli: FlextCliRunner, leaky: Path
) -> None:
    env = {"LEAKY_PASSWORD": ENV_PASSWORD}
    ran = flext_cli("pipeline", "run", "leaky", env={**env, "FLEXT_CORRELATION_ID": CORRELATION})
    assert ran.exit_code == 0, ran

    found = flext_cli("--output", "json", "logs", "search", "quokka", "--pipeline", "leaky", env=env)
    assert found.exit_code == 0, found
    [line] = found.json()["data"]
    assert line["logger"] == "tap-leaky"
    assert line["plugin"] == "pipeline"
    assert line["pipeline"] == "leaky"
    assert line["level"] == "WARNING"
    assert line["correlation_id"] == CORRELATION
    assert "quokka-marker slow server" in line["message"]

    errors = flext_cli("--output", "json", "logs", "search", "marker", "--level", "error", env=env)
    assert [entry["logger"] for entry in errors.json()["data"]] == ["target-leaky"]

    # One action, one id: the run's lines (tap, target, flext's) and what a plugin logged in that process.
    action = flext_cli(
        "--output", "json", "logs", "search", "connecting OR marker", "--correlation-id", CORRELATION
    )
    assert action.exit_code == 0, action
    by_logger: dict[str, int] = {}
    for entry in action.json()["data"]:
        by_logger[entry["logger"]] = by_logger.get(entry["logger"], 0) + 1
    assert by_logger == {"tap-leaky": 2, "target-leaky": 1, "leaky": 1}, action.json()["data"]

    plugin_lines = flext_cli("--output", "json", "logs", "search", "leaky-marker", "--plugin", "leaky")
    assert plugin_lines.exit_code == 0, plugin_lines
    assert {entry["logger"] for entry in plugin_lines.json()["data"]} == {"leaky"}

    texts = [str(found), str(errors), str(action), str(plugin_lines)]
    texts.append(str(flext_cli("logs", "search", "connecting OR leaky", "--limit", "1000")))
    texts.append(str(flext_cli("logs", "export", "--format", "csv")))
    texts.append(str(flext_cli("logs", "export", "--format", "jsonl")))
    texts.append(str(flext_cli("logs", "tail", "--lines", "1000")))
    assert "connecting to ldap://admin:***@ldap.example:389" in texts[4]
    assert _leaks(flext_cli.home, texts) == []
    exported = [json.loads(text) for text in texts[6].splitlines() if text.startswith("{")]
    assert any(entry["pipeline"] == "leaky" for entry in exported)
