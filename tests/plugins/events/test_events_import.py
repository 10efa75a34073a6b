"""``flext events import`` checks the whole file, and the target store, before it writes anything.

Issue 22, item 4: two good lines then ``"event_id": "not-a-uuid"`` exited 1
with ``INTERNAL_ERROR`` and a pydantic dump after writing the first two
events; a line whose ``event_id`` differs from ``data.event_id``, a
``data.aggregate_id`` of another stream, ``data: {}``, ``occurred_at:
"yesterday"``, versions 1, 3 (stored as 1, 2) and 1, 1 (stored as 1, 2)
were accepted silently. Each case runs the real ``flext``; a fuzz test feeds
generated lines to the same code in-process.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_events import exchange
from flext_plugin_eventstore_sqlite import SQLiteEventStore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_eventsourcing import NO_STREAM
from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing.projections import Deposited, Totals

Line = dict[str, Any]


@pytest.fixture
def lines(tmp_path: Path, flext_cli: FlextCliRunner) -> list[Line]:
    """The export of three deposits: acc-1 versions 1 and 2, acc-2 version 1."""
    source = tmp_path / "source.db"
    with SQLiteEventStore(path=source) as store:
        store.append("acc-1", [Deposited(aggregate_id="acc-1", amount=1)], NO_STREAM).unwrap()
        store.append("acc-1", [Deposited(aggregate_id="acc-1", amount=2)], 1).unwrap()
        store.append("acc-2", [Deposited(aggregate_id="acc-2", amount=3)], NO_STREAM).unwrap()
    exported = tmp_path / "export.jsonl"
    assert flext_cli("events", "export", "--store", str(source), "--to", str(exported)).exit_code == 0
    return [json.loads(line) for line in exported.read_text().splitlines()]


def _write(path: Path, lines: list[Line]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _renumber(line: Line, version: int) -> None:
    line["version"] = line["data"]["version"] = version


def _set(key: str, value: Any) -> Callable[[Line], None]:
    def change(line: Line) -> None:
        line[key] = value

    return change


def _set_data(key: str, value: Any) -> Callable[[Line], None]:
    def change(line: Line) -> None:
        line["data"][key] = value

    return change


BAD_THIRD_LINE: dict[str, tuple[Callable[[Line], None], str]] = {
    "not_a_uuid": (
        _set("event_id", "not-a-uuid"),
        "line 3: event_id: Input should be a valid UUID, invalid character: found `n` at 0",
    ),
    "ids_differ": (
        _set("event_id", "00000000-0000-7000-8000-000000000001"),
        "line 3: data.event_id: {data_id} is not the line's event_id 00000000-0000-7000-8000-000000000001",
    ),
    "another_stream": (
        _set_data("aggregate_id", "acc-1"),
        "line 3: data.aggregate_id: acc-1 is not the line's stream_id acc-2",
    ),
    "empty_data": (
        _set("data", {}),
        "line 3: data.event_id: missing: data must be the event as stored, with its envelope",
    ),
    "yesterday": (
        _set_data("occurred_at", "yesterday"),
        "line 3: data.occurred_at: Input should be a valid datetime or date, input is too short",
    ),
    "no_time_zone": (
        _set_data("occurred_at", "2026-01-05T12:00:00"),
        "line 3: data.occurred_at: Input should have timezone info",
    ),
    "version_as_text": (_set("version", "1"), "line 3: version: Input should be a valid integer"),
    "no_fields": (lambda line: line.clear(), "line 3: position: Field required"),
}
"""Third lines that spoil the file, and the error naming them (``{data_id}``: the line's data.event_id)."""


@pytest.mark.parametrize("case", list(BAD_THIRD_LINE))
def test_a_bad_line_after_good_ones_is_named_and_nothing_is_written(
    flext_cli: FlextCliRunner, tmp_path: Path, lines: list[Line], case: str
) -> None:
    change, message = BAD_THIRD_LINE[case]
    spoiled = copy.deepcopy(lines)
    data_id = spoiled[2]["data"].get("event_id")
    change(spoiled[2])
    store = tmp_path / "target.db"
    result = flext_cli(
        "events", "import", str(_write(tmp_path / "bad.jsonl", spoiled)), "--store", str(store)
    )
    assert result.exit_code == 2, result
    assert result.stderr.splitlines() == [
        f"error: {message.format(data_id=data_id)} (VALIDATION_ERROR)",
        "hint: the file must be what flext events export wrote; nothing was written",
    ]
    assert not store.exists(), "checked before the store is opened"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "line 2: Input should be an object"),
        ('{"position": 1', "line 2: Invalid JSON: EOF while parsing an object at line 1 column 14"),
        ("[" * 5000 + "]" * 5000, "line 2: Invalid JSON: recursion limit exceeded at line 1 column 202"),
    ],
    ids=["a_list", "cut_short", "nested_deep"],
)
def test_a_line_that_is_no_json_object_is_named(
    flext_cli: FlextCliRunner, tmp_path: Path, lines: list[Line], text: str, message: str
) -> None:
    file = tmp_path / "broken.jsonl"
    file.write_text(json.dumps(lines[0]) + "\n" + text + "\n")
    result = flext_cli("events", "import", str(file), "--store", str(tmp_path / "t.db"))
    assert result.exit_code == 2, result
    assert result.stderr.splitlines()[0] == f"error: {message} (VALIDATION_ERROR)"


@pytest.mark.parametrize(
    ("second_version", "message"),
    [
        (3, "line 2: version: skips from version 1 of stream 'acc-1' (line 1) to 3"),
        (1, "line 2: version: repeats version 1 of stream 'acc-1' (line 1)"),
    ],
    ids=["gap", "duplicate"],
)
def test_versions_with_a_gap_or_a_repeat_are_refused(
    flext_cli: FlextCliRunner, tmp_path: Path, lines: list[Line], second_version: int, message: str
) -> None:
    _renumber(lines[1], second_version)
    result = flext_cli(
        "events", "import", str(_write(tmp_path / "v.jsonl", lines)), "--store", str(tmp_path / "t.db")
    )
    assert result.exit_code == 2, result
    assert result.stderr.splitlines()[0] == (
        f"error: {message}: an import keeps versions, so in each stream they must follow one another "
        "(VALIDATION_ERROR)"
    )


def test_a_payload_that_does_not_fit_a_known_class_is_refused(
    flext_cli: FlextCliRunner, tmp_path: Path, lines: list[Line], plugins: Path
) -> None:
    lines[2]["data"]["amount"] = "lots"
    file = _write(tmp_path / "lots.jsonl", lines)
    store = tmp_path / "t.db"
    refused = flext_cli("events", "import", str(file), "--store", str(store), plugin_dirs=[plugins])
    assert refused.exit_code == 2, refused
    assert refused.stderr.splitlines()[0] == (
        "error: line 3: data: stored contract.Deposited does not fit its class: amount: Input should be a "
        "valid integer, unable to parse string as an integer (VALIDATION_ERROR)"
    )
    assert not store.exists()
    # Without a plugin that knows the class, the payload is kept as it is (it may be another version's).
    assert flext_cli("events", "import", str(file), "--store", str(store)).exit_code == 0


def test_a_file_that_does_not_follow_on_from_the_store_writes_nothing(
    flext_cli: FlextCliRunner, tmp_path: Path, lines: list[Line]
) -> None:
    store = tmp_path / "t.db"
    assert (
        flext_cli(
            "events", "import", str(_write(tmp_path / "a2.jsonl", lines[2:])), "--store", str(store)
        ).exit_code
        == 0
    )
    before = flext_cli("events", "export", "--store", str(store)).stdout
    # acc-1 from version 2 into a store without acc-1: its versions cannot be kept.
    late = flext_cli(
        "events", "import", str(_write(tmp_path / "late.jsonl", lines[1:])), "--store", str(store)
    )
    assert late.exit_code == 2, late
    assert late.stderr.splitlines() == [
        "error: line 1: version: stream 'acc-1' starts at version 2 here, but the store's 'acc-1' is at "
        "version 0: an import keeps versions, so they must follow on (VALIDATION_ERROR)",
        "hint: the file does not fit what the store holds; nothing was written",
    ]
    # acc-2 version 1 in the store is another event than this file's.
    other = copy.deepcopy(lines)
    other[2]["event_id"] = other[2]["data"]["event_id"] = "00000000-0000-7000-8000-000000000002"
    clash = flext_cli("events", "import", str(_write(tmp_path / "clash.jsonl", other)), "--store", str(store))
    assert clash.exit_code == 2, clash
    assert clash.stderr.splitlines()[0].startswith(
        "error: line 3: event_id: version 1 of stream 'acc-2' is another event in the store"
    )
    assert flext_cli("events", "export", "--store", str(store)).stdout == before


def test_an_import_is_all_or_nothing_when_the_store_refuses_an_append(
    flext_cli: FlextCliRunner, tmp_path: Path, lines: list[Line]
) -> None:
    store = tmp_path / "t.db"
    with SQLiteEventStore(path=store) as events:  # the id of acc-2's event, already used in another stream
        taken = Deposited(aggregate_id="other", amount=9, event_id=lines[2]["event_id"])
        events.append("other", [taken], NO_STREAM).unwrap()
    before = flext_cli("events", "export", "--store", str(store)).stdout
    result = flext_cli("events", "import", str(_write(tmp_path / "all.jsonl", lines)), "--store", str(store))
    assert result.exit_code == 1, result
    assert "(CONCURRENCY_CONFLICT)" in result.stderr.splitlines()[0]
    assert (
        result.stderr.splitlines()[1] == "hint: nothing was written; fix the cause and run the import again"
    )
    assert flext_cli("events", "export", "--store", str(store)).stdout == before, (
        "acc-1 was not written either"
    )


def test_an_interrupted_import_is_finished_by_running_it_again(
    flext_cli: FlextCliRunner, tmp_path: Path, lines: list[Line]
) -> None:
    store = tmp_path / "t.db"
    assert (
        flext_cli(
            "events", "import", str(_write(tmp_path / "one.jsonl", lines[:1])), "--store", str(store)
        ).exit_code
        == 0
    )
    full = _write(tmp_path / "all.jsonl", lines)
    again = flext_cli("--output", "json", "events", "import", str(full), "--store", str(store))
    assert again.json()["data"] == {"written": 2, "already_there": 1, "streams": 2}
    once_more = flext_cli("--output", "json", "events", "import", str(full), "--store", str(store))
    assert once_more.json()["data"] == {"written": 0, "already_there": 3, "streams": 2}
    exported = flext_cli("events", "export", "--store", str(store)).stdout.splitlines()
    assert [(json.loads(x)["event_id"], json.loads(x)["version"]) for x in exported] == [
        (line["event_id"], line["version"]) for line in lines
    ]


# Fuzzing: any generated file is imported whole, or refused with one clear error and the store unchanged.

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
_KEYS = ["position", "stream_id", "version", "event_id", "event_type", "schema_version", "data"]
_DATA_KEYS = ["event_id", "occurred_at", "aggregate_id", "version", "amount", "metadata", "correlation_id"]


@st.composite
def _mutated(draw: st.DrawFn, base: list[Line]) -> str:
    """One line: a real one, a real one with a field changed or dropped, or any text."""
    kind = draw(st.sampled_from(["real", "field", "data_field", "drop", "text"]))
    line = copy.deepcopy(draw(st.sampled_from(base)))
    if kind == "field":
        line[draw(st.sampled_from(_KEYS))] = draw(_JSON)
    elif kind == "data_field":
        line["data"][draw(st.sampled_from(_DATA_KEYS))] = draw(_JSON)
    elif kind == "drop":
        line.pop(draw(st.sampled_from(_KEYS)))
    elif kind == "text":
        return draw(st.text(max_size=40))
    return json.dumps(line)


@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory: pytest.TempPathFactory) -> list[Line]:
    """Export lines of five deposits in three streams, written in-process."""
    path = tmp_path_factory.mktemp("fuzz") / "source.db"
    with SQLiteEventStore(path=path) as store:
        for stream, count in (("a", 2), ("b", 2), ("c", 1)):
            store.append(stream, [Deposited(aggregate_id=stream, amount=i) for i in range(count)], NO_STREAM)
        buffer: list[str] = []

        class _Lines:
            def write(self, text: str) -> None:
                buffer.append(text)

        exchange.write_export(store, _Lines())  # type: ignore[arg-type]  # a write() is all it needs
    return [json.loads(line) for line in "".join(buffer).splitlines()]


@pytest.fixture
def fuzz_store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    """A store holding ``a`` version 1 (a different event from the base's), shared by a test's examples."""
    with SQLiteEventStore(path=tmp_path / "target.db") as store:
        store.append("a", [Deposited(aggregate_id="a", amount=100)], NO_STREAM).unwrap()
        yield store


def _import(store: SQLiteEventStore, text: str) -> Any:
    """What ``flext events import`` does, in-process: read, check payloads, plan, write."""
    import io

    parsed = exchange.read_export(io.StringIO(text))
    if parsed.is_failure:
        return parsed
    checked = exchange.check_payloads(parsed.value, exchange.known_types([Totals()]))
    if checked.is_failure:
        return checked
    plan = exchange.plan_import(store, parsed.value)
    return plan if plan.is_failure else exchange.write_import(store, plan.value)


@settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_files_are_imported_whole_or_refused_with_the_store_unchanged(
    data: st.DataObject, fuzz_base: list[Line], fuzz_store: SQLiteEventStore
) -> None:
    lines = data.draw(st.lists(_mutated(fuzz_base), max_size=6))
    before = fuzz_store.read_all().unwrap()
    result = _import(fuzz_store, "\n".join(lines))
    after = fuzz_store.read_all().unwrap()
    if result.is_failure:
        assert result.error_code in ("VALIDATION_ERROR", "CONCURRENCY_CONFLICT"), result
        assert result.error, result
        assert "\n" not in result.error, result
        assert after == before, "a refused import wrote nothing"
        return
    written = {str(r.event_id): r for r in after}
    for text in lines:
        if text.strip():
            line = json.loads(text)
            stored = written[str(line["event_id"])]
            assert (stored.stream_id, stored.version) == (line["stream_id"], line["version"])
            assert json.loads(stored.data) == line["data"]
