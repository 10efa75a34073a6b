"""Issue 15, item 3: a run that fails on its input writes no record, and ldapsearch's trailer is read.

The whole input is parsed before the first RECORD: a malformed record at the
end of a file, or an ``ldapsearch`` export whose search did not succeed,
stops the run with nothing loaded (before, the users stream was written and
committed, and entries held back for later streams were lost).
"""

from __future__ import annotations

from pathlib import Path

from flext_sdk.testing.ldap_server import LdapServer


def _people(count: int, base: str = "dc=example,dc=com") -> str:
    return "".join(
        f"dn: uid=u{n},{base}\nobjectClass: inetOrgPerson\nuid: u{n}\ncn: U {n}\nsn: U\n\n"
        for n in range(count)
    )


def test_a_bad_record_at_the_end_stops_the_run_before_any_record(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "bad.ldif"
    groups = (
        "dn: cn=g,dc=example,dc=com\nobjectClass: groupOfNames\ncn: g\nmember: uid=u0,dc=example,dc=com\n\n"
    )
    ldif.write_text(_people(50) + groups + "dn: cn=broken,dc=example,dc=com\ncn broken\n")
    run = run_tap({"files": [str(ldif)]})
    assert run.exit_code == 1
    assert run.errors() == [
        f"error: {ldif}:307: expected 'attribute: value', found 'cn broken' (no ':'); a value continued "
        "on the next line must start that line with one space"
    ]
    assert run.of("RECORD") == []
    assert all("replication_key_value" not in str(state) for state in run.of("STATE"))


def test_default_ldapsearch_output_loads_every_entry_and_logs_the_result(
    run_tap, tmp_path: Path, ldap_server: LdapServer
) -> None:
    base = ldap_server.subtree()
    ldap_server.ldapadd(
        _people(5, base) + f"dn: cn=g,{base}\nobjectClass: groupOfNames\ncn: g\nmember: uid=u0,{base}\n"
    )
    ldif = tmp_path / "search.ldif"
    ldif.write_bytes(
        ldap_server.ldapsearch(base, "(objectClass=*)", ldif_flags="")
    )  # no -L: with the trailer
    assert b"\nsearch: 2\nresult: 0 Success\n" in ldif.read_bytes()
    run = run_tap({"files": [str(ldif)]})
    assert run.exit_code == 0, run.stderr
    assert run.counts() == {"users": 5, "groups": 1, "organizational_units": 1}
    assert "ldapsearch trailer at line" in run.stderr
    assert "result 0 (Success)" in run.stderr


def test_a_size_limited_ldapsearch_export_fails_the_run_with_nothing_loaded(
    run_tap, tmp_path: Path, ldap_server: LdapServer
) -> None:
    base = ldap_server.subtree()
    ldap_server.ldapadd(_people(5, base))
    done = ldap_server.run_client("ldapsearch", "-b", base, "-z", "3", "(objectClass=inetOrgPerson)")
    assert done.returncode == 4  # sizeLimitExceeded
    ldif = tmp_path / "partial.ldif"
    ldif.write_bytes(done.stdout)
    run = run_tap({"files": [str(ldif)]})
    assert run.exit_code == 1
    (error,) = run.errors()
    assert error.startswith(f"error: {ldif}:")
    assert "ended with 'result: 4 Size limit exceeded'" in error
    assert run.of("RECORD") == []
