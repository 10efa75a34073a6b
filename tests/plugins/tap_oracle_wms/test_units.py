"""The pieces without a server: describe types, UTC timestamps, the retry waits (Hypothesis for bad input)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from tap_oracle_wms.errors import WmsError
from tap_oracle_wms.retry import RetryPolicy, retry_after_seconds
from tap_oracle_wms.schema import entity_schema, json_type
from tap_oracle_wms.timestamps import to_utc

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        ("AutoField", ["integer", "null"]),
        ("integer", ["integer", "null"]),
        ("DecimalField", ["number", "null"]),
        ("decimal", ["number", "null"]),
        ("DateTimeField", ["string", "null"]),
        ("BooleanField", ["boolean", "null"]),
        ("ForeignKey", ["object", "null"]),
        ("CharField", ["string", "null"]),
    ],
)
def test_describe_types(type_name: str, expected: list[str]) -> None:
    found = json_type(type_name)
    assert found is not None
    assert found["type"] == expected


def test_a_date_time_field_has_the_date_time_format_and_mod_ts_makes_the_stream_incremental() -> None:
    found = entity_schema("item", {"fields": [{"name": "id", "type": "integer"},
                                              {"name": "mod_ts", "type": "datetime"}]})  # fmt: skip
    assert found.schema["properties"]["mod_ts"]["format"] == "date-time"
    assert (found.key_properties, found.replication_key) == (("id",), "mod_ts")


def test_an_entity_without_mod_ts_is_full_table_and_unknown_types_are_strings() -> None:
    found = entity_schema("x", {"fields": {"id": "AutoField", "blob": {"type": "HologramField"}}})
    assert found.replication_key is None
    assert found.unknown_types == {"blob": "HologramField"}
    assert found.schema["properties"]["blob"] == {"type": ["string", "null"]}


@given(_JSON)
def test_any_describe_answer_gives_a_schema_or_a_wms_error(answer: Any) -> None:
    failure: WmsError | None = None
    try:
        found = entity_schema("item", answer)
    except WmsError as exc:
        failure = exc
    if failure is None:
        assert found.schema["properties"]
    else:
        assert (failure.entity, str(failure).split(": ")[0]) == ("item", "entity item")


_INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.timezones()
)


@given(_INSTANTS, _INSTANTS)
def test_utc_strings_order_as_the_instants_do(first: datetime, second: datetime) -> None:
    # Instants are compared as timestamps: Python's == between zones is False for a wall time in a
    # DST fold (PEP 495), e.g. 1999-03-28 02:00 in Antarctica/Macquarie, though the instant is the same.
    a, b = to_utc(first.isoformat(), UTC), to_utc(second.isoformat(), UTC)
    assert datetime.fromisoformat(a).timestamp() == first.timestamp()
    assert (a < b) == (first.timestamp() < second.timestamp())
    assert (a == b) == (first.timestamp() == second.timestamp())


def test_a_naive_timestamp_is_read_in_the_source_zone() -> None:
    brt = timezone(timedelta(hours=-3))
    assert to_utc("2026-12-01T04:00:00", brt) == "2026-12-01T07:00:00.000000+00:00"
    assert to_utc("2026-12-01T07:00:00Z", brt) == "2026-12-01T07:00:00.000000+00:00"


@given(st.text(max_size=30))
def test_a_bad_timestamp_is_a_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):  # anything else (TypeError, OverflowError...) fails the test
        assert to_utc(text, UTC).endswith("+00:00")


def _response(status: int, retry_after: str | None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(_response(429, "7")) == 7.0
    assert retry_after_seconds(_response(503, "Mon, 07 Dec 2026 12:00:30 GMT"), now=now) == 30.0
    assert retry_after_seconds(_response(429, "soon")) is None
    assert retry_after_seconds(_response(500, "7")) is None  # only 429 and 503 ask for a wait


def test_the_waits_are_retry_after_capped_else_exponential() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_wait_seconds=5.0, max_retry_after_seconds=60.0)
    error = requests.HTTPError(response=_response(429, "600"))
    assert policy.wait(error, 0) == 60.0
    plain = requests.HTTPError(response=_response(500, None))
    for attempt, base in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 5.0)]:
        assert base <= policy.wait(plain, attempt) <= base * 1.1
    waits = policy.waits()
    assert next(waits) == 0.0
    assert waits.send(error) == 60.0
