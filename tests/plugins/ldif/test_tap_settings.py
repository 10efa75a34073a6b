"""The tap's new settings as a user sets them: binary_attributes, and the streams they add to the catalog."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

TAP = Path(sys.executable).with_name("tap-ldif")


def _discover(tmp_path: Path, config: dict) -> dict[str, dict]:
    (tmp_path / "d.json").write_text(json.dumps(config))
    done = subprocess.run([str(TAP), "--config", str(tmp_path / "d.json"), "--discover"],
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return {entry["tap_stream_id"]: entry for entry in json.loads(done.stdout)["streams"]}


def test_binary_attributes_makes_more_attributes_base64(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "oid.ldif"
    ldif.write_text(
        "dn: uid=ada,dc=x\nobjectClass: orclUser\nobjectClass: person\ncn: Ada\nsn: L\norclGUID: 0A1B\n"
    )
    plain = run_tap({"files": [str(ldif)]}).records("users")[0]
    assert plain["attributes"]["orclguid"] == ["0A1B"]
    binary = run_tap({"files": [str(ldif)], "binary_attributes": ["OrclGuid"]}).records("users")[0]
    assert binary["binary_attributes"] == ["orclguid"]
    assert base64.b64decode(binary["attributes"]["orclguid"][0]) == b"0A1B"


def test_the_catalog_has_changes_by_default_and_group_members_when_asked_for(tmp_path: Path) -> None:
    ldif = tmp_path / "empty.ldif"
    ldif.write_text("")
    default = _discover(tmp_path, {"files": [str(ldif)]})
    assert list(default) == ["users", "groups", "organizational_units", "other", "changes"]
    assert "written_dn" in default["users"]["schema"]["properties"]
    without = _discover(tmp_path, {"files": [str(ldif)], "changes_stream": False})
    assert list(without) == ["users", "groups", "organizational_units", "other"]
    both = _discover(tmp_path, {"files": [str(ldif)], "group_members_stream": True})
    assert list(both)[4:] == ["changes", "group_members"]
    assert both["changes"]["key_properties"] == ["dn", "sequence"]
    assert both["group_members"]["key_properties"] == ["group_dn", "attribute", "member_dn"]
    assert both["group_members"]["replication_key"] == "modify_timestamp"


def test_about_lists_the_settings(tmp_path: Path) -> None:
    about = [str(TAP), "--about", "--format", "json"]
    done = subprocess.run(about, capture_output=True, text=True, check=True, timeout=120)
    settings = json.loads(done.stdout)["settings"]["properties"]
    names = ("binary_attributes", "normalize_dn", "changes_stream", "apply_changes", "group_members_stream",
             "emit_activate_version_messages", "workers")  # fmt: skip
    for name in names:
        assert settings[name]["description"], name
