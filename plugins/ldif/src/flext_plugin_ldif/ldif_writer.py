"""Write LDIF that any RFC 2849 reader accepts: base64 where needed, long lines folded.

A value is written plain (``attr: value``) only when RFC 2849 allows it and
OpenLDAP reads it back the same: ASCII, no NUL/CR/LF, not starting with a
space, TAB, VT, FF (which OpenLDAP drops), ``:`` or ``<``, not ending with a
space. Anything else (non-ASCII names included) is written ``attr:: base64``
of its UTF-8 bytes. Lines longer than ``width`` characters are folded.
``format_entry(entry)`` of an entry read by ``parse_ldif`` reads back as the
same entry.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import TextIO

from flext_plugin_ldif.ldif_parser import LdifEntry

__all__ = ["fold", "format_entry", "format_line", "needs_base64", "write_ldif"]

# The first character may not be one OpenLDAP drops after ':' (space, TAB, VT, FF), ':' or '<'.
_SAFE = re.compile(r"[\x01-\x08\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*")
WIDTH = 76
"""The default line length (RFC 2849 recommends at most 76 characters)."""


def needs_base64(value: str) -> bool:
    """True when RFC 2849 requires (or advises) writing ``value`` base64-encoded."""
    return bool(value) and (_SAFE.fullmatch(value) is None or value[-1] == " ")


def fold(line: str, width: int = WIDTH) -> str:
    """Fold a logical line into lines of at most ``width`` characters, continuations starting with a space.

    Raises:
        ValueError: ``width`` is less than 2.

    """
    if width < 2:
        raise ValueError("the line width must be at least 2")
    if len(line) <= width:
        return line
    step = width - 1
    parts = [line[:width]]
    parts.extend(" " + line[start : start + step] for start in range(width, len(line), step))
    return "\n".join(parts)


def format_line(name: str, value: str, *, binary: bool = False, width: int = WIDTH) -> str:
    """One ``name: value`` (or ``name:: base64``) line, folded, without the line end.

    Args:
        name: The attribute description (``cn``, ``cn;lang-en``).
        value: The value; with ``binary``, a base64 string written as is after ``::``.
        binary: ``value`` is already base64 (an attribute listed in ``LdifEntry.binary``).
        width: Fold lines longer than this; 0 turns folding off.

    """
    if binary:
        line = f"{name}:: {value}"
    elif needs_base64(value):
        line = f"{name}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
    else:
        line = f"{name}: {value}" if value else f"{name}:"
    return fold(line, width) if width else line


def format_entry(entry: LdifEntry, *, width: int = WIDTH) -> str:
    """The LDIF record of an entry (content or change record), ending with a blank line.

    Args:
        entry: The entry.
        width: Fold lines longer than this; 0 turns folding off.

    """
    lines = [format_line("dn", entry.dn, width=width)]
    for control in entry.controls:
        spec = control.oid + (" true" if control.critical else "")
        if control.value is None:
            lines.append(fold(f"control: {spec}", width) if width else f"control: {spec}")
        else:
            lines.append(format_line(f"control: {spec}", control.value, binary=control.binary, width=width))
    if entry.is_change:
        lines.append(f"changetype: {entry.change_type}")
    if entry.change_type == "modify":
        for modification in entry.modifications:
            lines.append(f"{modification.operation}: {modification.attribute}")
            lines.extend(
                format_line(modification.attribute, value, binary=modification.binary, width=width)
                for value in modification.values
            )
            lines.append("-")
    elif entry.change_type == "modrdn":
        lines.append(format_line("newrdn", entry.new_rdn or "", width=width))
        lines.append(f"deleteoldrdn: {1 if entry.delete_old_rdn else 0}")
        if entry.new_superior is not None:
            lines.append(format_line("newsuperior", entry.new_superior, width=width))
    else:
        for name, values in entry.attributes.items():
            binary = name in entry.binary
            lines.extend(format_line(name, value, binary=binary, width=width) for value in values)
    return "\n".join(lines) + "\n\n"


def write_ldif(
    target: TextIO, entries: Iterable[LdifEntry], *, version: bool = True, width: int = WIDTH
) -> int:
    """Write entries as an LDIF document; returns how many were written.

    Args:
        target: A text stream (a file opened with ``newline=""`` keeps LF line ends everywhere).
        entries: The entries.
        version: Start with ``version: 1``.
        width: Fold lines longer than this; 0 turns folding off.

    """
    if version:
        target.write("version: 1\n\n")
    count = 0
    for entry in entries:
        target.write(format_entry(entry, width=width))
        count += 1
    return count
