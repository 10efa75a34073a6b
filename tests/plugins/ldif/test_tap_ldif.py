"""``tap-ldif`` run as users and Meltano run it: a real subprocess, Singer messages on stdout."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flext_plugin_ldif.sample import write_directory

TAP = Path(sys.executable).with_name("tap-ldif")
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "directory" / "data" / "directory.ldif"


def discover(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    run = subprocess.run(
        [str(TAP), "--config", str(_write(tmp_path / "d.json", config)), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(run.stdout)


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def bookmark(stream: str, value: str) -> dict[str, Any]:
    return {"bookmarks": {stream: {"replication_key": "modify_timestamp", "replication_key_value": value}}}


def error_lines(run: Any) -> list[str]:
    return list(run.errors())


@pytest.fixture
def example(tmp_path: Path) -> dict[str, Any]:
    return {"files": [str(EXAMPLE)]}


def test_about_lists_the_settings_and_capabilities() -> None:
    done = subprocess.run(
        [str(TAP), "--about", "--format", "json"], capture_output=True, text=True, check=True
    )
    about = json.loads(done.stdout)
    assert about["name"] == "tap-ldif"
    assert {"catalog", "discover", "state", "about"} <= set(about["capabilities"])
    assert {"files", "encoding", "base_dn", "allow_url_values", "url_values_dir"} <= set(
        about["settings"]["properties"]
    )
    assert about["settings"]["required"] == ["files"]


def test_discovery_describes_the_entry_streams_and_changes(tmp_path: Path, example: dict[str, Any]) -> None:
    catalog = discover(tmp_path, example)
    streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert list(streams) == ["users", "groups", "organizational_units", "other", "changes"]
    for name, entry in streams.items():
        keys = ["dn", "sequence"] if name == "changes" else ["dn"]
        assert entry["key_properties"] == keys
        assert entry["replication_key"] == "modify_timestamp"
        assert entry["replication_method"] == "INCREMENTAL"
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]
        assert root["valid-replication-keys"] == ["modify_timestamp"]
        assert root["table-key-properties"] == keys
    users = streams["users"]["schema"]["properties"]
    assert {"uid", "cn", "sn", "given_name", "mail", "display_name", "attributes"} <= set(users)
    assert users["modify_timestamp"]["format"] == "date-time"
    assert "members" in streams["groups"]["schema"]["properties"]
    assert {"ou", "description"} <= set(streams["organizational_units"]["schema"]["properties"])


def test_the_example_directory_is_read_into_its_streams(
    run_tap, tmp_path: Path, example: dict[str, Any]
) -> None:
    run = run_tap(example)
    assert run.exit_code == 0, run.stderr
    assert run.counts() == {"users": 30, "groups": 8, "organizational_units": 6, "other": 1}
    # Every stream's SCHEMA comes before its records, and every record matches its schema.
    schemas: dict[str, dict[str, Any]] = {}
    for message in run.messages:
        if message["type"] == "SCHEMA":
            keys = ["dn", "sequence"] if message["stream"] == "changes" else ["dn"]
            assert message["key_properties"] == keys
            assert message["bookmark_properties"] == ["modify_timestamp"]
            schemas[message["stream"]] = message["schema"]
        elif message["type"] == "RECORD":
            jsonschema.validate(message["record"], schemas[message["stream"]])
    users = {record["uid"]: record for record in run.records("users")}
    assert len(users) == 30
    lukasz = users["lwasik000005"]
    assert lukasz["cn"] == "Łukasz Wąsik"
    assert lukasz["given_name"] == "Łukasz"
    # The key and the parent are in the DN normal form (types and values in lower case); the DN as
    # written is kept.
    assert lukasz["dn"] == "uid=lwasik000005,ou=sales,ou=people,dc=example,dc=com"
    assert lukasz["written_dn"] == "uid=lwasik000005,ou=Sales,ou=people,dc=example,dc=com"
    assert lukasz["parent_dn"] == "ou=sales,ou=people,dc=example,dc=com"
    # jpegPhoto and userPassword (an Octet String) are binary by their syntax: base64.
    assert lukasz["binary_attributes"] == ["jpegphoto", "userpassword"]
    assert base64.b64decode(lukasz["attributes"]["userpassword"][0]).startswith(b"{SSHA}")
    assert lukasz["change_type"] == "add"
    assert lukasz["modify_timestamp"] == "2023-11-16T04:26:04+00:00"
    assert "orcluser" in {name.lower() for name in lukasz["object_classes"]}
    folded = [r for r in users.values() if "description" in r["attributes"]]
    assert folded
    assert all("see ticket SEC-" in r["attributes"]["description"][0] for r in folded)
    admins = next(g for g in run.records("groups") if g["cn"] == "admins")
    assert admins["members"]
    assert set(admins["members"]) <= {record["dn"] for record in users.values()}
    people = next(o for o in run.records("organizational_units") if o["ou"] == "people")
    assert people["description"] == "People of Example Corp."
    assert run.records("other")[0]["dn"] == "dc=example,dc=com"
    assert run.records("other")[0]["parent_dn"] == "dc=com"


def test_the_state_bookmarks_the_newest_entry_and_a_second_run_emits_nothing(
    run_tap, tmp_path: Path, example: dict[str, Any]
) -> None:
    first = run_tap(example)
    bookmarks = first.state["bookmarks"]
    for stream in ("users", "groups", "organizational_units", "other"):
        newest = max(record["modify_timestamp"] for record in first.records(stream))
        assert bookmarks[stream]["replication_key"] == "modify_timestamp"
        assert bookmarks[stream]["replication_key_value"] == newest
        # One digest per record sent at the bookmark's second: the next run sends them only if changed.
        at_newest = [r for r in first.records(stream) if r["modify_timestamp"] == newest]
        assert len(bookmarks[stream]["seen_at_bookmark"]) == len(at_newest)
    second = run_tap(example, state=first.state)
    assert second.exit_code == 0, second.stderr
    assert second.of("RECORD") == []
    assert second.state["bookmarks"] == bookmarks


def test_entries_at_or_after_the_bookmark_are_emitted(
    run_tap, tmp_path: Path, example: dict[str, Any]
) -> None:
    users = run_tap(example).records("users")
    stamps = sorted(record["modify_timestamp"] for record in users)
    middle = stamps[len(stamps) // 2]
    # The bookmark in another ISO 8601 spelling of the same instant: compared as times, not strings.
    spelled = middle.replace("+00:00", "Z")
    state = {
        "bookmarks": {"users": {"replication_key": "modify_timestamp", "replication_key_value": spelled}}
    }
    run = run_tap(example, state=state)
    emitted = sorted(record["modify_timestamp"] for record in run.records("users"))
    # >=: the bookmark's own second again (this state has no digests of what was sent at it).
    assert emitted == [stamp for stamp in stamps if stamp >= middle]
    assert run.counts()["groups"] == 8  # the other streams had no bookmark
    assert run.state["bookmarks"]["users"]["replication_key_value"] == stamps[-1]


def test_entries_without_modify_timestamp_use_the_file_time(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "plain.ldif"
    ldif.write_text(
        "dn: uid=ada,dc=x\nobjectClass: inetOrgPerson\nuid: ada\ncn: Ada\nsn: L\n\n"
        "dn: uid=bob,dc=x\nobjectClass: person\ncn: Bob\nsn: B\nmodifyTimestamp: 20240102030405.25-0130\n"
    )
    os.utime(ldif, (1_700_000_000.5, 1_700_000_000.5))
    config = {"files": [str(ldif)]}
    run = run_tap(config)
    stamps = {record["cn"]: record["modify_timestamp"] for record in run.records("users")}
    assert stamps == {"Ada": "2023-11-14T22:13:20.500000+00:00", "Bob": "2024-01-02T04:34:05.250000+00:00"}
    again = run_tap(config, state=run.state)
    assert again.of("RECORD") == []
    os.utime(ldif, (1_800_000_000, 1_800_000_000))  # the file changed: Ada is newer now, Bob is not
    touched = run_tap(config, state=run.state)
    assert [record["cn"] for record in touched.records()] == ["Ada"]


def test_a_deselected_stream_and_property_are_left_out(
    run_tap, tmp_path: Path, example: dict[str, Any]
) -> None:
    catalog = discover(tmp_path, example)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "groups" and item["breadcrumb"] == []:
                item["metadata"]["selected"] = False
            elif entry["tap_stream_id"] != "groups" and item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
            if entry["tap_stream_id"] == "users" and item["breadcrumb"] == ["properties", "attributes"]:
                item["metadata"]["selected"] = False
    run = run_tap(example, catalog=catalog)
    assert run.exit_code == 0, run.stderr
    assert run.counts() == {"users": 30, "organizational_units": 6, "other": 1}
    assert "groups" not in {message["stream"] for message in run.of("SCHEMA")}
    assert all("attributes" not in record for record in run.records("users"))
    assert all("uid" in record for record in run.records("users"))
    assert all("attributes" in record for record in run.records("organizational_units"))


def test_one_stream_alone_gets_the_same_records_as_with_all_streams(run_tap, tmp_path: Path) -> None:
    """The first stream synced spools the others' records; alone, each stream reads the files itself."""
    ldif = tmp_path / "d.ldif"
    write_directory(ldif, users=200, groups=20, ous=5, seed=11)
    config = {"files": [str(ldif)]}
    together = run_tap(config)
    catalog = discover(tmp_path, config)
    for stream in ("groups", "organizational_units", "other", "users"):
        for entry in catalog["streams"]:
            root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
            root["metadata"]["selected"] = entry["tap_stream_id"] == stream
        alone = run_tap(config, catalog=catalog)
        assert alone.records(stream) == together.records(stream)
        assert set(alone.counts()) == {stream}


def test_globs_several_files_and_base_dn(run_tap, tmp_path: Path) -> None:
    (tmp_path / "dumps").mkdir()
    write_directory(tmp_path / "dumps" / "a.ldif", users=10, groups=2, ous=2, seed=1)
    (tmp_path / "dumps" / "b.ldif").write_text(
        "dn: uid=zed,ou=Other,dc=elsewhere,dc=org\nobjectClass: inetOrgPerson\nuid: zed\ncn: Zed\nsn: Z\n"
    )
    run = run_tap({"files": [str(tmp_path / "dumps" / "*.ldif")]})
    assert run.counts()["users"] == 11
    scoped = run_tap({"files": ["dumps/*.ldif"], "base_dn": "OU=People, DC=Example,dc=com"})
    assert scoped.exit_code == 0, scoped.stderr
    assert scoped.counts() == {"users": 10, "organizational_units": 3}
    assert all(r["dn"].lower().endswith("ou=people,dc=example,dc=com") for r in scoped.records())


CHANGES_LDIF = (
    "version: 1\n\n"
    "dn: uid=ada,ou=people,dc=x\nchangetype: add\nobjectClass: inetOrgPerson\nuid: ada\ncn: Ada\nsn: L\n"
    "modifyTimestamp: 20240101000000Z\n\n"
    "dn: uid=ada,ou=people,dc=x\nchangetype: modify\nreplace: mail\nmail: ada@x\n-\n"
    "replace: modifyTimestamp\nmodifyTimestamp: 20240102000000Z\n-\n\n"
    "dn: uid=ada,ou=people,dc=x\nchangetype: modrdn\nnewrdn: uid=ada2\ndeleteoldrdn: 1\n\n"
    "dn: cn=old,ou=groups,dc=x\nchangetype: delete\n"
)


def test_by_default_change_records_are_events_of_the_changes_stream(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "changes.ldif"
    ldif.write_text(CHANGES_LDIF)
    run = run_tap({"files": [str(ldif)]})
    assert run.exit_code == 0, run.stderr
    assert run.counts() == {"changes": 4}  # nothing in the entry streams
    changes = run.records("changes")
    assert [(r["sequence"], r["change_type"], r["dn"]) for r in changes] == [
        (1, "add", "uid=ada,ou=people,dc=x"),
        (2, "modify", "uid=ada,ou=people,dc=x"),
        (3, "modrdn", "uid=ada,ou=people,dc=x"),
        (4, "delete", "cn=old,ou=groups,dc=x"),
    ]
    assert [r["line"] for r in changes] == [3, 11, 20, 25]


def test_without_changes_stream_change_records_go_to_the_entry_streams(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "changes.ldif"
    ldif.write_text(CHANGES_LDIF)
    run = run_tap({"files": [str(ldif)], "changes_stream": False})  # into the entry streams, as before
    assert run.exit_code == 0, run.stderr
    assert [(r["change_type"], r["dn"]) for r in run.records("users")] == [("add", "uid=ada,ou=people,dc=x")]
    other = run.records("other")
    assert [r["change_type"] for r in other] == ["modify", "modrdn", "delete"]
    modify, modrdn, _ = other
    assert modify["modifications"][0] == {
        "operation": "replace",
        "attribute": "mail",
        "values": ["ada@x"],
        "binary": False,
    }
    assert modify["modify_timestamp"] == "2024-01-02T00:00:00+00:00"
    assert (modrdn["new_rdn"], modrdn["delete_old_rdn"], modrdn["new_superior"]) == ("uid=ada2", True, None)


def test_a_malformed_file_ends_the_tap_with_one_error_line(run_tap, tmp_path: Path) -> None:
    ldif = tmp_path / "broken.ldif"
    ldif.write_text("dn: uid=a,dc=x\nobjectClass: person\ncn: a\n\ndn: uid=b,dc=x\nobjectClass person\n")
    run = run_tap({"files": [str(ldif)]})
    assert run.exit_code != 0
    assert "Traceback" not in run.stderr
    lines = error_lines(run)
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"error: {ldif}:6: expected 'attribute: value'")
    # No STATE message claims the entries were read: the bookmark did not advance.
    assert all("replication_key_value" not in json.dumps(m) for m in run.of("STATE"))


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"files": ["missing.ldif"]}, "missing.ldif: no such file"),
        ({"files": ["nothing/*.ldif"]}, "nothing/*.ldif: this pattern matches no file"),
        ({"files": ["x.ldif"], "encoding": "klingon"}, "unknown encoding 'klingon'"),
    ],
)
def test_unreadable_input_is_one_error_line(
    run_tap, tmp_path: Path, config: dict[str, Any], words: str
) -> None:
    (tmp_path / "x.ldif").write_text("dn: cn=x\ncn: x\n")
    run = run_tap(config)
    assert run.exit_code != 0
    assert "Traceback" not in run.stderr
    assert len(error_lines(run)) == 1, run.stderr
    assert words in error_lines(run)[0]


def test_a_bad_bookmark_is_one_error_line(run_tap, tmp_path: Path, example: dict[str, Any]) -> None:
    state = {
        "bookmarks": {"users": {"replication_key": "modify_timestamp", "replication_key_value": "yesterday"}}
    }
    run = run_tap(example, state=state)
    assert run.exit_code != 0
    assert "Traceback" not in run.stderr
    assert error_lines(run) == [
        "error: --state: the bookmark of stream 'users' ('yesterday') is not an ISO 8601 date-time; "
        "fix or remove it from the state"
    ]


def test_the_config_must_name_files(run_tap, tmp_path: Path) -> None:
    run = run_tap({})
    assert run.exit_code != 0
    assert "files" in run.stderr
