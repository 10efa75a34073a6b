"""The input lines orjson parses and the JSON columns it writes mean what the standard library made of them.

orjson turns an integer beyond 64 bits into a float and writes an infinity as
``null``; the target sends such lines and values to the standard library, so
nothing changes value on the way (the round-trip test covers the ordinary ones).
"""

from __future__ import annotations

import json

from .conftest import Target

BIG = [2**64, -(2**63) - 1, 10**30, 2**64 - 1, -(2**63)]


def test_integers_beyond_64_bits_keep_their_digits_in_json_columns(target: Target) -> None:
    run = target.run(
        [
            target.schema("people", {"id": {"type": "integer"}, "numbers": {"type": "array"}}),
            target.record("people", {"id": 1, "numbers": BIG}),
            target.record("people", {"id": 2, "numbers": {"deep": [BIG[0]]}}),
            target.state({"done": True}),
        ]
    )
    assert run.returncode == 0, run.stderr[-2000:]
    stored = {row["id"]: row["numbers"] for row in target.rows("people")}
    assert stored == {1: json.dumps(BIG, separators=(",", ":")), 2: '{"deep":[18446744073709551616]}'}


def test_nulls_and_unicode_in_json_columns_are_kept(target: Target) -> None:
    values = [None, "null", {"é": None, "k": ["\u2028", "\x1f", 'q"b\\']}, 1.5, 1e16, True]
    run = target.run(
        [
            target.schema("people", {"id": {"type": "integer"}, "mixed": {"type": "array"}}),
            target.record("people", {"id": 1, "mixed": values}),
        ]
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = target.rows("people")
    assert json.loads(row["mixed"]) == values
    assert row["mixed"] == json.dumps(values, ensure_ascii=False, separators=(",", ":"))
