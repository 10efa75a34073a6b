"""Issue 15, item 6: with ``normalize_dn`` (the default), one entry has one key however its DN is written.

slapd decides which DNs name the same entry (adding the second spelling is
"Already exists"); the tap's ``dn`` must then be equal for both, and be a DN
slapd finds that entry by. The DN as written stays in ``written_dn``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flext_plugin_ldif.dn import DnNormalizer
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_sdk.testing.ldap_server import LdapServer

SPELLINGS = [
    ("cn=Smith\\, John,{base}", "cn=Smith\\2C John,{base}"),
    ("cn=q3,{base}", "cn=q3 , {base}"),
    ("cn=Ada  Lovelace,{base}", "CN=ada lovelace,{base}"),
    ("commonName=Grace,{base}", "cn=GRACE,{base}"),
    ("cn=caf\\C3\\A9+uid=c1,{base}", "UID=c1+cn=CAFÉ,{base}"),
]


def _person(dn: str) -> str:
    return f"dn: {dn}\nobjectClass: inetOrgPerson\ncn: x\nsn: x\n\n"


def test_spellings_slapd_takes_for_one_entry_get_one_dn(
    run_tap, tmp_path: Path, ldap_server: LdapServer
) -> None:
    base = ldap_server.subtree()
    ldif = tmp_path / "spellings.ldif"
    ldif.write_text("".join(_person(first.format(base=base)) + _person(second.format(base=base))
                            for first, second in SPELLINGS))  # fmt: skip
    for first, second in SPELLINGS:
        ldap_server.ldapadd(_person(first.format(base=base)))
        again = ldap_server.run_client("ldapadd", stdin=_person(second.format(base=base)))
        assert again.returncode == 68, (second, again.stderr)  # alreadyExists: the same entry for slapd

    run = run_tap({"files": [str(ldif)], "normalize_dn": True})
    assert run.exit_code == 0, run.stderr
    records = run.records("users")
    assert [r["written_dn"] for r in records] == [s.format(base=base) for pair in SPELLINGS for s in pair]
    keys = [r["dn"] for r in records]
    assert keys[0::2] == keys[1::2]  # each pair: one key
    assert len(set(keys)) == len(SPELLINGS)
    assert keys[0] == f"cn=smith\\, john,{base}"
    for key in keys[0::2]:  # the key is a DN that names the entry for slapd
        found = ldap_server.ldapsearch(key, "-s", "base", "(objectClass=*)", "1.1").decode()
        assert found.startswith(("dn: ", "dn:: ")), key
    assert {r["parent_dn"] for r in records} == {base}


def test_by_default_the_key_is_the_normal_form_and_the_dn_as_written_is_kept(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "spellings.ldif"
    ldif.write_text(_person("cn=q3 ,dc=example,dc=com") + _person("CN=Smith\\2C John , dc=Example,dc=com"))
    first, second = run_tap({"files": [str(ldif)]}).records("users")
    assert (first["dn"], first["written_dn"]) == ("cn=q3,dc=example,dc=com", "cn=q3 ,dc=example,dc=com")
    assert (second["dn"], second["written_dn"]) == (
        "cn=smith\\, john,dc=example,dc=com",
        "CN=Smith\\2C John , dc=Example,dc=com",
    )


def test_without_normalize_dn_the_key_is_the_dn_as_written(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "spellings.ldif"
    ldif.write_text(_person("cn=q3 ,dc=example,dc=com"))
    (record,) = run_tap({"files": [str(ldif)], "normalize_dn": False}).records("users")
    assert (record["dn"], record["written_dn"]) == ("cn=q3 ,dc=example,dc=com", "cn=q3 ,dc=example,dc=com")


def test_one_row_per_entry_in_target_sqlite(tmp_path: Path) -> None:
    ldif = tmp_path / "spellings.ldif"
    ldif.write_text(
        _person("cn=Smith\\, John,dc=example,dc=com") + _person("CN=smith\\2C john , dc=Example,dc=com")
    )
    (tmp_path / "tap.json").write_text(f'{{"files": ["{ldif}"], "normalize_dn": true}}')
    (tmp_path / "target.json").write_text(f'{{"database": "{tmp_path / "out.db"}"}}')
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        f"{bin_dir / 'tap-ldif'} --config tap.json | {bin_dir / 'target-sqlite'} --config target.json",
        shell=True, check=True, cwd=tmp_path, capture_output=True, timeout=120,
    )  # fmt: skip
    import sqlite3

    with sqlite3.connect(tmp_path / "out.db") as connection:
        rows = connection.execute("select dn, written_dn from users").fetchall()
    connection.close()
    assert rows == [("cn=smith\\, john,dc=example,dc=com", "CN=smith\\2C john , dc=Example,dc=com")]


_DN_PARTS = st.sampled_from(
    ["cn", "CN", " uid ", "commonName", "2.5.4.3", "memberUid", "x-Unknown", "1bad", "", "=", "+", ",", " ",
     "  ", "#", "#0A", "a", "Ada", "LOVELACE", "é", "<", ";", ">", "\t", "\n", "o=x"]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(_DN_PARTS, min_size=1, max_size=8).map("".join))
def test_the_quick_rdn_path_is_the_full_parse(dn: str) -> None:
    """Every DN without escapes or quotes: the string-method path agrees with the parser, or both refuse."""
    quick, parsed = DnNormalizer(), DnNormalizer()
    try:
        expected = parsed._parse(dn) if dn.strip(" ") else ""
    except ValueError:
        with pytest.raises(ValueError, match="not a distinguished name"):
            quick(dn)
        return
    assert quick(dn) == expected
    assert quick(dn) == expected  # again, from the caches
