"""``flext pipeline run --full-refresh`` leaves the target equal to the source (issue 15, item 9).

Real runs: the first-party tap-ldif and target-sqlite, a directory of 1,000
users; one user is deleted and two are renamed in the LDIF, as a new export
would have them. An incremental run keeps what the source no longer has (it
cannot know); ``--full-refresh``, with nothing in the tap's config, asks the
tap for ``ACTIVATE_VERSION`` because it advertises ``activate-version``, and
target-sqlite drops the rest. A tap that does not advertise it is not given
the setting, and the run's log says the rows stay.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from flext_plugin_pipeline.runner import EMIT_ACTIVATE_VERSION, full_refresh_config

from flext_sdk.contracts.singer import ConnectorSpec

BASE = "dc=example,dc=com"
BEFORE = [f"u{n:04d}" for n in range(1000)]
AFTER = [uid for uid in BEFORE if uid != "u0500"]  # one user deleted
AFTER[AFTER.index("u0010")] = "renamed-u0010"  # two renamed: a new DN, the old one gone
AFTER[AFTER.index("u0990")] = "renamed-u0990"


def _ldif(uids: list[str], stamp: str) -> str:
    old = "modifyTimestamp: 20240101000000Z\n"
    parts = [
        f"dn: {BASE}\nobjectClass: domain\ndc: example\n{old}",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n{old}",
    ]
    parts.extend(
        f"dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: User {uid}\nsn: {uid}\n"
        f"modifyTimestamp: {stamp if uid.startswith('renamed') else '20240101000000Z'}\n"
        for uid in uids
    )
    return "\n".join(parts)


def _users(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = {dn for (dn,) in connection.execute("select dn from users")}
    connection.close()
    return rows


def _dns(uids: list[str]) -> set[str]:
    return {f"uid={uid},ou=people,{BASE}" for uid in uids}


@pytest.mark.slow
def test_a_full_refresh_leaves_the_target_equal_to_the_source_without_a_setting(flext_cli, tmp_path: Path):
    ldif, database = tmp_path / "directory.ldif", tmp_path / "directory.db"
    ldif.write_text(_ldif(BEFORE, "20240101000000Z"), encoding="utf-8")
    body = {
        "name": "refresh",
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},  # nothing about versions
        "load": {"name": "target-sqlite", "config": {"database": str(database)}},
    }
    (tmp_path / "refresh.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    assert flext_cli("data", "pipeline", "create", str(tmp_path / "refresh.yaml")).exit_code == 0

    def run(*options: str) -> dict[str, int]:
        result = flext_cli("--output", "json", "pipeline", "run", "refresh", "--no-retry", *options)
        assert result.exit_code == 0, result.stderr
        records: dict[str, int] = result.json()["data"]["records"]
        return records

    assert run()["users"] == 1000
    assert _users(database) == _dns(BEFORE)

    # A new export: one user gone, two renamed (their entries changed after the bookmark).
    ldif.write_text(_ldif(AFTER, "20250101000000Z"), encoding="utf-8")
    assert run() == {"users": 2}
    assert _users(database) == _dns(BEFORE) | _dns(["renamed-u0010", "renamed-u0990"])  # 1,002 rows

    assert run("--full-refresh")["users"] == 999
    assert _users(database) == _dns(AFTER)  # the deleted user and the two old DNs are gone
    log = flext_cli("pipeline", "logs", "refresh").stdout
    assert (
        "full refresh: tap-ldif is asked for ACTIVATE_VERSION (emit_activate_version_messages: true): the "
        "streams it syncs in full are versioned, and target-sqlite, if it processes ACTIVATE_VERSION, "
        "removes the rows the source no longer has in those streams (streams it does not version keep them)"
    ) in log


@pytest.mark.slow
def test_a_pipeline_defined_with_full_refresh_reloads_on_every_run(flext_cli, tmp_path: Path):
    # A reload pipeline (GrupoNos deploys one next to its incremental pipeline): a plain 'run' of it
    # ignores the saved state, as 'run --full-refresh' does, and drops what the source no longer has.
    ldif, database = tmp_path / "directory.ldif", tmp_path / "directory.db"
    ldif.write_text(_ldif(BEFORE[:20], "20240101000000Z"), encoding="utf-8")
    body = {
        "name": "reload",
        "full_refresh": True,
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},
        "load": {"name": "target-sqlite", "config": {"database": str(database)}},
    }
    (tmp_path / "reload.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    assert flext_cli("pipeline", "create", str(tmp_path / "reload.yaml")).exit_code == 0

    def run() -> dict[str, int]:
        result = flext_cli("--output", "json", "pipeline", "run", "reload", "--no-retry")
        assert result.exit_code == 0, result.stderr
        records: dict[str, int] = result.json()["data"]["records"]
        return records

    assert run()["users"] == 20
    assert run()["users"] == 20  # the saved state is ignored: everything again, not 0 new records
    ldif.write_text(_ldif(BEFORE[:10], "20240101000000Z"), encoding="utf-8")
    assert run()["users"] == 10
    assert _users(database) == _dns(BEFORE[:10])  # the ten gone from the source are gone
    history = flext_cli("--output", "json", "pipeline", "history", "reload").json()["data"]
    assert [run["full_refresh"] for run in history] == [True, True, True]


@pytest.mark.slow
def test_a_tap_without_the_capability_is_not_given_the_setting_and_the_log_says_so(
    connectors, define, flext_cli
):
    define("numbers", {"count": 3})
    result = flext_cli("pipeline", "run", "numbers", "--full-refresh", "--no-retry")
    assert result.exit_code == 0, result.stderr
    log = flext_cli("pipeline", "logs", "numbers").stdout
    assert (
        "full refresh: tap-numbers does not advertise the 'activate-version' capability, so it is not asked "
        "for ACTIVATE_VERSION; rows the source no longer has stay in target-file"
    ) in log


def _spec(name: str, kind: str, *capabilities: str) -> ConnectorSpec:
    return ConnectorSpec(name=name, kind=kind, executable=name, capabilities=capabilities)  # type: ignore[arg-type]


TAP = _spec("tap-x", "tap", "about", "activate-version")
TARGET = _spec("target-y", "target", "activate-version")


def test_a_tap_that_advertises_the_capability_is_asked_for_activate_version() -> None:
    config, line = full_refresh_config({"files": ["a.ldif"]}, TAP, TARGET)
    assert config == {"files": ["a.ldif"], EMIT_ACTIVATE_VERSION: True}
    assert line == (
        "full refresh: tap-x is asked for ACTIVATE_VERSION (emit_activate_version_messages: true): the "
        "streams it syncs in full are versioned, and target-y, if it processes ACTIVATE_VERSION, removes "
        "the rows the source no longer has in those streams (streams it does not version keep them)"
    )
    assert "so that target-y removes the rows the source no longer has" not in line


def test_a_setting_in_the_config_is_left_as_the_user_wrote_it() -> None:
    config, line = full_refresh_config({EMIT_ACTIVATE_VERSION: False}, TAP, TARGET)
    assert config == {EMIT_ACTIVATE_VERSION: False}
    assert line == "full refresh: the tap's config sets emit_activate_version_messages: false, left as it is"


def test_a_target_without_the_capability_is_named_in_the_line() -> None:
    config, line = full_refresh_config({}, TAP, _spec("target-jsonl", "target"))
    assert config == {EMIT_ACTIVATE_VERSION: True}
    assert line.endswith(
        "target-jsonl does not advertise the 'activate-version' capability and may ignore it, "
        "keeping those rows"
    )


def test_a_tap_without_the_capability_keeps_its_config() -> None:
    config, line = full_refresh_config({"count": 3}, _spec("tap-old", "tap", "catalog"), TARGET)
    assert config == {"count": 3}
    assert "tap-old does not advertise the 'activate-version' capability" in line


def test_a_pipeline_with_mappers_is_not_asked_for_activate_version() -> None:
    # The last mapper ends the target's input: if it failed, the target would take the end for a
    # finished run and apply the activation after a partial load.
    config, line = full_refresh_config({"files": ["a.ldif"]}, TAP, TARGET, mappers=1)
    assert EMIT_ACTIVATE_VERSION not in config
    assert "the pipeline has mappers" in line
    chosen, _ = full_refresh_config({EMIT_ACTIVATE_VERSION: True}, TAP, TARGET, mappers=1)
    assert chosen[EMIT_ACTIVATE_VERSION] is True  # the user's own choice stands
