"""Any answer body, checked by the stream in-process: rows of the documented shape, or a ``WmsError``."""

from __future__ import annotations

from typing import Any

import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.singerlib.json import serialize_json
from tap_oracle_wms.errors import WmsError
from tap_oracle_wms.streams import EntityStream
from tap_oracle_wms.tap import TapOracleWMS

from .conftest import make_rows

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer"]},
        "mod_ts": {"type": ["string", "null"], "format": "date-time"},
        "qty": {"type": ["number", "null"]},
    },
}
CATALOG = {
    "streams": [
        {
            "tap_stream_id": "item",
            "stream": "item",
            "schema": SCHEMA,
            "key_properties": ["id"],
            "replication_key": "mod_ts",
            "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
        }
    ]
}
CONFIG = {"base_url": "http://127.0.0.1:9/prod", "username": "u", "password": "p"}

_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.decimals(allow_nan=False)
_ROWS = st.lists(
    st.fixed_dictionaries({}, optional={"id": _SCALARS, "mod_ts": _SCALARS, "qty": _SCALARS}), max_size=4
)
_BODIES = st.one_of(
    st.binary(max_size=40),
    st.builds(lambda rows: serialize_json({"results": rows, "next_page": None}).encode(), _ROWS),
    st.builds(lambda rows: serialize_json(rows).encode(), _ROWS),
)


def _stream() -> EntityStream:
    tap = TapOracleWMS(config=CONFIG, catalog=CATALOG, parse_env_config=False)
    stream = tap.streams["item"]
    assert isinstance(stream, EntityStream)
    return stream


STREAM = _stream()


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    return response


def test_a_documented_page_gives_its_rows_in_utc() -> None:
    rows = make_rows(2)
    body = serialize_json({"results": rows, "next_page": None, "result_count": 2}).encode()
    parsed = list(STREAM.parse_response(_response(body)))
    assert [row["id"] for row in parsed] == [1, 2]
    assert parsed[0]["mod_ts"] == "2026-12-01T07:00:00.000000+00:00"
    assert str(parsed[1]["qty"]) == "2123456789.123456789"


@settings(max_examples=200)
@given(_BODIES)
def test_any_body_gives_checked_rows_or_a_wms_error_naming_the_entity(body: bytes) -> None:
    failure: WmsError | None = None
    rows: list[dict[str, Any]] = []
    try:
        rows = list(STREAM.parse_response(_response(body)))
    except WmsError as exc:
        failure = exc
    if failure is not None:
        assert failure.entity == "item"
        return
    for row in rows:
        assert isinstance(row["id"], int)
        stamp = row.get("mod_ts")
        assert stamp is None or stamp.endswith("+00:00")
