"""Bad input ends target-sqlite with one ``error:`` line, a non-zero exit, no traceback, and no half batch."""

from __future__ import annotations

import json

import pytest

PROPERTIES = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "age": {"type": ["null", "integer"]},
    "score": {"type": ["null", "number"]},
    "extra": {"type": ["null", "object"]},
}


def _committed_then(target, *bad):
    """Two records that fill (and commit) a batch, one that stays pending, then ``bad``."""
    return [
        target.schema("people", PROPERTIES),
        target.record("people", {"id": 1, "name": "a"}),
        target.record("people", {"id": 2, "name": "b"}),
        target.state({"at": 2}),
        target.record("people", {"id": 3, "name": "c"}),
        *bad,
        target.record("people", {"id": 4, "name": "d"}),
    ]


MESSAGE_ERRORS = [
    ('{"type": "RECORD", "stream": "people"', "line 6: not a JSON message: Expecting ',' delimiter"),
    ("[1, 2]", "line 6: a Singer message is a JSON object, not list"),
    ('"RECORD"', "line 6: a Singer message is a JSON object, not str"),
    (
        '{"type": "RECORD", "stream": "people", "record": {"id": NaN}}',
        "line 6: not a JSON message: NaN is not a JSON value",
    ),
    (
        '{"type": "RECORD", "stream": "people", "record": {"id": Infinity}}',
        "line 6: not a JSON message: Infinity is",
    ),
    ('{"type": "FOO"}', "line 6: unknown Singer message type 'FOO'"),
    ('{"stream": "people"}', "line 6: unknown Singer message type None"),
    (
        '{"type": "RECORD", "stream": "ghost", "record": {"id": 9}}',
        "line 6: a RECORD for stream 'ghost' came before any SCHEMA for it",
    ),
    (
        '{"type": "RECORD", "stream": "people", "record": 5}',
        "line 6: a RECORD message needs a 'stream' string and a 'record' object",
    ),
    (
        '{"type": "RECORD", "stream": ["people"], "record": {}}',
        "line 6: a RECORD message needs a 'stream' string",
    ),
    ('{"type": "STATE"}', "line 6: a STATE message needs a 'value'"),
    (
        '{"type": "SCHEMA", "stream": "x", "schema": {"type": "object"}}',
        "line 6: the SCHEMA of stream 'x' needs a 'schema' object with 'properties'",
    ),
    (
        '{"type": "SCHEMA", "stream": "x", "schema": {"properties": {}}, "key_properties": "id"}',
        "line 6: the 'key_properties' of stream 'x' must be a list",
    ),
    (
        '{"type": "BATCH", "stream": "people", "encoding": {}, "manifest": []}',
        "line 6: BATCH messages are not supported",
    ),
    (
        '{"type": "ACTIVATE_VERSION", "stream": "ghost", "version": 1}',
        "line 6: an ACTIVATE_VERSION message for a stream that has no SCHEMA",
    ),
]


@pytest.mark.parametrize(("line", "expected"), MESSAGE_ERRORS, ids=[e[1][8:40] for e in MESSAGE_ERRORS])
def test_a_malformed_message_is_named_by_its_line(target, line, expected):
    run = target.run(_committed_then(target, line), batch_size_rows=2)
    error = run.failed_with("VALIDATION_ERROR", 2)
    assert error.startswith(f"error: {expected}"), error
    assert [r["id"] for r in target.rows("people", "id")] == [1, 2]  # record 3's batch was not committed
    assert run.states == [{"at": 2}]


SCHEMA_ERRORS = [
    (
        {
            "type": "SCHEMA",
            "stream": "x",
            "schema": {"properties": {"a-b": {}, "a_b": {}}},
            "key_properties": [],
        },
        "line 6: properties 'a-b' and 'a_b' of stream 'x' both become column 'a_b'",
    ),
    (
        {"type": "SCHEMA", "stream": "x", "schema": {"properties": {"ID": {}, "id": {}}}},
        "line 6: properties 'ID' and 'id' of stream 'x' both become column 'id'",
    ),
    (
        {"type": "SCHEMA", "stream": "x", "schema": {"properties": {"a": {}}}, "key_properties": ["id"]},
        "line 6: key properties ['id'] of stream 'x' are not among its properties",
    ),
    (
        {
            "type": "SCHEMA",
            "stream": "people",
            "schema": {"properties": PROPERTIES},
            "key_properties": ["name"],
        },
        "line 6: table 'people' has primary key (id) but stream 'people' has key properties (name)",
    ),
]


@pytest.mark.parametrize(("message", "expected"), SCHEMA_ERRORS, ids=["dash", "case", "key", "new-key"])
def test_a_schema_that_cannot_be_a_table_is_refused(target, message, expected):
    run = target.run(_committed_then(target, message), batch_size_rows=2)
    error = run.failed_with("VALIDATION_ERROR", 2)
    assert error.startswith(f"error: {expected}"), error
    # A new SCHEMA for a stream first commits what came under the old one (record 3); other streams' do not.
    expected_ids = [1, 2, 3] if message["stream"] == "people" else [1, 2]
    assert [r["id"] for r in target.rows("people", "id")] == expected_ids


def test_an_existing_table_without_a_key_cannot_become_keyed(target):
    assert (
        target.run(
            [target.schema("log", {"id": {"type": "integer"}}, keys=None), target.record("log", {"id": 1})]
        ).returncode
        == 0
    )
    run = target.run([target.schema("log", {"id": {"type": "integer"}})])
    error = run.failed_with("VALIDATION_ERROR", 2)
    assert "table 'log' has no primary key but stream 'log' has key properties (id)" in error
    assert "drop or rename the table, or load into another table_prefix" in error


RECORD_ERRORS = [
    (
        {"id": 5, "name": {"first": "x"}},
        "line 6: stream 'people': property 'name' holds an object, which its string column",
    ),
    ({"id": 5, "age": [1]}, "line 6: stream 'people': property 'age' holds an array"),
    (
        {"id": 5, "age": 2**63},
        "line 6: stream 'people': property 'age' = 9223372036854775808 is beyond SQLite's 64-bit integers",
    ),
    ({"id": -(2**63) - 1}, "line 6: stream 'people': property 'id' = -9223372036854775809 is beyond"),
    (
        {"id": 5, "age": "old"},
        "line 6: stream 'people': property 'age' = 'old': cannot store TEXT value in INTEGER column "
        "people.age",
    ),
    (
        {"id": 5, "age": 1.5},
        "line 6: stream 'people': property 'age' = 1.5: cannot store REAL value in INTEGER column",
    ),
    (
        {"id": 5, "score": "high"},
        "line 6: stream 'people': property 'score' = 'high': cannot store TEXT value in REAL column",
    ),
    ({"name": "no id"}, "line 6: stream 'people': key property 'id' is missing or null"),
    ({"id": None}, "line 6: stream 'people': key property 'id' is missing or null"),
    (
        {"id": 5, "name": "\ud800"},
        "line 6: stream 'people': property 'name' holds text SQLite cannot store (surrogates not allowed",
    ),
    (
        {"id": 5, "extra": {"k": "\udfff"}},
        "line 6: stream 'people': property 'extra' holds text SQLite cannot store",
    ),
    (
        {"id": 5, "extra": {"big": 1e400}},
        "line 6: stream 'people': property 'extra' holds a number JSON cannot represent",
    ),
]


@pytest.mark.parametrize(("values", "expected"), RECORD_ERRORS, ids=[e[1][24:60] for e in RECORD_ERRORS])
def test_a_record_sqlite_cannot_store_rolls_back_its_batch(target, values, expected):
    bad = json.dumps({"type": "RECORD", "stream": "people", "record": values}).replace("Infinity", "1e400")
    run = target.run(_committed_then(target, bad), batch_size_rows=2)
    error = run.failed_with("VALIDATION_ERROR", 2)
    assert error.startswith(f"error: {expected}"), error
    assert [r["id"] for r in target.rows("people", "id")] == [1, 2]  # record 3 shared the bad record's batch
    assert run.states == [{"at": 2}]


def test_input_that_is_not_utf8_is_refused(target):
    good = "".join(json.dumps(m) + "\n" for m in _committed_then(target)[:5]).encode()
    run = target.run_bytes(good + b'{"type": "STATE", "value": "\xff\xfe"}\n', batch_size_rows=2)
    error = run.failed_with("VALIDATION_ERROR", 2)
    assert "the input is not UTF-8 (invalid start byte)" in error
    assert [r["id"] for r in target.rows("people", "id")] == [1, 2]


def test_blank_lines_and_crlf_endings_are_fine(target):
    messages = [target.schema("s", {"id": {"type": "integer"}}), target.record("s", {"id": 1})]
    data = ("\n  \n".join(json.dumps(m) for m in messages) + "\r\n\n").encode()
    run = target.run_bytes(data)
    assert run.returncode == 0, run.stderr
    assert target.rows("s") == [{"id": 1}]


def test_an_empty_input_creates_nothing_and_succeeds(target):
    run = target.run([])
    assert (run.returncode, run.stdout) == (0, "")


def test_a_missing_setting_is_a_config_error(target):
    config = target.directory / "bad.json"
    config.write_text(json.dumps({"table_prefix": 3, "batch_size_rows": 0}))
    import subprocess

    done = subprocess.run(
        [str(target.executable), "--config", str(config)],
        input="",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: invalid config: ")
    assert "'database' is a required property" in error
    assert error.endswith("(VALIDATION_ERROR)")
    missing = subprocess.run(
        [str(target.executable), "--config", str(target.directory / "nope.json")],
        input="",
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    assert "nope.json' was not found" in missing.stderr


def test_a_database_that_cannot_be_written_is_a_storage_error(target):
    (target.directory / "taken").write_text("a file, not a directory")
    target.database = target.directory / "taken" / "load.db"
    run = target.run([target.schema("s", {"id": {"type": "integer"}})])
    error = run.failed_with("STORAGE_ERROR", 1)
    assert error.startswith(f"error: cannot create the directory of {target.database}")


def test_a_file_that_is_not_a_database_is_a_storage_error(target):
    target.database.parent.mkdir(parents=True)
    target.database.write_bytes(b"not a database at all" * 100)
    run = target.run([target.schema("s", {"id": {"type": "integer"}})])
    error = run.failed_with("STORAGE_ERROR", 1)
    assert "file is not a database" in error


def test_a_stream_map_that_fails_on_a_record_is_named(target):
    messages = [
        target.schema("people", PROPERTIES),
        target.record("people", {"id": 1, "name": "a"}),
        target.record("people", {"id": 2}),
    ]
    run = target.run(messages, stream_maps={"people": {"shout": "name.upper()"}})
    error = run.failed_with("VALIDATION_ERROR", 2)
    assert error.startswith("error: line 3: stream maps: "), error
