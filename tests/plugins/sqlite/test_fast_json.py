"""The input lines orjson parses and the JSON columns it writes mean what the standard library made of them.

orjson turns an integer beyond 64 bits into a float and writes an infinity as
``null``; the target sends such lines and values to the standard library, so
nothing changes value on the way (the round-trip test covers the ordinary ones).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

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


UNICODE = [{"é": ["\u2028", "\x1f", 'q"b\\']}, 1.5, 1e16, True]
"""Text orjson writes itself: no null anywhere (orjson writes ``1e-07`` as ``1e-7``, telling who wrote it)."""


@pytest.mark.parametrize("keyed", [True, False], ids=["row-with-json", "single-column"])
def test_unicode_and_control_characters_go_through_orjson_and_nulls_through_the_standard_library(
    target: Target, keyed: bool
) -> None:
    plain = [*UNICODE, 1e-07]
    with_null = [None, "null", *UNICODE, {"k": None}, 1e-07]
    assert b"null" not in orjson.dumps(plain)  # the premise: orjson's text is kept for this one
    properties: dict[str, Any] = {"mixed": {"type": "array"}}
    if keyed:
        properties["id"] = {"type": "integer"}
    stream = [target.schema("people", properties, keys=["id"] if keyed else None)]
    for number, values in ((1, plain), (2, with_null)):
        record: dict[str, Any] = {"mixed": values}
        if keyed:
            record["id"] = number
        stream.append(target.record("people", record))
    run = target.run(stream)
    assert run.returncode == 0, run.stderr[-2000:]
    first, second = (row["mixed"] for row in target.rows("people"))
    assert json.loads(first) == plain
    assert json.loads(second) == with_null
    # orjson wrote the first (1e-7), with the same text as the standard library otherwise: Unicode as
    # UTF-8, control characters, quotes and backslashes escaped alike.
    assert first == json.dumps(plain, ensure_ascii=False, separators=(",", ":")).replace("1e-07", "1e-7")
    assert first.endswith(",1e-7]")
    # A null sends the whole value to the standard library (an infinity would be written as null too).
    assert second == json.dumps(with_null, ensure_ascii=False, separators=(",", ":"))
    assert second.endswith(",1e-07]")
