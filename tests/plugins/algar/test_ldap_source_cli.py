"""``flext algar migration run`` from a live source, through the real ``flext`` executable and slapd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_algar.phases import SOURCE_SNAPSHOT

from flext_sdk.testing import FlextCliRunner

# A sibling test module: mypy checks files one by one and does not see tests/ as a package.
from .test_ldap_source import (  # type: ignore[import-not-found]
    EXAMPLE,
    PASSWORD,
    OidServer,
    _load,
    _project,
    _start,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidServer]:
    started = _start(tmp_path_factory.mktemp("oid-cli"))
    try:
        _load(started, EXAMPLE.read_text(encoding="utf-8"))
        yield started
    finally:
        started.stop()


def _run(flext_cli: FlextCliRunner, project: Path, *extra: str) -> dict[str, dict[str, Any]]:
    done = flext_cli("--output", "json", "algar", "migration", "run", "--project", str(project), *extra)
    assert done.exit_code == 0, done
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    return {report["phase"]: report for report in done.json()["data"]["phases"]}


def test_run_reads_the_server_once_and_again_only_when_asked(
    flext_cli: FlextCliRunner, server: OidServer, tmp_path: Path
) -> None:
    project = tmp_path / "migration"
    _project(project, server, page_size=10)
    first = _run(flext_cli, project)
    assert first["source"]["reused"] is False
    assert first["validate"]["counts"]["in"] == first["source"]["counts"]["out"]
    assert (project / "out" / SOURCE_SNAPSHOT).exists()
    assert (project / "out/07-output.ldif").read_text(encoding="utf-8").startswith("version: 1\n\ndn: ")

    snapshot = (project / "out" / SOURCE_SNAPSHOT).read_bytes()
    server.ldapadd(f"dn: ou=Late,{server.suffix}\nobjectClass: organizationalUnit\nou: Late\n")
    try:
        again = _run(flext_cli, project)
        assert again["source"]["reused"] is True
        assert (project / "out" / SOURCE_SNAPSHOT).read_bytes() == snapshot
        refreshed = _run(flext_cli, project, "--refresh-source")
        assert refreshed["source"]["reused"] is False
        assert refreshed["source"]["counts"]["out"] == first["source"]["counts"]["out"] + 1
    finally:
        server.run_client("ldapdelete", f"ou=Late,{server.suffix}")

    logs = flext_cli("algar", "logs", "--project", str(project))
    assert logs.exit_code == 0, logs
    assert PASSWORD not in logs.stdout + logs.stderr


def test_a_wrong_password_is_one_line_and_a_failed_run(
    flext_cli: FlextCliRunner, server: OidServer, tmp_path: Path
) -> None:
    project = tmp_path / "migration"
    _project(project, server, page_size=10, password="wrong-password")
    done = flext_cli("algar", "migration", "run", "--project", str(project))
    assert done.exit_code == 1, done
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert server.url.rstrip("/") in line
    assert "invalidCredentials" in line
    assert line.endswith("(LDAP_BIND_FAILED)")
    assert "wrong-password" not in done.stdout + done.stderr
    assert not (project / "out" / SOURCE_SNAPSHOT).exists()
    assert not list((project / "out").glob("*.partial"))


def test_oud_sync_reads_a_live_source_into_its_own_file_never_the_runs_snapshot(
    flext_cli: FlextCliRunner, server: OidServer, tmp_path: Path, ldif_reader: Any
) -> None:
    # oud sync's read of the live source goes to out/10-oud-sync.source.ldif; out/00-source.ldif, which
    # the migration's phases read, stays the snapshot its run took, byte for byte.
    from flext_plugin_algar.cli_oud import _fetch
    from flext_plugin_algar.oud_sync import LIVE_SOURCE, source_of
    from flext_plugin_algar.phases import Migration
    from flext_plugin_algar.project import load_project, load_rules

    project = tmp_path / "migration"
    _project(project, server, page_size=10)
    _run(flext_cli, project)
    snapshot = (project / "out" / SOURCE_SNAPSHOT).read_bytes()
    loaded = load_project(project).unwrap()
    migration = Migration.of(loaded, load_rules(loaded).unwrap(), ldif_reader).unwrap()
    assert source_of(migration) == project / "out" / LIVE_SOURCE
    server.ldapadd(f"dn: ou=Late,{server.suffix}\nobjectClass: organizationalUnit\nou: Late\n")
    try:
        read = _fetch(migration)
        assert read.is_success, read
    finally:
        server.run_client("ldapdelete", f"ou=Late,{server.suffix}")
    assert (project / "out" / SOURCE_SNAPSHOT).read_bytes() == snapshot
    taken = (project / "out" / LIVE_SOURCE).read_text(encoding="utf-8")
    assert f"dn: ou=Late,{server.suffix}\n" in taken
    assert taken.count("\ndn:") == snapshot.decode("utf-8").count("\ndn:") + 1
