"""Issue 15, item 8: a change in the bookmark's own second is not lost.

``modifyTimestamp`` has one-second resolution, so an export can hold an entry
stamped in the very second of the bookmark that the previous run never saw
(changed after that export, within the same second). The tap sends every
record at or after the bookmark (``>=``) and skips those it already sent with
the same content (the state keeps a digest of each record sent at the
bookmark's second).
"""

from __future__ import annotations

import re
from pathlib import Path

from flext_sdk.testing.ldap_server import LdapServer


def _stamps(run, stream: str = "users") -> dict[str, str]:
    return {record["dn"]: record["modify_timestamp"] for record in run.records(stream)}


def test_two_changes_in_one_second_on_a_real_slapd_are_both_loaded(
    run_tap, tmp_path: Path, ldap_server: LdapServer
) -> None:
    before, after = tmp_path / "before.ldif", tmp_path / "after.ldif"
    for _ in range(20):  # until the add, the first export and the modify fall in one second
        base = ldap_server.subtree()
        ldap_server.ldapadd(
            f"dn: uid=ada,{base}\nobjectClass: inetOrgPerson\nuid: ada\ncn: Ada\nsn: Lovelace\n\n"
            f"dn: uid=bob,{base}\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\nsn: Before\n"
        )
        before.write_bytes(ldap_server.slapcat(base))
        ldap_server.ldapmodify(f"dn: uid=bob,{base}\nchangetype: modify\nreplace: sn\nsn: After\n")
        after.write_bytes(ldap_server.slapcat(base))
        stamps = re.findall(rb"^modifyTimestamp: (\S+)$", before.read_bytes() + after.read_bytes(), re.M)
        if len(set(stamps)) == 1:
            break
    else:
        raise AssertionError("could not make two changes within one second in 20 tries")
    first = run_tap({"files": [str(before)]})  # the export taken before the change...
    assert first.exit_code == 0, first.stderr
    bookmark = first.state["bookmarks"]["users"]["replication_key_value"]
    export = tmp_path / "export.ldif"
    export.write_bytes(after.read_bytes())  # ...and the one after it, read by the next run
    changed = run_tap({"files": [str(export)]})
    assert set(_stamps(changed).values()) == {bookmark}  # bob's change carries the bookmark's second

    second = run_tap({"files": [str(export)]}, state=first.state)
    assert second.exit_code == 0, second.stderr
    assert [(r["uid"], r["sn"]) for r in second.records("users")] == [("bob", "After")]
    third = run_tap({"files": [str(export)]}, state=second.state)
    assert third.of("RECORD") == []  # nothing changed since: nothing sent again


def test_an_entry_changed_in_the_bookmarks_second_is_sent_and_unchanged_ones_are_not(
    run_tap, tmp_path: Path
) -> None:
    ldif = tmp_path / "export.ldif"

    def export(bob_sn: str) -> None:
        ldif.write_text(
            "".join(
                f"dn: uid={uid},dc=x\nobjectClass: person\ncn: {uid}\nsn: {sn}\nmodifyTimestamp: {stamp}\n\n"
                for uid, sn, stamp in (
                    ("old", "Old", "20240101000000Z"),
                    ("ada", "Lovelace", "20240102030405Z"),
                    ("bob", bob_sn, "20240102030405Z"),
                )
            )
        )

    export("Before")
    first = run_tap({"files": [str(ldif)]})
    assert len(first.state["bookmarks"]["users"]["seen_at_bookmark"]) == 2
    export("After")
    second = run_tap({"files": [str(ldif)]}, state=first.state)
    assert [r["sn"] for r in second.records("users")] == ["After"]
    assert second.state["bookmarks"]["users"]["replication_key_value"] == "2024-01-02T03:04:05+00:00"
    assert run_tap({"files": [str(ldif)]}, state=second.state).of("RECORD") == []
