"""The private slapd the LDIF tests ask: it answers, keeps tests apart, and exports what was added."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flext_sdk.testing.ldap_server import LdapError, LdapServer


def test_the_server_adds_and_exports_entries_in_a_subtree_of_the_test(ldap_server: LdapServer) -> None:
    mine, other = ldap_server.subtree(), ldap_server.subtree()
    ldap_server.ldapadd(f"dn: cn=ada,{mine}\nobjectClass: person\ncn: ada\nsn: Lovelace\n")
    exported = ldap_server.slapcat(mine).decode()
    assert f"dn: cn=ada,{mine}" in exported
    assert other not in exported
    searched = ldap_server.ldapsearch(mine, "(cn=ada)", "sn").decode()
    assert searched == f"dn: cn=ada,{mine}\nsn: Lovelace\n\n"


def test_a_refused_entry_raises_with_the_tools_message(ldap_server: LdapServer) -> None:
    mine = ldap_server.subtree()
    with pytest.raises(LdapError) as refused:
        ldap_server.ldapadd(f"dn: cn=x,{mine}\nobjectClass: person\ncn: x\n")  # sn is required
    assert refused.value.returncode == 65  # objectClassViolation
    assert "sn" in refused.value.stderr


def test_the_server_listens_on_the_loopback_only_and_writes_an_audit_log(ldap_server: LdapServer) -> None:
    assert ldap_server.url.startswith("ldap://127.0.0.1:")
    mine = ldap_server.subtree()
    assert f"dn: {mine}\nchangetype: add" in ldap_server.audit_log.read_text(encoding="utf-8")


def _run_without_slapd(tmp_path: Path, *, ci: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        "import flext_sdk.testing.ldap_server as server\n"
        "server._executable = lambda name: None  # this machine 'has no slapd'\n"
        "from flext_sdk.testing.ldap_server import ldap_server\n"
    )
    (tmp_path / "test_needs_slapd.py").write_text("def test_it(ldap_server):\n    pass\n")
    environment = {**os.environ, "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env=environment,
    )


def test_without_slapd_the_fixture_skips_but_fails_on_ci(tmp_path: Path) -> None:
    skipped = _run_without_slapd(tmp_path, ci="")
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout
    assert "apt-get install slapd ldap-utils" in skipped.stdout
    failed = _run_without_slapd(tmp_path, ci="true")
    assert failed.returncode == 1, failed.stdout
    assert "CI is set: the slapd tests must run there" in failed.stdout
