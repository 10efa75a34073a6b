"""The fast path (spooled RECORD lines copied to stdout) and Singer SDK's record by record agree.

A stream takes the fast path unless something needs Singer SDK per record: a
deselected property, stream maps, flattening, batches. Both give the same
records, bookmarks and digests; these tests run the same file both ways.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flext_plugin_ldif.sample import write_directory

TAP = Path(sys.executable).with_name("tap-ldif")


def _catalog(tmp_path: Path, config: dict) -> dict:
    (tmp_path / "d.json").write_text(json.dumps(config))
    done = subprocess.run([str(TAP), "--config", str(tmp_path / "d.json"), "--discover"],
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return json.loads(done.stdout)


def test_a_deselected_property_takes_singer_sdks_path_with_the_same_records_and_state(
    run_tap, tmp_path: Path
) -> None:
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=60, groups=5, ous=3)
    config = {"files": [str(ldif)]}
    fast = run_tap(config)
    catalog = _catalog(tmp_path, config)
    users = next(entry for entry in catalog["streams"] if entry["tap_stream_id"] == "users")
    for metadata in users["metadata"]:
        if metadata["breadcrumb"] == ["properties", "display_name"]:
            metadata["metadata"]["selected"] = False
    slow = run_tap(config, catalog=catalog)
    assert slow.exit_code == 0, slow.stderr
    expected = [{k: v for k, v in record.items() if k != "display_name"} for record in fast.records("users")]
    assert slow.records("users") == expected
    assert slow.records("groups") == fast.records("groups")
    assert slow.state == fast.state
    again = run_tap(config, state=slow.state, catalog=catalog)
    assert again.of("RECORD") == []


def test_stream_maps_take_singer_sdks_path(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=10, groups=2, ous=1)
    maps = {"users": {"mail_domain": "mail.split('@')[-1]", "attributes": "__NULL__"}, "other": None}
    run = run_tap({"files": [str(ldif)], "stream_maps": maps})
    assert run.exit_code == 0, run.stderr
    assert {record["mail_domain"] for record in run.records("users")} == {"example.com"}
    assert all("attributes" not in record for record in run.records("users"))
    assert "other" not in run.counts()
