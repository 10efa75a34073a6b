"""SIGKILL at any moment leaves a consistent file; re-running the input then gives the source's rows."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import threading
import time

import pytest

KEYED = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "n": {"type": "integer"},
    "tags": {"type": "array"},
}
LOG = {"seq": {"type": "integer"}, "what": {"type": "string"}}


def _source(seed: int, records: int = 3000) -> tuple[list[dict], dict[str, list[dict]]]:
    """Messages for a keyed stream with updates and an append-only stream, a STATE every 100 records."""
    rng = random.Random(seed)
    messages = [
        {"type": "SCHEMA", "stream": "people", "schema": {"properties": KEYED}, "key_properties": ["id"]},
        {"type": "SCHEMA", "stream": "log", "schema": {"properties": LOG}, "key_properties": []},
    ]
    sent: dict[str, list[dict]] = {"people": [], "log": []}
    for i in range(records):
        if rng.random() < 0.7:
            stream, values = "people", {"id": rng.randrange(500), "name": f"v{i}", "n": i, "tags": [i % 7]}
        else:
            stream, values = "log", {"seq": i, "what": rng.choice(["a", "b'\"", "ç"])}
        messages.append({"type": "RECORD", "stream": stream, "record": values})
        sent[stream].append(values)
        if i % 100 == 99:
            messages.append({"type": "STATE", "value": {s: len(v) for s, v in sent.items()}})
    return messages, sent


def _rows(target) -> tuple[dict[int, dict], list[dict]]:
    connection = sqlite3.connect(target.database)
    connection.row_factory = sqlite3.Row
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {
            name for (name,) in connection.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        }
        people = (
            {
                row["id"]: {**dict(row), "tags": json.loads(row["tags"])}
                for row in connection.execute("SELECT * FROM people")
            }
            if "people" in tables
            else {}
        )
        log = (
            [dict(row) for row in connection.execute("SELECT * FROM log ORDER BY rowid")]
            if "log" in tables
            else []
        )
        return people, log
    finally:
        connection.close()


def _committed_prefix(people: dict[int, dict], sent: list[dict]) -> int | None:
    """The m for which upserting sent[:m] gives exactly ``people``, or None."""
    folded: dict[int, dict] = {}
    if people == folded:
        return 0
    for m, values in enumerate(sent, 1):
        folded[values["id"]] = values
        if len(folded) == len(people) and folded == people:
            return m
    return None


def _run_and_kill(target, messages: list[dict], kill_after_states: int, extra_delay: float) -> list[dict]:
    """Feed ``messages`` to a live target; SIGKILL it after it printed ``kill_after_states`` STATEs."""
    data = "".join(json.dumps(m) + "\n" for m in messages)
    printed: list[dict] = []
    with target.started(batch_size_rows=120) as process:

        def feed() -> None:
            try:
                for start in range(0, len(data), 4096):
                    process.stdin.write(data[start : start + 4096])
                    time.sleep(0.002)
                process.stdin.close()
            except (ValueError, OSError):
                pass  # killed while writing

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        for line in process.stdout:
            printed.append(json.loads(line))
            if len(printed) >= kill_after_states:
                break
        time.sleep(extra_delay)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL, "the target ended before the kill"
        printed.extend(json.loads(line) for line in process.stdout.read().splitlines() if line.strip())
        feeder.join(timeout=60)
    return printed


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "kill_after_states", "extra_delay"), [(1, 1, 0.0), (2, 4, 0.003), (3, 9, 0.011), (4, 17, 0.0)]
)
def test_sigkill_mid_stream_then_a_rerun_gives_exactly_the_source(
    target, seed, kill_after_states, extra_delay
):
    messages, sent = _source(seed)
    printed = _run_and_kill(target, messages, kill_after_states, extra_delay)

    people, log = _rows(target)  # integrity_check passes, at whatever instant the kill came
    m = _committed_prefix(people, sent["people"])
    assert m is not None, "the keyed table is not the result of any prefix of its records"
    assert m < len(sent["people"]) or len(log) < len(sent["log"]), "killed too late to test anything"
    assert log == sent["log"][: len(log)], "the append-only table is not a prefix of its records"
    if printed:  # the last STATE printed is covered by committed rows
        assert m >= printed[-1]["people"]
        assert len(log) >= printed[-1]["log"]

    rerun = target.run(messages, batch_size_rows=120)
    assert rerun.returncode == 0, rerun.stderr
    people_after, log_after = _rows(target)
    expected = {}
    for values in sent["people"]:
        expected[values["id"]] = values
    assert people_after == expected  # upserts: replaying never loads a row twice
    assert log_after == log + sent["log"]  # appends: what was committed before the crash is there twice


@pytest.mark.slow
def test_resuming_after_the_last_printed_state_replays_only_uncovered_records(target):
    messages, sent = _source(seed=5)
    printed = _run_and_kill(target, messages, kill_after_states=6, extra_delay=0.0)
    assert printed, "the target printed no STATE before it was killed"
    last = printed[-1]
    _, log = _rows(target)
    # Resume as a tap would: the messages after the STATE equal to the last printed one.
    at = next(i for i, m in enumerate(messages) if m["type"] == "STATE" and m["value"] == last)
    resumed = target.run(messages[:2] + messages[at + 1 :], batch_size_rows=120)
    assert resumed.returncode == 0, resumed.stderr
    people_after, log_after = _rows(target)
    expected = {}
    for values in sent["people"]:
        expected[values["id"]] = values
    assert people_after == expected
    # Append-only rows committed after the last printed STATE (and before the kill) come twice;
    # no row is lost.
    assert log_after == log + sent["log"][last["log"] :]
    assert log_after[: last["log"]] == sent["log"][: last["log"]]


def test_sigterm_rolls_back_the_batch_in_flight_and_says_so(target):
    lines = [
        target.schema("s", {"id": {"type": "integer"}}),
        *(target.record("s", {"id": i}) for i in range(3)),
        target.state({"n": 3}),
        target.record("s", {"id": 3}),  # pending when the signal comes
    ]
    with target.started(batch_size_rows=3) as process:
        process.stdin.write("".join(json.dumps(m) + "\n" for m in lines))
        process.stdin.flush()
        assert json.loads(process.stdout.readline()) == {"n": 3}
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
        stderr = process.stderr.read()
    error = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert error == [
        "error: stopped by SIGTERM; records not yet committed were discarded, "
        "the last STATE printed is the one to resume from (INTERRUPTED)"
    ]
    assert "Traceback" not in stderr
    assert [row["id"] for row in target.rows("s", "id")] == [0, 1, 2]
