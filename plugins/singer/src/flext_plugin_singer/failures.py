"""Which stderr line says why a tap, mapper or target failed.

A failed run's message is one line, and the last line of stderr is often
not the one: SQLAlchemy ends its exceptions with ``(Background on this error
at: https://sqlalche.me/...)``, the Meltano SDK logs the cause first and a
generic ``Config validation failed`` last, and a killed process's last line
is whatever it printed before, often an unrelated warning. ``Diagnosis``
reads the lines as they come (so a traceback longer than any kept tail still
counts) and picks, in order:

1. the Meltano SDK's trailing run of ``ERROR``/``CRITICAL`` lines, joined
   (their timestamps and logger names dropped);
2. the most recent of: the exception line that ends a traceback (the first
   unindented line after the last ``Traceback (most recent call last):``),
   or a line that says it is an error (``error:``, ``Error:``, ``ERROR``,
   ``CRITICAL``, ``FATAL``, ``panic:``, an SDK ``ERROR`` line, or one that
   names an exception class, ``sqlalchemy.exc.DataError: ...``);
3. for a process that exited with a code, the last line that is not noise;
   for one killed by a signal, nothing: what it printed last did not kill it.

Noise is never picked: SQLAlchemy's background link and its ``[SQL: ...]``
and ``[parameters: ...]`` echoes, log lines below ``ERROR`` (the SDK's,
Python's ``logging`` and ``warnings`` formats), indented lines outside a
traceback, and Python's "During handling of the above exception" joiners.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

__all__ = ["Diagnosis", "failure_summary"]

# The Meltano SDK's format: "2026-11-24 21:14:24,448 | ERROR    | tap-ldif    | 'files' is required"
_SDK_LOG_LINE: Final = re.compile(r"^\S+ \S+ \| (?P<level>[A-Z]+) *\| [^|]*\| (?P<message>.*)$")
_TRACEBACK: Final = "Traceback (most recent call last):"
_NOISE: Final = re.compile(
    r"^\(Background on this error at: \S+\)$"  # SQLAlchemy
    r"|^\[(?:SQL|parameters): "  # SQLAlchemy's echo of the statement and its values
    r"|^(?:WARNING|INFO|DEBUG)[: ]"  # logging's default format, singer-python's
    r"|^\S+:\d+: \w*Warning: "  # the warnings module
    r"|^(?:The above exception was the direct cause|During handling of the above exception)"
    r"|^\S*_RemoteTraceback:"  # joblib's wrapper around a worker's traceback
    r'|^"""$'
)
_SAYS_ERROR: Final = re.compile(
    r"^(?:error|Error|ERROR|CRITICAL|FATAL|fatal|panic)\b[:\s]"
    r"|^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Failure|Fault)(?::|$)"
)


@dataclass
class Diagnosis:
    """Fed a process's stderr line by line (``feed``); ``summary`` says why it failed, in one line."""

    _sequence: int = 0
    _in_traceback: bool = False
    _sdk_errors: list[str] = field(default_factory=list)
    _exception: tuple[int, str] | None = None
    _error: tuple[int, str] | None = None
    _last: str | None = None

    def feed(self, line: str) -> None:
        """Take one line (without its newline)."""
        self._sequence += 1
        text = line.rstrip()
        if not text.strip():
            return
        if text.strip() == _TRACEBACK:
            self._in_traceback, self._sdk_errors = True, []
            return
        if self._in_traceback:
            if text[0].isspace():
                return  # a frame
            self._in_traceback = False
            self._exception = (self._sequence, text)
            self._sdk_errors = []
            return
        sdk = _SDK_LOG_LINE.match(text)
        if sdk is not None:
            if sdk["level"] in ("ERROR", "CRITICAL"):
                message = sdk["message"].strip()
                self._sdk_errors.append(message)
                self._error = (self._sequence, message)
                self._last = message
            return  # below ERROR: noise, and it does not end the run of errors
        if text[0].isspace() or _NOISE.search(text):
            return
        self._sdk_errors = []
        self._last = text
        if _SAYS_ERROR.search(text):
            self._error = (self._sequence, text)

    def summary(self, *, killed: bool = False) -> str:
        """The line that says what failed (see the module); empty when there is none to say."""
        if self._sdk_errors:
            return "; ".join(self._sdk_errors[-3:])
        found = max((item for item in (self._exception, self._error) if item is not None), default=None)
        if found is not None:
            return _unprefixed(found[1])
        if killed or self._last is None:
            return ""
        return _unprefixed(self._last)


def failure_summary(lines: list[str], *, killed: bool = False) -> str:
    """``Diagnosis`` of ``lines`` at once: the line that says why the process failed."""
    diagnosis = Diagnosis()
    for line in lines:
        diagnosis.feed(line)
    return diagnosis.summary(killed=killed)


def _unprefixed(line: str) -> str:
    """A FLEXT connector already says ``error: ... (CODE)``; the run's own error line adds the prefix."""
    return line.strip().removeprefix("error: ")
