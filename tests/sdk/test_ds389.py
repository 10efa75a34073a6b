"""The private 389 Directory Server: on the loopback, it binds users, adds, searches, grants nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flext_sdk.testing import ds389
from flext_sdk.testing.ds389 import Ds389Server
from flext_sdk.testing.ldap_server import LdapError


def _person(dn: str, uid: str, password: str) -> str:
    return (
        f"dn: {dn}\nobjectClass: top\nobjectClass: inetOrgPerson\nuid: {uid}\n"
        f"cn: {uid}\nsn: {uid}\nuserPassword: {password}\n"
    )


def test_the_server_adds_binds_and_searches(ds389_server: Ds389Server) -> None:
    mine = ds389_server.subtree()
    ds389_server.ldapadd(_person(f"uid=ada,{mine}", "ada", "ada-password"))
    found = ds389_server.ldapsearch(mine, "(uid=ada)", "sn").decode()
    assert found == f"dn: uid=ada,{mine}\nsn: ada\n\n"
    ds389_server.ldapmodify(
        f"dn: {mine}\nchangetype: modify\nadd: aci\n"
        'aci: (targetattr="uid || sn")(version 3.0; acl "self read"; allow (read,search) userdn="ldap:///self";)\n'
    )
    as_ada = ds389_server.ldapsearch(mine, "(uid=ada)", "sn", bind=(f"uid=ada,{mine}", "ada-password"))
    assert as_ada.decode() == found


def test_a_wrong_password_is_refused(ds389_server: Ds389Server) -> None:
    mine = ds389_server.subtree()
    ds389_server.ldapadd(_person(f"uid=bob,{mine}", "bob", "bob-password"))
    with pytest.raises(LdapError) as refused:
        ds389_server.ldapsearch(mine, bind=(f"uid=bob,{mine}", "wrong"))
    assert refused.value.returncode == 49  # invalidCredentials


def test_nothing_is_granted_but_what_a_test_loads(ds389_server: Ds389Server) -> None:
    assert ds389_server.acis(ds389_server.suffix) == []
    mine = ds389_server.subtree()
    ds389_server.ldapadd(_person(f"uid=eve,{mine}", "eve", "eve-password"))
    ds389_server.ldapadd(_person(f"uid=mal,{mine}", "mal", "mal-password"))
    assert ds389_server.ldapsearch(mine, bind=("", "")) == b""
    assert ds389_server.ldapsearch(mine, bind=(f"uid=eve,{mine}", "eve-password")) == b""
    refused = ds389_server.ldapmodify(
        f"dn: uid=mal,{mine}\nchangetype: modify\nreplace: sn\nsn: pwned\n",
        check=False,
        bind=(f"uid=eve,{mine}", "eve-password"),
    )
    assert refused.returncode == 50  # insufficientAccessRights


def test_an_aci_389_cannot_parse_is_refused_with_its_reason(ds389_server: Ds389Server) -> None:
    mine = ds389_server.subtree()
    refused = ds389_server.ldapmodify(
        f"dn: {mine}\nchangetype: modify\nadd: aci\n"
        'aci: (targetattr="*")(version 3.0; acl "oid only"; allow (browse) userdn="ldap:///anyone";)\n',
        check=False,
    )
    assert refused.returncode == 21  # invalidAttributeSyntax
    assert b"ACL Syntax Error" in refused.stderr


def test_the_server_listens_on_the_loopback_only_and_lives_in_its_directory(
    ds389_server: Ds389Server,
) -> None:
    assert ds389_server.url.startswith("ldap://127.0.0.1:")
    dse = (ds389_server.config_dir / "dse.ldif").read_text(encoding="utf-8")
    assert "nsslapd-listenhost: 127.0.0.1" in dse
    assert ds389_server.config_dir.is_relative_to(ds389_server.directory)
    assert f"nsslapd-errorlog: {ds389_server.directory}" in dse


def test_a_server_started_and_stopped_answers_no_more(
    ds389_server: Ds389Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ds389_server only gates the test (skip, or fail on CI, without 389-ds); this one starts its own,
    # as a user who cannot read /etc/dirsrv (root and the dirsrv group only) would: from the defaults.
    monkeypatch.setattr(ds389, "_SYSTEM_CONFIG", tmp_path / "unreadable" / "config")
    monkeypatch.setattr(ds389, "_SYSTEM_SCHEMA", tmp_path / "unreadable" / "schema")
    server = Ds389Server.start(tmp_path / "ds")
    try:
        assert server.port != ds389_server.port
        assert server.ldapsearch(server.suffix, scope="base").startswith(f"dn: {server.suffix}".encode())
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert (server.config_dir / "certmap.conf").read_text(encoding="utf-8") == "certmap default\tdefault\n"
    with pytest.raises(LdapError) as gone:
        server.ldapsearch(server.suffix, scope="base")
    assert gone.value.returncode == 255  # cannot contact the server


def _run_without_389(tmp_path: Path, *, ci: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        "import flext_sdk.testing.ds389 as server\n"
        "server._executable = lambda name: None  # this machine 'has no 389-ds'\n"
        "from flext_sdk.testing.ds389 import ds389_server\n"
    )
    (tmp_path / "test_needs_389.py").write_text("def test_it(ds389_server):\n    pass\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "CI": ci},
    )


def test_without_389_the_fixture_skips_but_fails_on_ci(tmp_path: Path) -> None:
    skipped = _run_without_389(tmp_path, ci="")
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout
    assert "apt-get install 389-ds-base ldap-utils" in skipped.stdout
    failed = _run_without_389(tmp_path, ci="true")
    assert failed.returncode == 1, failed.stdout
    assert "CI is set: the 389-ds tests must run there" in failed.stdout


def test_the_root_password_is_random_and_kept_in_private_files(ds389_server: Ds389Server) -> None:
    assert len(ds389_server.admin_password) >= 24
    assert ds389_server.admin_password not in repr(ds389_server)
    ds389_server.ldapsearch(ds389_server.suffix, "-s", "base")  # binds as the Directory Manager
    private = [ds389_server.directory / "instance.inf", *(ds389_server.directory / "passwords").iterdir()]
    assert len(private) >= 2
    for path in private:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
