"""Arbitrary record values survive the trip through target-sqlite (a real subprocess) exactly."""

from __future__ import annotations

import json
import math
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROPERTIES = {
    "id": {"type": "integer"},
    "text": {"type": ["null", "string"]},
    "whole": {"type": ["null", "integer"]},
    "real": {"type": ["null", "number"]},
    "flag": {"type": ["null", "boolean"]},
    "nested": {"type": ["null", "object", "array"]},
    "mixed": {"type": ["null", "string", "integer", "number"]},
}

INT64 = st.integers(-(2**63), 2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text(st.characters(codec="utf-8"))  # quotes, backslashes, NULs, emoji; not lone surrogates
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
VALUES = st.fixed_dictionaries(
    {},
    optional={
        "text": st.none() | TEXT,
        "whole": st.none() | INT64,
        "real": st.none() | FLOATS | INT64,
        "flag": st.none() | st.booleans(),
        "nested": st.none() | st.dictionaries(TEXT, JSON, max_size=4) | st.lists(JSON, max_size=4),
        "mixed": st.none() | TEXT | INT64 | FLOATS,
    },
)
RECORDS = st.lists(st.tuples(st.integers(0, 15), VALUES), min_size=1, max_size=40)


def _stored(column: str, value):
    """What reading ``value`` back from its column gives."""
    if value is None:
        return None
    if column == "flag":
        return int(value)
    if column == "real":
        return float(value)
    return value


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=RECORDS)
def test_any_values_round_trip_and_the_last_record_of_a_key_wins(target, records):
    shutil.rmtree(target.database.parent, ignore_errors=True)
    messages = [target.schema("r", PROPERTIES)]
    messages += [target.record("r", {"id": key, **values}) for key, values in records]
    run = target.run(messages, batch_size_rows=7)
    assert run.returncode == 0, run.stderr[-2000:]

    expected = {}
    for key, values in records:
        expected[key] = {name: _stored(name, values.get(name)) for name in PROPERTIES if name != "id"}
    stored = {}
    for row in target.rows("r", "id"):
        key = row.pop("id")
        if row["nested"] is not None:
            row["nested"] = json.loads(row["nested"])
        stored[key] = row
    assert stored.keys() == expected.keys()
    for key, row in stored.items():
        want = expected[key]
        for name, value in row.items():
            if isinstance(value, float) and isinstance(want[name], float):
                assert value == want[name] or (
                    math.copysign(1, value) == math.copysign(1, want[name]) and value == 0
                )
            else:
                assert value == want[name], (key, name)
                assert type(value) is type(want[name]), (key, name, value, want[name])
