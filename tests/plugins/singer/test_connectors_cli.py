"""``flext data taps|targets|mappers list|add`` through the real CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flext_plugin_singer.catalog import known

pytestmark = pytest.mark.slow


ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "plugins" / "singer" / "README.md"
KINDS = ("taps", "targets", "mappers")


def _listed(flext_cli, kind: str, *options: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    result = flext_cli("--json", "data", kind, "list", *options, env=env)
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in result.json()["data"]}


def test_lists_show_first_party_connectors_installed_and_the_checked_ones_available(flext_cli):
    taps = _listed(flext_cli, "taps")
    assert taps["tap-ldif"]["status"] == "installed"
    assert taps["tap-ldif"]["version"]
    assert {"discover", "state"} <= set(taps["tap-ldif"]["capabilities"])
    assert (taps["tap-ldif"]["source"], taps["tap-ldif"]["plugin"]) == ("plugin", "ldif")
    assert taps["tap-postgres"]["package"] == "meltanolabs-tap-postgres"
    targets = _listed(flext_cli, "targets")
    assert targets["target-sqlite"]["status"] == "installed"
    assert {"target-jsonl", "target-postgres", "target-csv"} <= set(targets)
    assert all(
        row["status"] == "installed" for row in _listed(flext_cli, "targets", "--no-available").values()
    )
    assert "meltano-map-transformer" in _listed(flext_cli, "mappers")


def test_every_listed_connector_says_where_it_comes_from_and_none_is_a_git_url(flext_cli):
    for kind in KINDS:
        for name, row in _listed(flext_cli, kind).items():
            assert not re.search(r"git\+|://", json.dumps(row)), row
            if row["status"] == "available":
                assert row["source"] in ("pypi", "workspace"), row
                assert row["version"] is None
                if row["source"] == "pypi":
                    assert row["install"] == f"flext data {kind} add {name}"
                    entry = known(name)
                    assert entry is not None
                    assert row["package"] == entry.package  # the PyPI name that was checked
            else:
                assert row["source"] in ("plugin", "environment"), row
                assert row["location"], row


def _documented_keys() -> set[str]:
    """The keys of each connector in the JSON example of plugins/singer/README.md."""
    section = README.read_text(encoding="utf-8").split("## JSON output", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    rows = json.loads(block.group(1))["data"]
    keys = {frozenset(row) for row in rows}
    assert len(keys) == 1  # every example row has the same keys
    return set(next(iter(keys)))


def test_json_rows_have_exactly_the_documented_snake_case_keys(flext_cli):
    documented = _documented_keys()
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", key) for key in documented)
    table = README.read_text(encoding="utf-8").split("## JSON output", 1)[1]
    assert {key for key in documented if f"| `{key}` |" in table} == documented  # each one explained
    for kind in KINDS:
        for row in _listed(flext_cli, kind).values():
            assert set(row) == documented, row


def _on_a_terminal(flext_cli, *args: str, columns: int, env: dict[str, str]) -> str:
    """What ``flext *args`` shows on a terminal ``columns`` wide, escape codes removed."""
    shown = flext_cli.on_terminal(*args, columns=columns, env=env)
    assert shown.exit_code == 0, shown
    return shown.stdout


def _added_from_a_path(tools: Path, name: str, requirement: str) -> None:
    """What ``flext data taps add NAME --pip-url PATH`` leaves in the tools directory, without the install."""
    environment = tools / name
    (environment / "bin").mkdir(parents=True)
    executable = environment / "bin" / name
    executable.write_text("#!/bin/sh\nexit 0\n")
    executable.chmod(0o755)
    (environment / "flext-tool.json").write_text(
        json.dumps(
            {
                "name": name,
                "path": str(environment),
                "requirements": [requirement],
                "installed_at": "2026-12-07T06:00:00Z",
            }
        )
    )
    spec = {"name": name, "kind": "tap", "executable": name, "pip_url": requirement, "source": "tools"}
    (environment / "flext-singer.json").write_text(json.dumps(spec))


@pytest.mark.parametrize("kind", KINDS)
def test_lists_are_readable_at_80_columns(flext_cli, kind, tmp_path):
    tools = tmp_path / "tools"
    deep = "/srv/connectors/" + "/".join(["a-rather-long-directory-name"] * 3) + "/tap-in-house"
    _added_from_a_path(tools, "tap-in-house", deep)  # a whole path would not fit
    env = {"FLEXT_TOOLS_DIR": str(tools)}
    rows = _listed(flext_cli, kind, env=env)
    shown = _on_a_terminal(flext_cli, "data", kind, "list", columns=80, env=env)
    lines = shown.splitlines()
    assert lines, shown
    assert max(len(line) for line in lines) <= 80, shown
    assert "…" not in shown, shown  # nothing cut
    words = {word for line in lines for word in re.split(r"[\s│┃]+", line)}
    for name, row in rows.items():
        assert name in words, shown  # each name whole, on one line
        if row["source"] == "pypi":
            assert row["package"] in words, shown  # and the PyPI package it comes from
    if kind == "taps":
        assert rows["tap-in-house"]["package"] == deep  # JSON has the whole requirement
        assert re.search(r"│ tap-in-house +│ +│ path tap-in-house +│", shown), shown


def test_add_installs_from_the_catalog_and_refuses_what_it_cannot(flext_cli):
    added = flext_cli("--json", "data", "targets", "add", "target-jsonl")
    assert added.exit_code == 0, added.stderr
    assert added.json()["data"]["status"] == "installed"
    assert _listed(flext_cli, "targets", "--no-available")["target-jsonl"]["version"] == "0.1.4"

    first_party = flext_cli("data", "taps", "add", "tap-ldif")
    assert first_party.exit_code == 0
    assert "nothing to install" in first_party.stdout

    wrong_kind = flext_cli("data", "targets", "add", "tap-ldif")
    assert wrong_kind.exit_code != 0
    assert wrong_kind.stderr.splitlines() == ["error: tap-ldif is a tap, not a target (VALIDATION_ERROR)"]

    unknown = flext_cli("data", "targets", "add", "target-nope")
    assert unknown.exit_code != 0
    assert unknown.stderr.splitlines() == [
        "error: 'target-nope' is not in flext's catalog (NOT_FOUND)",
        "hint: give what to install: flext data targets add target-nope --pip-url PACKAGE",
    ]

    broken = flext_cli("data", "taps", "add", "tap-nope", "--pip-url", "flext-no-such-distribution-xyz")
    assert broken.exit_code != 0
    assert broken.stderr.startswith("installing tap-nope")
    assert "error: could not install tap-nope" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert "tap-nope" not in _listed(flext_cli, "taps")
