"""The stream scanner's counts: the fast paths must agree with reading every line as JSON."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from flext_plugin_singer.protocol import ProtocolError, StreamScanner
from hypothesis import given
from hypothesis import strategies as st

_streams = st.sampled_from(["users", "groups", "ou", "users2", "é-stream"])
_message = st.one_of(
    st.builds(lambda s, n: ("RECORD", s, {"n": n, "text": 'x\ny "q"'}), _streams, st.integers()),
    st.builds(lambda s: ("SCHEMA", s, {"type": "object", "properties": {}}), _streams),
    st.builds(lambda n: ("STATE", None, {"bookmarks": {"n": n}}), st.integers()),
)


def _line(message: tuple, compact: bool, ascii_only: bool) -> bytes:
    kind, stream, body = message
    if kind == "RECORD":
        document = {"type": kind, "stream": stream, "record": body}
    elif kind == "SCHEMA":
        document = {"type": kind, "stream": stream, "schema": body, "key_properties": []}
    else:
        document = {"type": kind, "value": body}
    separators = (",", ":") if compact else None
    return json.dumps(document, separators=separators, ensure_ascii=ascii_only).encode() + b"\n"


@given(
    st.lists(_message, max_size=60),
    st.booleans(),
    st.booleans(),
    st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=8),
)
def test_counts_equal_a_full_json_parse_however_the_output_is_chunked(messages, compact, ascii_only, cuts):
    lines = [_line(message, compact, ascii_only) for message in messages]
    expected = Counter(json.loads(line)["stream"] for line in lines if json.loads(line)["type"] == "RECORD")
    scanner = StreamScanner()
    position, turn = 0, 0
    while position < len(lines):  # chunks of whole lines, of varying sizes, as the relay hands them over
        size = cuts[turn % len(cuts)]
        scanner.scan(b"".join(lines[position : position + size]))
        position, turn = position + size, turn + 1
    assert scanner.records == expected
    assert scanner.lines == len(lines)


def test_a_bad_line_after_known_records_is_still_found():
    scanner = StreamScanner()
    scanner.scan(b'{"type": "SCHEMA", "stream": "users", "schema": {}}\n')
    good = b'{"type": "RECORD", "stream": "users", "record": {}}\n' * 3
    with pytest.raises(ProtocolError) as raised:
        scanner.scan(good + b"not json\n")
    assert raised.value.good_bytes == len(good)
    assert scanner.records["users"] == 3
