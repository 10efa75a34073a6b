"""A STATE is printed only once the records received before it are committed: checked while it runs."""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections import Counter

import pytest


def _lines_of(stream) -> queue.Queue:
    """The lines a live process prints, as they come (None at the end)."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _count(target, table: str) -> int:
    connection = sqlite3.connect(f"{target.database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def _send(process, *messages) -> None:
    for message in messages:
        process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()


def test_a_state_appears_only_when_the_records_before_it_are_committed(target):
    with target.started(batch_size_rows=5) as process:
        out = _lines_of(process.stdout)
        _send(process, target.schema("s", {"id": {"type": "integer"}}))
        _send(process, *(target.record("s", {"id": i}) for i in range(10)), target.state({"n": 10}))
        line = out.get(timeout=60)
        assert json.loads(line) == {"n": 10}
        assert (
            _count(target, "s") == 10
        )  # committed before the line was printed (the process is still running)

        _send(process, *(target.record("s", {"id": i}) for i in range(10, 13)), target.state({"n": 13}))
        with pytest.raises(queue.Empty):
            out.get(timeout=2)  # 3 records pending: the STATE waits for them
        assert _count(target, "s") == 10

        _send(process, *(target.record("s", {"id": i}) for i in range(13, 15)))  # the batch fills and commits
        assert json.loads(out.get(timeout=60)) == {"n": 13}
        assert _count(target, "s") == 15
        assert process.poll() is None

        _send(process, target.state({"n": 13}), target.state({"n": 15}))  # nothing pending: printed at once
        assert json.loads(out.get(timeout=60)) == {"n": 15}
        process.stdin.close()
        assert process.wait(timeout=60) == 0
        assert out.get(timeout=10) is None  # the repeated {"n": 13} was not printed again


def test_every_printed_state_is_covered_by_committed_rows(target):
    """Two streams, small batches, a STATE every 37 records: each one's counts are committed when it shows."""
    messages = [
        target.schema("a", {"id": {"type": "integer"}}),
        target.schema("b", {"id": {"type": "integer"}}, keys=None),
    ]
    sent: Counter[str] = Counter()
    for i in range(1500):
        stream = "a" if i % 4 else "b"
        messages.append(target.record(stream, {"id": i}))
        sent[stream] += 1
        if i % 37 == 36:
            last = dict(sent)
            messages.append(target.state(last))
    checked = 0
    with target.started(batch_size_rows=50) as process:
        out = _lines_of(process.stdout)
        writer = threading.Thread(
            target=lambda: (_send(process, *messages), process.stdin.close()), daemon=True
        )
        writer.start()
        while (line := out.get(timeout=120)) is not None:
            promised = json.loads(line)
            assert _count(target, "a") >= promised.get("a", 0)
            assert _count(target, "b") >= promised.get("b", 0)
            checked += 1
        assert process.wait(timeout=60) == 0
    assert checked >= 10
    assert promised == last  # the last STATE came out, at the end
