"""Issue 15, item 9 (the tap's side): a full sync can tell the target to drop what the source lost.

With ``emit_activate_version_messages``, a stream synced without a bookmark
gives every RECORD the run's table version and sends ``ACTIVATE_VERSION``
after its last record (Singer's protocol for "this version is now the whole
table"); a target that honours it deletes, or marks deleted, the rows of
older versions. An incremental run sends neither.
"""

from __future__ import annotations

from pathlib import Path


def test_a_full_sync_versions_its_records_and_activates_the_version_after_them(
    run_tap, tmp_path: Path
) -> None:
    ldif = tmp_path / "directory.ldif"
    ldif.write_text(
        "dn: uid=ada,dc=x\nobjectClass: person\ncn: Ada\nsn: L\nmodifyTimestamp: 20240101000000Z\n\n"
        "dn: cn=g,dc=x\nobjectClass: groupOfNames\ncn: g\nmember: uid=ada,dc=x\n"
        "modifyTimestamp: 20240101000000Z\n"
    )
    config = {"files": [str(ldif)], "emit_activate_version_messages": True}
    full = run_tap(config)
    assert full.exit_code == 0, full.stderr
    versions = {m["version"] for m in full.messages if m["type"] in ("RECORD", "ACTIVATE_VERSION")}
    assert len(versions) == 1
    (version,) = versions
    assert isinstance(version, int)
    assert version > 1_600_000_000_000  # milliseconds, as Singer SDK writes it
    order = [
        (m["type"], m.get("stream")) for m in full.messages if m["type"] in ("RECORD", "ACTIVATE_VERSION")
    ]
    assert {stream for _, stream in order} == {"users", "groups", "organizational_units", "other", "changes"}
    for stream in ("users", "groups"):
        positions = [i for i, kind in enumerate(order) if kind[1] == stream]
        assert order[positions[-1]] == ("ACTIVATE_VERSION", stream)  # after the stream's last record

    # users and groups have a bookmark now: incremental, no version. The empty streams have none, so
    # they are synced in full again (and activate an empty version).
    incremental = run_tap(config, state=full.state)
    activated = {m["stream"] for m in incremental.of("ACTIVATE_VERSION")}
    assert activated == {"organizational_units", "other", "changes"}
    assert all("version" not in m for m in incremental.of("RECORD"))


def test_without_the_setting_no_version_is_sent(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "directory.ldif"
    ldif.write_text("dn: uid=ada,dc=x\nobjectClass: person\ncn: Ada\nsn: L\n")
    run = run_tap({"files": [str(ldif)]})
    assert run.of("ACTIVATE_VERSION") == []
    assert all("version" not in m for m in run.of("RECORD"))
