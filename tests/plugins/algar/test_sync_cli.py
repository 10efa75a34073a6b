"""The worked migration through the real ``flext`` executable: init, run, sync, verify against a real slapd.

The sample export, migrated, loads into a schema-checking server as it is
(the schema phase keeps the groups' displayName through extensibleObject),
verify is clean (exit 0) and a second sync sends nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing.ldap_server import LdapServer

from ._directory_fixtures import EXAMPLE, SECRET_FILE, audit, serve_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def oud_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    yield from serve_target(tmp_path_factory)


def _project(flext_cli: FlextCliRunner, directory: Path, server: LdapServer, password: str) -> str:
    assert flext_cli("algar", "init", str(directory)).exit_code == 0
    shutil.copy(EXAMPLE, directory / "oid-export.ldif")
    suffix = f"dc=algar,{server.subtree('cli')}"
    (directory / SECRET_FILE).write_text(password + "\n", encoding="utf-8")
    text = (directory / "algar.yaml").read_text(encoding="utf-8")
    text = text.replace("url: ldap://localhost:1389", f"url: {server.url.rstrip('/')}")
    text = text.replace("bind_dn: cn=Directory Manager", f"bind_dn: {server.admin_dn}")
    text = text.replace("bind_password: env:OUD_BIND_PASSWORD", f"bind_password: file:{SECRET_FILE}")
    text = text.replace("  to: dc=algar,dc=br", f"  to: {suffix}")
    text = text.replace("batch_size: 500 ", "batch_size: 20 ")
    (directory / "algar.yaml").write_text(text, encoding="utf-8")
    return suffix


def test_the_sample_migration_loads_into_slapd_and_verify_is_clean(
    flext_cli: FlextCliRunner, oud_target: LdapServer, tmp_path: Path
) -> None:
    project = str(tmp_path / "migration")
    suffix = _project(flext_cli, tmp_path / "migration", oud_target, oud_target.admin_password)
    assert flext_cli("algar", "migration", "run", "--project", project).exit_code == 0

    dry = flext_cli("--output", "json", "algar", "migration", "sync", "--project", project, "--dry-run")
    assert dry.exit_code == 0, dry
    assert dry.json()["data"]["counts"]["added"] == 60
    assert not oud_target.ldapsearch(oud_target.suffix, f"(entryDN={suffix})", "dn").strip()

    first = flext_cli("--output", "json", "algar", "migration", "sync", "--project", project)
    assert first.exit_code == 0, first
    counts = first.json()["data"]["counts"]
    assert (counts["in"], counts["added"], counts["modified"], counts["failed"]) == (60, 60, 0, 0)
    clean = flext_cli("algar", "migration", "verify", "--project", project)
    assert clean.exit_code == 0, clean
    assert "60 the same, 0 missing, 0 different, 0 extra (clean)" in clean.stdout

    before = audit(oud_target)
    third = flext_cli("--output", "json", "algar", "migration", "sync", "--project", project)
    assert third.exit_code == 0, third
    counts = third.json()["data"]["counts"]
    assert (counts["added"], counts["modified"], counts["unchanged"]) == (0, 0, 60)
    assert audit(oud_target) == before
    report = json.loads((tmp_path / "migration/out/08-sync.report.json").read_text(encoding="utf-8"))
    assert report["counts"]["unchanged"] == 60
    status = flext_cli("--output", "json", "algar", "migration", "status", "--project", project)
    rows = {row["phase"]: row for row in status.json()["data"]}
    assert (rows["sync"]["state"], rows["sync"]["position"]) == ("done", 60)  # recorded in the journal


def test_a_wrong_bind_password_exits_1_naming_the_target_not_the_password(
    flext_cli: FlextCliRunner, oud_target: LdapServer, tmp_path: Path
) -> None:
    project = str(tmp_path / "migration")
    _project(flext_cli, tmp_path / "migration", oud_target, "Wrong-Horse-Battery-9")
    assert flext_cli("algar", "migration", "run", "--project", project).exit_code == 0
    for command in ("sync", "verify"):
        done = flext_cli("algar", "migration", command, "--project", project)
        assert done.exit_code == 1, done
        assert done.stderr.startswith(f"error: the target {oud_target.url.rstrip('/')} refused the bind as ")
        assert "(LDAP_BIND_FAILED)" in done.stderr
        assert "Traceback" not in done.stderr
        assert "Wrong-Horse-Battery-9" not in done.stdout + done.stderr
    as_json = flext_cli("--output", "json", "algar", "migration", "sync", "--project", project)
    assert as_json.json()["code"] == "LDAP_BIND_FAILED"
    assert "Wrong-Horse-Battery-9" not in as_json.stdout


def test_sync_before_run_names_the_missing_output(
    flext_cli: FlextCliRunner, oud_target: LdapServer, tmp_path: Path
) -> None:
    project = str(tmp_path / "migration")
    _project(flext_cli, tmp_path / "migration", oud_target, oud_target.admin_password)
    done = flext_cli("algar", "migration", "sync", "--project", project)
    assert done.exit_code == 2, done
    assert "07-output.ldif: no such file (run 'flext algar migration run' first" in done.stderr
