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
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["WIDTH", "BaseRewrite", "format_record", "parent_of", "split_rdns"]

WIDTH: Final = 76
"""Longest line written; longer ones are folded."""

# RFC 2849 SAFE-STRING, not starting with a tab, VT or FF (OpenLDAP, like the ldif plugin, drops them
# after the ':') nor ending with a space: such a value is written as it is.
_SAFE = re.compile(r"[\x01-\x08\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*(?<! )")
_safe = _SAFE.fullmatch


def _fold(text: str) -> str:
    parts = [text[:WIDTH]]
    parts += [" " + text[start : start + WIDTH - 1] for start in range(WIDTH, len(text), WIDTH - 1)]
    return "\n".join(parts) + "\n"


def _line(name: str, value: str | bytes) -> str:
    if isinstance(value, str) and (not value or _safe(value)):
        text = f"{name}: {value}"
    else:
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        text = f"{name}:: {base64.b64encode(raw).decode('ascii')}"
    return text + "\n" if len(text) <= WIDTH else _fold(text)


def format_record(dn: str, attributes: Iterable[tuple[str, Iterable[str | bytes]]]) -> str:
    """One entry as LDIF text, ended by a blank line."""
    lines = [_line("dn", dn)]
    for name, values in attributes:
        for value in values:
            if type(value) is str and len(value) + len(name) < WIDTH - 1 and _safe(value):
                lines.append(f"{name}: {value}\n")  # the common case, inline
            else:
                lines.append(_line(name, value))
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
