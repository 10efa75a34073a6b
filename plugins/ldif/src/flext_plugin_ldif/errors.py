"""The one error of the LDIF plugin.

::

    ValueError
     └── LdifError    a file that cannot be read as LDIF: where (file, line) and how to fix it

Everything that goes wrong with the input (a missing file, a malformed line, a
bad base64 value, bytes that are not in the configured encoding) is an
``LdifError``; anything else that escapes the parser is a bug.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LdifError"]


class LdifError(ValueError):
    """An LDIF input that cannot be read, with where it went wrong and what to do about it.

    ``str(error)`` is ``"<file>:<line>: <what is wrong and how to fix it>"``
    (without ``:<line>`` when the problem is the file as a whole).
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        """The file (or ``<string>``) being read."""
        self.line = line
        """1-based line number where the problem is, or None for the whole file."""
        self.reason = reason
        """What is wrong and how to fix it, without the location."""
        super().__init__(f"{self.location}: {reason}")

    @property
    def location(self) -> str:
        """``file:line`` (or just ``file``)."""
        return self.source if self.line is None else f"{self.source}:{self.line}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.source, self.line, self.reason))
