"""Issue 15, item 10: the members of a huge group stream as (group, member) records.

With ``group_members_stream`` the ``group_members`` stream has one record per
``member``/``uniqueMember`` value, and the group's own record carries none of
them: one group of 100,000 members is 100,000 small records, not one record
of megabytes. The tap's peak memory is bounded by the largest *entry* it
parses (docs/plugins/ldif.md gives the measured bound), not by the output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TAP = Path(sys.executable).with_name("tap-ldif")

MEMBERS = 100_000


def _huge_group(path: Path, members: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("dn: dc=example,dc=com\nobjectClass: domain\ndc: example\n\n")
        out.write("dn: cn=everyone,dc=example,dc=com\nobjectClass: groupOfNames\ncn: everyone\n")
        out.write("modifyTimestamp: 20240101000000Z\n")
        out.writelines(f"member: uid=user{n:07d},ou=people,dc=example,dc=com\n" for n in range(members))
        out.write("uniqueMember: uid=ada,dc=example,dc=com#'0101'B\n\n")


def _peak_mib(config: Path) -> tuple[float, int, dict]:
    """Peak RSS of one tap run, its number of RECORD lines, and the group's record."""
    with subprocess.Popen(
        [str(TAP), "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as tap:
        assert tap.stdout is not None
        records, group = 0, {}
        for line in tap.stdout:
            if line.startswith(b'{"type":"RECORD"'):
                records += 1
                if b'"stream":"groups"' in line[:60]:
                    group = json.loads(line)["record"]
        _, status, usage = os.wait4(tap.pid, 0)
        tap.returncode = os.waitstatus_to_exitcode(status)
    assert tap.returncode == 0
    return usage.ru_maxrss / 1024, records, group


def test_a_group_of_100000_members_is_streamed_member_by_member(tmp_path: Path) -> None:
    ldif = tmp_path / "huge.ldif"
    _huge_group(ldif, MEMBERS)
    size_mib = ldif.stat().st_size / 2**20
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"files": [str(ldif)], "group_members_stream": True}))
    peak, records, group = _peak_mib(config)
    assert records == 2 + MEMBERS + 1  # the domain, the group, then every member value
    assert group["members"] is None
    assert "member" not in group["attributes"]
    assert len(json.dumps(group)) < 1000
    small = tmp_path / "small.ldif"
    _huge_group(small, 10)
    config.write_text(json.dumps({"files": [str(small)], "group_members_stream": True}))
    baseline, _, _ = _peak_mib(config)
    # The documented bound: about 6 times the largest entry's size in the file, above the baseline.
    assert peak - baseline < 7 * size_mib, (peak, baseline, size_mib)


def test_group_members_records(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "groups.ldif"
    _huge_group(ldif, 2)
    run = run_tap({"files": [str(ldif)], "group_members_stream": True, "normalize_dn": True})
    assert run.exit_code == 0, run.stderr
    members = run.records("group_members")
    assert [(m["group_dn"], m["member_dn"], m["attribute"], m["written_member"]) for m in members] == [
        ("cn=everyone,dc=example,dc=com", "uid=user0000000,ou=people,dc=example,dc=com", "member",
         "uid=user0000000,ou=people,dc=example,dc=com"),
        ("cn=everyone,dc=example,dc=com", "uid=user0000001,ou=people,dc=example,dc=com", "member",
         "uid=user0000001,ou=people,dc=example,dc=com"),
        ("cn=everyone,dc=example,dc=com", "uid=ada,dc=example,dc=com", "uniquemember",
         "uid=ada,dc=example,dc=com#'0101'B"),
    ]  # fmt: skip
    assert {m["modify_timestamp"] for m in run.records("group_members")} == {"2024-01-01T00:00:00+00:00"}
    without = run_tap({"files": [str(ldif)]})
    assert "group_members" not in without.counts()
    (group,) = without.records("groups")
    assert len(group["members"]) == 3
    assert len(group["attributes"]["member"]) == 2
