"""Writing LDIF records (RFC 2849), and splitting and rewriting DNs as written.

The migration writes every phase's output itself, so what reaches
``ldapadd`` is under its control: a value is written base64 when it is bytes
or when RFC 2849 does not allow it as written (not ASCII, a leading space,
``:`` or ``<``, a trailing space, a line end), and lines are folded at 76
characters. Reading is the ``ldif`` plugin's (``LdifReader``); DN normal forms
come from it too, so this module only splits and joins DNs as written.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Final

__all__ = ["WIDTH", "BaseRewrite", "format_record", "parent_of", "split_rdns"]

WIDTH: Final = 76
"""Longest line written; longer ones are folded."""

_UNSAFE_START = frozenset(" :<")


def _line(name: str, value: str | bytes) -> str:
    if isinstance(value, bytes):
        text = f"{name}:: {base64.b64encode(value).decode('ascii')}"
    elif value and (
        not value.isascii()
        or value[0] in _UNSAFE_START
        or value[-1] == " "
        or "\n" in value
        or "\r" in value
        or "\x00" in value
    ):
        text = f"{name}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
    else:
        text = f"{name}: {value}"
    if len(text) <= WIDTH:
        return text + "\n"
    parts = [text[:WIDTH]]
    parts += [" " + text[start : start + WIDTH - 1] for start in range(WIDTH, len(text), WIDTH - 1)]
    return "\n".join(parts) + "\n"


def format_record(dn: str, attributes: Iterable[tuple[str, Iterable[str | bytes]]]) -> str:
    """One entry as LDIF text, ended by a blank line."""
    lines = [_line("dn", dn)]
    lines += [_line(name, value) for name, values in attributes for value in values]
    lines.append("\n")
    return "".join(lines)


def split_rdns(dn: str) -> list[str]:
    """The RDNs of ``dn`` as written (blanks around them removed); escaped commas and quotes respected."""
    if "\\" not in dn and '"' not in dn:
        return [part.strip() for part in dn.split(",")] if dn.strip() else []
    parts: list[str] = []
    current: list[str] = []
    escaped = quoted = False
    for character in dn:
        if escaped:
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == '"':
            quoted = not quoted
        elif character == "," and not quoted:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(character)
    parts.append("".join(current).strip())
    return parts


def parent_of(dn: str) -> str | None:
    """The parent of ``dn`` as written, or None for a one-RDN DN."""
    rdns = split_rdns(dn)
    return ",".join(rdns[1:]) if len(rdns) > 1 else None


class BaseRewrite:
    """Moves DNs from the source suffix to the target suffix, keeping the RDNs above it as written."""

    def __init__(self, source: str, target: str, source_normal: str) -> None:
        """``source_normal`` is the source suffix's normal form (``LdifReader.normalize_dn``)."""
        self.source = source
        """The source suffix, as written in the project."""
        self.target = ",".join(split_rdns(target))
        """The target suffix (blanks after commas removed)."""
        self._normal = source_normal
        self._suffix = "," + source_normal
        self._count = len(split_rdns(source))

    def __call__(self, dn: str, normal_dn: str) -> str | None:
        """``dn`` moved under the target suffix, or None when it is not under the source suffix."""
        if normal_dn == self._normal:
            return self.target
        if not normal_dn.endswith(self._suffix):
            return None
        rdns = split_rdns(dn)
        return ",".join([*rdns[: len(rdns) - self._count], self.target])
