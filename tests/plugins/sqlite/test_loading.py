"""target-sqlite as a subprocess: what lands in the tables, and how."""

from __future__ import annotations

import json
import subprocess

PEOPLE = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "score": {"type": ["null", "number"]},
    "active": {"type": ["null", "boolean"]},
    "born": {"type": ["null", "string"], "format": "date-time"},
}


def test_rows_and_column_types_land(target):
    run = target.run(
        [
            target.schema("people", PEOPLE),
            target.record(
                "people",
                {"id": 1, "name": "Ada", "score": 9.5, "active": True, "born": "1815-12-10T00:00:00Z"},
            ),
            target.record("people", {"id": 2, "name": "Alan", "score": 7, "active": False}),
            target.state({"bookmarks": {"people": 2}}),
        ]
    )
    assert run.returncode == 0, run.stderr
    assert run.states == [{"bookmarks": {"people": 2}}]
    assert target.columns("people") == {
        "id": "INT",
        "name": "TEXT",
        "score": "REAL",
        "active": "INTEGER",
        "born": "TEXT",
    }
    assert target.rows("people", "id") == [
        {"id": 1, "name": "Ada", "score": 9.5, "active": 1, "born": "1815-12-10T00:00:00Z"},
        {"id": 2, "name": "Alan", "score": 7.0, "active": 0, "born": None},
    ]
    connection = target.connect()
    types = connection.execute(
        "SELECT typeof(id), typeof(score), typeof(active) FROM people WHERE id = 2"
    ).fetchone()
    assert tuple(types) == ("integer", "real", "integer")
    assert "STRICT" in connection.execute("SELECT sql FROM sqlite_schema WHERE name = 'people'").fetchone()[0]


def test_the_same_key_twice_is_one_row_with_the_latest_values(target):
    messages = [
        target.schema("people", PEOPLE),
        target.record("people", {"id": 1, "name": "first", "score": 1.0}),
        target.record("people", {"id": 2, "name": "other"}),
        target.record("people", {"id": 1, "name": "second", "active": True}),  # same batch
    ]
    assert target.run(messages, batch_size_rows=2).returncode == 0
    assert target.rows("people", "id") == [
        {
            "id": 1,
            "name": "second",
            "score": None,
            "active": 1,
            "born": None,
        },  # absent properties become NULL
        {"id": 2, "name": "other", "score": None, "active": None, "born": None},
    ]
    again = [target.schema("people", PEOPLE), target.record("people", {"id": 2, "name": "renamed"})]
    assert target.run(again).returncode == 0  # a later run
    assert [(r["id"], r["name"]) for r in target.rows("people", "id")] == [(1, "second"), (2, "renamed")]


def test_composite_keys_and_a_key_only_stream(target):
    messages = [
        target.schema(
            "members", {"group": {"type": "string"}, "user": {"type": "string"}}, keys=["group", "user"]
        ),
        target.record("members", {"group": "admins", "user": "ada"}),
        target.record("members", {"group": "admins", "user": "ada"}),
        target.record("members", {"group": "users", "user": "ada"}),
    ]
    assert target.run(messages).returncode == 0
    assert target.rows("members", '"group", user') == [
        {"group": "admins", "user": "ada"},
        {"group": "users", "user": "ada"},
    ]


def test_streams_without_keys_append(target):
    events = {"kind": {"type": "string"}, "at": {"type": "integer"}}
    messages = [
        target.schema("events", events, keys=None),
        target.record("events", {"kind": "login", "at": 1}),
        target.record("events", {"kind": "login", "at": 1}),
    ]
    assert target.run(messages).returncode == 0
    assert (
        target.run(
            [target.schema("events", events, keys=[]), target.record("events", {"kind": "x"})]
        ).returncode
        == 0
    )
    assert target.rows("events") == [
        {"kind": "login", "at": 1},
        {"kind": "login", "at": 1},
        {"kind": "x", "at": None},
    ]


def test_a_later_schema_adds_columns_and_drops_none(target):
    first = {"id": {"type": "integer"}, "name": {"type": "string"}, "old": {"type": "string"}}
    second = {"id": {"type": "integer"}, "name": {"type": "string"}, "mail": {"type": ["string", "null"]}}
    messages = [
        target.schema("people", first),
        target.record("people", {"id": 1, "name": "Ada", "old": "kept"}),
        target.schema("people", second),
        target.record("people", {"id": 2, "name": "Alan", "mail": "alan@example.org"}),
        target.record("people", {"id": 1, "name": "Ada L.", "mail": "ada@example.org"}),
    ]
    run = target.run(messages)
    assert run.returncode == 0, run.stderr
    assert list(target.columns("people")) == ["id", "name", "old", "mail"]
    assert target.rows("people", "id") == [
        {
            "id": 1,
            "name": "Ada L.",
            "old": "kept",
            "mail": "ada@example.org",
        },  # old not in the new schema: kept
        {"id": 2, "name": "Alan", "old": None, "mail": "alan@example.org"},
    ]
    third = {**second, "phone": {"type": "string"}}
    assert (
        target.run(
            [target.schema("people", third), target.record("people", {"id": 3, "phone": "1"})]
        ).returncode
        == 0
    )
    assert list(target.columns("people")) == ["id", "name", "old", "mail", "phone"]


def test_records_sent_under_an_old_schema_are_written_before_the_new_ones(target):
    """A schema change must not let newer records for a key be overwritten by older, still pending ones."""
    old = {"id": {"type": "integer"}, "v": {"type": "string"}}
    new = {**old, "extra": {"type": "string"}}
    messages = [
        target.schema("s", old),
        target.record("s", {"id": 1, "v": "old"}),
        target.schema("s", new),
        *(target.record("s", {"id": i, "v": "new"}) for i in range(1, 4)),  # fills a batch of 3
        target.record("s", {"id": 99, "v": "tail"}),
    ]
    assert target.run(messages, batch_size_rows=3).returncode == 0
    assert {r["id"]: r["v"] for r in target.rows("s")} == {1: "new", 2: "new", 3: "new", 99: "tail"}


def test_objects_and_arrays_are_stored_as_json_text(target):
    properties = {
        "id": {"type": "integer"},
        "address": {"type": ["null", "object"], "properties": {"city": {"type": "string"}}},
        "mail": {"type": "array", "items": {"type": "string"}},
        "either": {"anyOf": [{"type": "string"}, {"type": "object"}]},
        "anything": {},
    }
    nested = {"city": "Lisboa", "geo": [38.7, -9.1], "tags": {"ü": '"quoted"'}}
    messages = [
        target.schema("people", properties),
        target.record(
            "people", {"id": 1, "address": nested, "mail": ["a@x", "b@x"], "either": "s", "anything": 5}
        ),
        target.record("people", {"id": 2, "address": None, "mail": [], "either": {"k": None}}),
    ]
    assert target.run(messages).returncode == 0
    assert set(target.columns("people").values()) == {"INT", "TEXT"}
    first, second = target.rows("people", "id")
    assert json.loads(first["address"]) == nested
    assert (
        first["address"] == '{"city":"Lisboa","geo":[38.7,-9.1],"tags":{"ü":"\\"quoted\\""}}'
    )  # compact, UTF-8
    assert json.loads(first["mail"]) == ["a@x", "b@x"]
    assert (first["either"], first["anything"]) == ('"s"', "5")
    assert (second["address"], second["mail"], second["either"], second["anything"]) == (
        None,
        "[]",
        '{"k":null}',
        None,
    )
    connection = target.connect()
    assert (
        connection.execute("SELECT json_extract(address, '$.geo[1]') FROM people WHERE id = 1").fetchone()[0]
        == -9.1
    )


def test_mixed_scalar_types_keep_each_value_as_sent(target):
    properties = {
        "id": {"type": "integer"},
        "v": {"type": ["string", "integer", "null"]},
        "n": {"type": ["integer", "number"]},
    }
    messages = [
        target.schema("m", properties),
        target.record("m", {"id": 1, "v": "007", "n": 1}),
        target.record("m", {"id": 2, "v": 7, "n": 2.5}),
    ]
    assert target.run(messages).returncode == 0
    assert target.columns("m") == {"id": "INT", "v": "ANY", "n": "REAL"}
    connection = target.connect()
    assert [tuple(row) for row in connection.execute("SELECT v, typeof(v), n FROM m ORDER BY id")] == [
        ("007", "text", 1.0),
        (7, "integer", 2.5),
    ]


def test_table_names_are_sanitized_and_prefixed_and_directories_created(target):
    target.database = target.directory / "deep" / "er" / "load.db"
    messages = [
        target.schema(
            "ou=People,dc=Example",
            {"cn": {"type": "string"}, "mail-address": {"type": "string"}},
            keys=["cn"],
        ),
        target.record("ou=People,dc=Example", {"cn": "ada", "mail-address": "ada@x"}),
        target.schema("2024 report", {"order": {"type": "integer"}}, keys=None),
        target.record("2024 report", {"order": 1}),
    ]
    run = target.run(messages, table_prefix="raw_")
    assert run.returncode == 0, run.stderr
    assert target.rows("raw_ou_People_dc_Example") == [{"cn": "ada", "mail_address": "ada@x"}]
    assert target.rows("raw_2024_report") == [{"order": 1}]


def test_streams_interleave_and_each_keeps_its_rows(target):
    messages = [
        target.schema("a", {"id": {"type": "integer"}}),
        target.schema("b", {"id": {"type": "integer"}}),
    ]
    for i in range(25):
        messages.append(target.record("a" if i % 3 else "b", {"id": i}))
    messages.append(target.state({"at": 25}))
    run = target.run(messages, batch_size_rows=4)
    assert run.returncode == 0
    assert [r["id"] for r in target.rows("a", "id")] == [i for i in range(25) if i % 3]
    assert [r["id"] for r in target.rows("b", "id")] == [i for i in range(25) if not i % 3]
    assert run.states[-1] == {"at": 25}


def test_record_metadata_columns_when_asked(target):
    messages = [
        target.schema("s", {"id": {"type": "integer"}}),
        {**target.record("s", {"id": 1}), "version": 3},
    ]
    assert target.run(messages, add_record_metadata=True).returncode == 0
    row = target.rows("s")[0]
    assert row["id"] == 1
    assert row["_sdc_table_version"] == 3
    assert row["_sdc_received_at"]
    assert {"_sdc_extracted_at", "_sdc_batched_at", "_sdc_deleted_at", "_sdc_sequence"} <= set(row)


def test_sdc_properties_sent_by_a_tap_are_not_columns_without_metadata(target):
    properties = {"id": {"type": "integer"}, "_sdc_extracted_at": {"type": ["null", "string"]}}
    messages = [target.schema("s", properties), target.record("s", {"id": 1, "_sdc_extracted_at": "x"})]
    assert target.run(messages).returncode == 0
    assert target.rows("s") == [{"id": 1}]


def test_stream_maps_and_flattening_go_through_the_sdk(target):
    properties = {
        "id": {"type": "integer"},
        "secret": {"type": "string"},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    messages = [
        target.schema("people", properties),
        target.record("people", {"id": 1, "secret": "x", "address": {"city": "Porto"}}),
        target.record("people", {"id": 2, "secret": "y", "address": {"city": "Faro"}}),
        target.state({"done": True}),
    ]
    run = target.run(
        messages,
        stream_maps={"people": {"secret": None, "__alias__": "persons"}},
        flattening_enabled=True,
        flattening_max_depth=1,
    )
    assert run.returncode == 0, run.stderr
    assert target.rows("persons", "id") == [
        {"id": 1, "address__city": "Porto"},
        {"id": 2, "address__city": "Faro"},
    ]
    assert run.states == [{"done": True}]


def test_validate_records_rejects_what_the_schema_forbids(target):
    properties = {"id": {"type": "integer"}, "size": {"type": "string", "enum": ["S", "M"]}}
    messages = [
        target.schema("s", properties),
        target.record("s", {"id": 1, "size": "S"}),
        target.record("s", {"id": 2, "size": "XL"}),
    ]
    assert target.run(messages).returncode == 0  # off by default: the enum is the tap's business
    assert len(target.rows("s")) == 2
    target.database = target.directory / "validated.db"
    line = target.run(messages, validate_records=True).failed_with("VALIDATION_ERROR", 2)
    assert line.startswith(
        "error: line 3: stream 's': the record does not match its schema: 'XL' is not one of"
    )
    assert target.rows("s") == []


def test_about_lists_the_settings_and_what_singer_py_declares(target):
    from flext_plugin_sqlite.singer import TARGET_SQLITE

    done = subprocess.run(
        [str(target.executable), "--about", "--format", "json"], capture_output=True, text=True, check=True
    )
    about = json.loads(done.stdout)
    assert about["name"] == "target-sqlite"
    settings = set(about["settings"]["properties"])
    assert {
        "database",
        "table_prefix",
        "batch_size_rows",
        "add_record_metadata",
        "validate_records",
        "process_activate_version_messages",
        "hard_delete",
    } <= settings
    assert "load_method" not in settings  # keyed streams are always upserted
    assert about["settings"]["required"] == ["database"]
    assert sorted(about["capabilities"]) == sorted(TARGET_SQLITE["capabilities"])
    assert TARGET_SQLITE["kind"] == "target"
    assert TARGET_SQLITE["executable"] == target.executable.name


def test_input_from_a_file_and_properties_not_in_the_schema(target):
    messages = target.directory / "messages.jsonl"
    messages.write_text(
        json.dumps(target.schema("s", {"id": {"type": "integer"}}))
        + "\n"
        + json.dumps(target.record("s", {"id": 1, "unknown": {"x": 1}}))
        + "\n"
    )
    done = subprocess.run(
        [str(target.executable), "--config", str(target.config()), "--input", str(messages)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert target.rows("s") == [{"id": 1}]
