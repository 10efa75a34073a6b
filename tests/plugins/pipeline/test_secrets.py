"""No secret of a pipeline reaches anything a run writes or prints (issue 22, item 13).

A tap and a target that print their config (as real ones do in debug output
and in error messages) run through the real ``flext pipeline run``: once
failing in ``--discover``, once failing mid-run, once succeeding through a
dbt model that logs a secret. The secrets come from the environment
(``${VAR}``), from a number under a secret-looking key, from a URL's
userinfo and from a ``password=`` connection string. Afterwards every file
under ``FLEXT_HOME`` (run logs, the runner's files, the SQLite event store's
bytes, its WAL) and every output (``run``, ``status``, ``history``, ``logs``,
``events show``, in human and JSON form) is searched for each secret.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from flext_plugin_pipeline.masking import Masker, secrets_in

pytestmark = pytest.mark.slow

ENV_PASSWORD = "EnvLdap-EEE555"
PIN = 987654
URL_PASSWORD = "UrlPw-777"
PG_PASSWORD = "PgPw-888"
KV_PASSWORD = "KvPw-999"
DBT_SECRET = "DbtSecret-4242"
SECRETS = (ENV_PASSWORD, str(PIN), URL_PASSWORD, PG_PASSWORD, KV_PASSWORD, DBT_SECRET)

TAP = r"""
import json, sys
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
print(f"connecting to {config['url']} ({config['conn']}) using password {config['password']} "
      f"and pin {config['pin_password']}", file=sys.stderr, flush=True)
if "--discover" in sys.argv:
    if config.get("fail_discover"):
        print(f"RuntimeError: login refused for {config['url']} using password {config['password']}",
              file=sys.stderr)
        sys.exit(1)
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    print(json.dumps({"streams": [{"tap_stream_id": "items", "stream": "items", "schema": schema,
                                   "key_properties": ["n"], "metadata": []}]}))
    sys.exit(0)
print(json.dumps({"type": "SCHEMA", "stream": "items", "key_properties": ["n"],
                  "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}), flush=True)
for n in range(1, 4):
    print(json.dumps({"type": "RECORD", "stream": "items", "record": {"n": n}}), flush=True)
if config.get("fail_run"):
    print(f"Error: the server hung up on pin {config['pin_password']} ({config['password']})",
          file=sys.stderr, flush=True)
    sys.exit(2)
print(json.dumps({"type": "STATE", "value": {"bookmarks": {"items": {"last": 3}}}}), flush=True)
"""

TARGET = r"""
import json, sys
config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))
print(f"target writing to {config['dsn']}", file=sys.stderr, flush=True)
rows = 0
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "RECORD":
        rows += 1
    elif message["type"] == "STATE":
        print(json.dumps(message["value"]), flush=True)
open(config["path"], "w").write(str(rows))
"""

PLUGIN = """
from flext_sdk import PluginManifest, hookimpl
from flext_sdk.contracts.singer import ConnectorSpec

manifest = PluginManifest(name="leaky", version="1.0.0", description="a tap and a target that print secrets")


@hookimpl(optionalhook=True)
def flext_singer_connectors():
    return [
        ConnectorSpec(name="tap-leaky", kind="tap", executable={tap!r}),
        ConnectorSpec(name="target-leaky", kind="target", executable={target!r}),
    ]
"""

PROFILES = """\
leaky:
  target: dev
  outputs:
    dev:
      type: sqlite
      threads: 1
      database: warehouse
      schema: main
      schemas_and_paths:
        main: "{{ env_var('LEAKY_WAREHOUSE') }}"
      schema_directory: "{{ env_var('LEAKY_WAREHOUSE').rpartition('/')[0] }}"
"""
PROJECT = 'name: leaky\nversion: "1.0.0"\nprofile: leaky\nmodel-paths: ["models"]\n'
MODEL = "{{ log('dbt sees ' ~ env_var('DBT_SECRET_VALUE'), info=True) }}\nselect 1 as n\n"


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def leaky(flext_cli, tmp_path: Path) -> Path:
    """The leaky tap and target, offered by a local plugin in FLEXT_HOME/plugins; returns a work folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tap, target = _script(bin_dir / "tap-leaky", TAP), _script(bin_dir / "target-leaky", TARGET)
    plugins = flext_cli.home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "leaky.py").write_text(PLUGIN.format(tap=tap, target=target))
    listed = flext_cli("--output", "json", "data", "taps", "list")
    assert "tap-leaky" in listed.stdout, listed
    return tmp_path


def _define(
    flext_cli, folder: Path, name: str, tap: dict[str, Any], *, select: list[str] | None = None, **more: Any
) -> None:
    folder = folder / name
    folder.mkdir()
    body = {
        "name": name,
        "extract": {
            "name": "tap-leaky",
            "config": {
                "url": f"ldap://admin:{URL_PASSWORD}@ldap.example:389",
                "conn": f"host=db.example password={KV_PASSWORD} dbname=x",
                "password": "${LEAKY_PASSWORD}",
                "pin_password": PIN,
                **tap,
            },
            **({"select": select} if select else {}),
        },
        "load": {
            "name": "target-leaky",
            "config": {"path": "rows.txt", "dsn": f"postgresql://loader:{PG_PASSWORD}@db.example/warehouse"},
        },
        **more,
    }
    (folder / "pipeline.yaml").write_text(yaml.safe_dump(body))
    created = flext_cli("pipeline", "create", str(folder / "pipeline.yaml"))
    assert created.exit_code == 0, created


def _dbt_step(folder: Path) -> dict[str, Any]:
    project = folder / "transform"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(PROJECT)
    (project / "profiles.yml").write_text(PROFILES)
    (project / "models" / "leak.sql").write_text(MODEL)
    (folder / "warehouse").mkdir()
    return {
        "project": str(project),
        "command": "run",
        "env": {
            "LEAKY_WAREHOUSE": str(folder / "warehouse" / "leaky.db"),
            "DBT_SECRET_VALUE": "${DBT_SECRET}",
        },
    }


ENV = {"LEAKY_PASSWORD": ENV_PASSWORD, "DBT_SECRET": DBT_SECRET}


def _outputs(flext_cli, names: list[str]) -> list[str]:
    """Everything a user can ask about the runs, in each form."""
    texts = []
    for options in ((), ("--output", "json")):
        texts.append(str(flext_cli(*options, "pipeline", "status")))
        for name in names:
            for command in ("history", "logs"):
                texts.append(str(flext_cli(*options, "pipeline", command, name)))
            texts.append(str(flext_cli(*options, "events", "show", f"pipeline-{name}")))
    return texts


def _leaks(root: Path, texts: list[str]) -> list[str]:
    """``(secret, where)`` for every secret found in a file under ``root`` (as bytes) or in ``texts``."""
    found = []
    registered = root / "data" / "project" / "pipelines"
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.parent == registered:  # the definition holds what the user wrote
            continue
        data = path.read_bytes()
        found += [f"{secret} in {path}" for secret in SECRETS if secret.encode() in data]
    for number, text in enumerate(texts):
        found += [f"{secret} in output {number}: {text[:300]}" for secret in SECRETS if secret in text]
    return found


def test_no_secret_reaches_a_file_or_an_output_of_failing_and_succeeding_runs(flext_cli, leaky: Path):
    # with selection, flext asks the tap for its catalog first, which fails printing the password
    _define(flext_cli, leaky, "discovery", {"fail_discover": True}, select=["items.*"])
    _define(flext_cli, leaky, "midrun", {"fail_run": True})
    _define(flext_cli, leaky, "fine", {}, transform=_dbt_step(leaky / "dbt"))

    runs = {}
    for name in ("discovery", "midrun", "fine"):
        for options in ((), ("--output", "json")):
            runs[name, options] = flext_cli(*options, "pipeline", "run", name, "--no-retry", env=ENV)

    failed = runs["discovery", ()]
    assert failed.exit_code == 1, failed
    assert "tap-leaky --discover exited with code 1: RuntimeError: login refused for" in failed.stderr
    assert "ldap://admin:***@ldap.example:389 using password ***" in failed.stderr
    assert runs["midrun", ()].exit_code == 1, runs["midrun", ()]
    assert "Error: the server hung up on pin *** (***)" in runs["midrun", ()].stderr
    assert runs["fine", ()].exit_code == 0, runs["fine", ()]
    assert runs["fine", ("--output", "json")].json()["data"]["status"] == "completed"

    logs = {name: flext_cli("pipeline", "logs", name).stdout for name in ("discovery", "midrun", "fine")}
    assert "[tap-leaky --discover] connecting to ldap://admin:***@ldap.example:389" in logs["discovery"]
    assert "(host=db.example password=*** dbname=x) using password *** and pin ***" in logs["midrun"]
    assert "target writing to postgresql://loader:***@db.example/warehouse" in logs["fine"]
    assert "dbt sees ***" in logs["fine"]

    texts = [str(result) for result in runs.values()] + _outputs(flext_cli, ["discovery", "midrun", "fine"])
    assert _leaks(flext_cli.home, texts) == []


def test_a_dry_run_and_a_missing_variable_print_no_secret(flext_cli, leaky: Path):
    _define(flext_cli, leaky, "dry", {})
    dry = flext_cli("pipeline", "run", "dry", "--dry-run", env=ENV)
    assert dry.exit_code == 0, dry
    missing = flext_cli("pipeline", "run", "dry")  # LEAKY_PASSWORD not set
    assert missing.exit_code == 1, missing  # a run recorded as failed
    assert "LEAKY_PASSWORD" in missing.stderr
    assert _leaks(flext_cli.home, [str(dry), str(missing)]) == []


@pytest.mark.parametrize(
    ("config", "hidden"),
    [
        ({"pin_password": 987654}, {"987654"}),
        ({"api_key": 12345.5}, {"12345.5"}),
        ({"use_ssl_key": True, "token": None}, set()),
        ({"credentials": {"user": "alice", "pass": "wonderland"}}, {"alice", "wonderland"}),
        ({"url": "ldap://admin:p%40ss@host"}, {"p%40ss", "p@ss"}),
        ({"url": "https://ghp_abcdef@github.com/x"}, {"ghp_abcdef"}),
        ({"dsn": "host=h port=5432 password='se cret' user=u"}, {"se cret"}),
        ({"list": ["postgresql://u:pw1@h/db", "plain"]}, {"pw1"}),
        ({"description": "no secrets here", "port": 5432}, set()),
    ],
)
def test_secrets_are_found_in_values_of_any_type_and_inside_urls(config, hidden):
    assert secrets_in(config) == hidden


def test_the_masker_hides_longest_first_and_json_escaped_forms():
    masker = Masker.from_values(["abc", "abcdef", 'q"uote', "x"])
    assert masker("abcdef abc x") == "*** *** x"  # too short to mask: 'x'
    assert masker(json.dumps({"p": 'q"uote'})) == '{"p": "***"}'
    assert masker.deep({"a": ["abc", 1, {"abcdef": "q"}]}) == {"a": ["***", 1, {"***": "q"}]}
