"""Reading the Singer stream that passes from a tap to a target, at the speed of the pipe.

flext sits between the tap and the target to count records per stream and
to notice a broken tap early. Parsing every RECORD as JSON would make flext
the slowest process of the pipeline, so records written the way taps write
them (``{"type": "RECORD", "stream": "users", ...}``, with or without spaces)
are counted over a whole chunk, by a substring count per known stream or one
regular expression; every other line (SCHEMA, STATE, a record in an unusual
layout) is parsed and checked. The target parses records fully anyway and
fails on a broken one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["MESSAGE_TYPES", "ProtocolError", "StreamScanner"]

MESSAGE_TYPES: Final = frozenset({"RECORD", "SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH"})
"""Singer message types a tap may send."""

# How a RECORD line starts after its newline: with json.dumps' default separators, or compact.
_RECORD_PREFIXES: Final = (b'\n{"type": "RECORD", "stream": "', b'\n{"type":"RECORD","stream":"')
_RECORD_LINE = re.compile(rb'^\{"type": ?"RECORD", ?"stream": ?"((?:[^"\\\n]|\\.)*)"', re.MULTILINE)


class ProtocolError(Exception):
    """A tap wrote something that is not a Singer message; carries the line number and an excerpt."""

    def __init__(self, line_number: int, excerpt: str, reason: str) -> None:
        super().__init__(f"line {line_number}: {reason}: {excerpt!r}")
        self.line_number = line_number
        self.reason = reason
        self.excerpt = excerpt
        self.good_bytes = 0
        """How many bytes of the scanned chunk, before the bad line, were good."""


@dataclass
class StreamScanner:
    """Counts records per stream in complete lines of tap output and checks the other lines."""

    records: Counter[str] = field(default_factory=Counter)
    """Records seen per stream."""
    schemas: set[str] = field(default_factory=set)
    """Streams a SCHEMA was seen for."""
    last_tap_state: dict[str, Any] | None = None
    """The tap's latest STATE (not persisted: only the target's confirmed state is)."""
    lines: int = 0
    """Lines scanned so far."""
    _layout: int = field(default=0, repr=False)
    _prefixes: dict[tuple[str, int], bytes] = field(default_factory=dict, repr=False)

    def scan(self, chunk: bytes) -> None:
        """Scan ``chunk`` (whole lines, each ending in a newline).

        Raises ``ProtocolError`` at the first line that is not a Singer
        message, after counting the lines before it; its ``good_bytes`` says
        how much of the chunk the caller may still forward.
        """
        total = chunk.count(b"\n")
        if self._count_known_streams(chunk, total):
            return
        fast = _RECORD_LINE.findall(chunk)
        if len(fast) == total:
            self.records.update(_stream_name(name) for name in fast)
            self.lines += total
            return
        self._scan_slowly(chunk)

    def _count_known_streams(self, chunk: bytes, total: int) -> bool:
        """Count a chunk of nothing but RECORDs of streams with a SCHEMA already, with ``bytes.count``.

        Several times faster than the regular expression: one substring
        count per known stream, in the layout the tap used last. False
        (nothing counted) when the counts do not account for every line.
        """
        if not self.schemas or not total:
            return False
        counts = {}
        for stream in self.schemas:
            prefix = self._prefixes.get((stream, self._layout))
            if prefix is None:
                prefix = _RECORD_PREFIXES[self._layout] + stream.encode() + b'"'
                self._prefixes[(stream, self._layout)] = prefix
            counts[stream] = chunk.count(prefix) + chunk.startswith(prefix[1:])
        counted = sum(counts.values())
        if counted != total:
            other = _RECORD_PREFIXES[1 - self._layout]
            if not counted and (other in chunk or chunk.startswith(other[1:])):
                self._layout = 1 - self._layout  # the tap writes the other layout
            return False  # a SCHEMA or STATE line in the chunk, or records of a new stream
        self.records.update(counts)
        self.lines += total
        return True

    def _scan_slowly(self, chunk: bytes) -> None:
        offset = 0
        for line in chunk.split(b"\n")[:-1]:
            self.lines += 1
            match = _RECORD_LINE.match(line)
            if match is not None:
                self.records[_stream_name(match.group(1))] += 1
            elif line.strip():
                try:
                    self._check(line)
                except ProtocolError as error:
                    error.good_bytes = offset
                    raise
            offset += len(line) + 1

    def _check(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            raise ProtocolError(self.lines, _excerpt(line), "not JSON") from None
        if not isinstance(message, dict):
            raise ProtocolError(self.lines, _excerpt(line), "not a JSON object")
        kind = message.get("type")
        if kind not in MESSAGE_TYPES:
            raise ProtocolError(self.lines, _excerpt(line), f"unknown message type {kind!r}")
        stream = message.get("stream")
        if kind == "RECORD":
            if not isinstance(stream, str) or not isinstance(message.get("record"), dict):
                raise ProtocolError(self.lines, _excerpt(line), "RECORD without a stream or a record object")
            self.records[stream] += 1
        elif kind == "SCHEMA":
            if not isinstance(stream, str) or not isinstance(message.get("schema"), dict):
                raise ProtocolError(self.lines, _excerpt(line), "SCHEMA without a stream or a schema object")
            self.schemas.add(stream)
        elif kind == "STATE":
            value = message.get("value")
            if not isinstance(value, dict):
                raise ProtocolError(self.lines, _excerpt(line), "STATE without a value object")
            self.last_tap_state = value


def parse_state_line(line: bytes) -> dict[str, Any] | None:
    """The state a target confirmed on this stdout line, or None for any other output.

    Singer targets print the confirmed state as a bare JSON object (what
    singer-python and the Meltano SDK do); some wrap it as a STATE message.
    Both are accepted; a line that is not a JSON object is the target's own
    chatter and is ignored.
    """
    stripped = line.strip()
    if not stripped.startswith(b"{"):
        return None
    try:
        message = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if message.get("type") == "STATE":
        value = message.get("value")
        return value if isinstance(value, dict) else None
    return None if "type" in message else message


def _stream_name(raw: bytes) -> str:
    r"""A stream name as written inside its JSON quotes, unescaped (``\u00e9`` is ``é``)."""
    if b"\\" not in raw:
        return raw.decode()
    name: str = json.loads(b'"' + raw + b'"')
    return name


def _excerpt(line: bytes, limit: int = 80) -> str:
    text = line.decode("utf-8", "replace")
    return text if len(text) <= limit else text[: limit - 3] + "..."
