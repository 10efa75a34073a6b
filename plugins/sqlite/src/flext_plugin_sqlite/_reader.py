"""Reading Singer messages: one JSON object per line, numbered so that errors can say where.

The SDK's reader parses every number with a fraction as ``Decimal`` and logs
the whole offending line with a traceback when a line is not JSON; this one
parses numbers as Python does (``float``, which is what a REAL column holds),
refuses the non-JSON constants ``NaN`` and ``Infinity``, and turns every
problem of the input into an ``InputError`` naming the line.

Lines from standard input are parsed by orjson, straight from their bytes
(about twice as fast as the standard library, which needs them decoded
first). orjson and ``json`` agree on every line orjson accepts but one kind:
an integer beyond 64 bits, which orjson turns into a float. A line with a run
of 19 digits or more (where such an integer would be), and any line orjson
refuses, goes to the standard library's parser instead, so what a line means,
and the error a bad one gets, are what they always were.
"""

from __future__ import annotations

import json
import json.scanner
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Final, NoReturn

import orjson
from singer_sdk.exceptions import (
    InvalidJSONSchema,
    InvalidRecord,
    MappingError,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

from flext_plugin_sqlite.errors import InputError

__all__ = ["SingerLineReader", "one_line"]

_SDK_INPUT_ERRORS = (
    InvalidInputLine,
    InvalidJSONSchema,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


_decoder = json.JSONDecoder(parse_constant=_no_constants)
# What decode() runs, minus its two regular-expression matches per line.
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_decoder)  # type: ignore[arg-type]  # typeshed types the C scanner as a class


_DIGITS: Final = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER: Final = b"0" * 19
"""19 digits in a row: where an integer beyond orjson's 64 bits could be (2**63 has 19 digits)."""


def one_line(error: BaseException) -> str:
    """``error``'s message on one line (whitespace runs, newlines included, become one space)."""
    text = " ".join(str(error.args[0] if len(error.args) == 1 else error).split())
    return text or type(error).__name__


class SingerLineReader(SimpleSingerReader):
    """Singer messages from standard input (decoded as UTF-8) or a file; ``line`` is the current line."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        """The number of the line being processed (1 for the first)."""

    def deserialize_json(self, line: str) -> dict[str, Any]:
        """One line's message.

        Raises:
            InputError: The line is not a JSON object.

        """
        try:
            message = _decoder.decode(line)
        except ValueError as error:
            raise InputError(f"not a JSON message: {one_line(error)}") from None
        if type(message) is not dict:
            raise InputError(f"a Singer message is a JSON object, not {type(message).__name__}")
        return message

    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict[str, Any]], None]]
    ) -> Counter[str]:
        """Hand each line's message to the callback of its ``type``; return how many of each type came.

        Raises:
            InputError: A line is not a message, or its message is wrong (with the line's number).

        """
        source: Iterable[str | bytes] = file_input if file_input is not None else _stdin()
        counts: Counter[str] = Counter()
        deserialize = self.deserialize_json
        scan = _scan
        fast, digits, long_number = orjson.loads, _DIGITS, _LONG_NUMBER
        try:
            for self.line, raw in enumerate(source, 1):  # self.line: sinks read it
                message: Any = None
                if isinstance(raw, bytes):
                    if raw.translate(digits).find(long_number) < 0:
                        try:  # noqa: SIM105 - contextlib.suppress costs a context manager per line
                            message = fast(raw)
                        except orjson.JSONDecodeError:
                            pass  # the standard library's parser says why, or takes what orjson did not
                    if type(message) is not dict:
                        try:
                            text = raw.decode("utf-8")
                        except UnicodeDecodeError as error:
                            raise InputError(f"the input is not UTF-8 ({error.reason})") from None
                else:
                    text = raw
                if type(message) is not dict:
                    try:
                        message, end = scan(text, 0)
                        if end != len(text) and not text[end:].isspace():
                            raise ValueError(end)
                    except (ValueError, StopIteration):
                        if text.isspace():
                            continue  # a blank line carries nothing
                        message = deserialize(text)  # leading blanks, or the error with its explanation
                    if type(message) is not dict:
                        message = deserialize(text)  # raises, naming what came instead
                kind = message.get("type")
                callback = callbacks.get(kind) if type(kind) is str else None
                if callback is None:
                    raise InputError(f"unknown Singer message type {kind!r}")
                callback(message)
                counts[kind] += 1
        except InputError as error:
            if error.line is None:
                error.line = self.line
            raise
        except _SDK_INPUT_ERRORS as error:
            raise InputError(one_line(error), line=self.line) from error
        except MappingError as error:  # a stream map that does not fit the stream, or fails on a record
            raise InputError(f"stream maps: {one_line(error)}", line=self.line) from error
        except UnicodeDecodeError as error:
            raise InputError(f"the input is not UTF-8 ({error.reason})", line=self.line + 1) from None
        return counts


def _stdin() -> Iterator[bytes]:
    """Standard input's lines as bytes (UTF-8 whatever the locale), decoded one by one when parsed.

    Decoding line by line (not in 8 KiB chunks) keeps the lines before an
    invalid byte, and the error on the line that has it.
    """
    return iter(sys.stdin.buffer)
