"""From LDIF entries to the tap's records: which stream an entry belongs to, and its columns.

No Singer SDK here: ``flext data ldif inspect`` classifies entries with the
same rules as the tap without loading it.

Streams, by object class (case-insensitive; the first that matches wins):

========================  ===========================================================
``users``                 person, inetOrgPerson, organizationalPerson, user, orclUser
``groups``                groupOfNames, groupOfUniqueNames, posixGroup, group, orclGroup
``organizational_units``  organizationalUnit
``other``                 everything else (also change records that name no object class)
========================  ===========================================================
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from glob import glob, has_magic
from os import PathLike
from pathlib import Path
from typing import Any, Final

from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import LdifEntry, UrlValues, read_ldif
from flext_plugin_ldif.timestamps import from_epoch, from_generalized_time

__all__ = [
    "GROUP_CLASSES",
    "OU_CLASSES",
    "STREAMS",
    "USER_CLASSES",
    "DnFilter",
    "classify",
    "entries_with_streams",
    "expand_files",
    "file_time",
    "object_classes_of",
    "parent_dn",
    "to_record",
    "url_values",
]

STREAMS: Final = ("users", "groups", "organizational_units", "other")
"""The tap's streams, in the order they are synced."""
USER_CLASSES: Final = frozenset({"person", "inetorgperson", "organizationalperson", "user", "orcluser"})
"""Object classes (lower case) of the ``users`` stream."""
GROUP_CLASSES: Final = frozenset({"groupofnames", "groupofuniquenames", "posixgroup", "group", "orclgroup"})
"""Object classes (lower case) of the ``groups`` stream."""
OU_CLASSES: Final = frozenset({"organizationalunit"})
"""Object classes (lower case) of the ``organizational_units`` stream."""

_UNIQUE_MEMBER_UID = re.compile(r"#'[01]*'B$")
_ESCAPED = re.compile(r"\\.|\"[^\"]*\"|,")
_SEPARATOR_SPACES = re.compile(r"\s*([,=+])\s*")


def classify(object_classes: Iterable[str]) -> str:
    """The stream of an entry with these object classes (any case)."""
    lowered = {name.lower() for name in object_classes}
    if not lowered.isdisjoint(USER_CLASSES):
        return "users"
    if not lowered.isdisjoint(GROUP_CLASSES):
        return "groups"
    if not lowered.isdisjoint(OU_CLASSES):
        return "organizational_units"
    return "other"


def object_classes_of(entry: LdifEntry) -> list[str]:
    """The object classes of an entry: its ``objectClass`` values, or those a modify record adds or sets."""
    if entry.change_type == "modify":
        return [
            value
            for modification in entry.modifications
            if modification.attribute == "objectclass" and modification.operation in ("add", "replace")
            for value in modification.values
        ]
    return list(entry.attributes.get("objectclass", ()))


def parent_dn(dn: str) -> str | None:
    """The DN of the parent entry (None for a top-level or empty DN); escaped commas are respected."""
    if "\\" not in dn and '"' not in dn:
        _, comma, parent = dn.partition(",")
        return parent.lstrip(" ") or None if comma else None
    for match in _ESCAPED.finditer(dn):
        if match.group() == ",":
            return dn[match.end() :].lstrip(" ") or None
    return None


def _normal_dn(dn: str) -> str:
    """A DN lower-cased without the spaces around ``,``, ``=`` and ``+`` (for the base DN comparison)."""
    return _SEPARATOR_SPACES.sub(r"\1", dn.strip().lower())


class DnFilter:
    """Which entries are at or under a base DN (case- and space-insensitive)."""

    __slots__ = ("_base", "_suffix")

    def __init__(self, base_dn: str) -> None:
        self._base = _normal_dn(base_dn)
        self._suffix = "," + self._base

    def __call__(self, dn: str) -> bool:
        """True when ``dn`` is the base DN or under it."""
        if not self._base:
            return True
        normal = _normal_dn(dn)
        if normal == self._base:
            return True
        if not normal.endswith(self._suffix):
            return False
        # The comma before the base must separate RDNs, not be an escaped comma inside a value.
        before = normal[: len(normal) - len(self._suffix)]
        return (len(before) - len(before.rstrip("\\"))) % 2 == 0


def expand_files(patterns: Iterable[str | PathLike[str]]) -> list[Path]:
    """The files named by paths or glob patterns (``~`` expanded; each pattern's matches sorted).

    Raises:
        LdifError: A path does not exist or a pattern matches no file.

    """
    files: list[Path] = []
    for pattern in patterns:
        text = os.path.expanduser(str(pattern))
        if has_magic(text):
            matches = sorted(Path(match) for match in glob(text, recursive=True) if os.path.isfile(match))
            if not matches:
                raise LdifError(text, None, "this pattern matches no file; check the 'files' setting")
            files.extend(matches)
        elif os.path.isfile(text):
            files.append(Path(text))
        else:
            raise LdifError(text, None, "no such file; check the 'files' setting")
    return files


def to_record(entry: LdifEntry, stream: str, object_classes: list[str], file_time: str) -> dict[str, Any]:
    """The record of an entry for ``stream`` (see the schemas in docs/plugins/ldif.md).

    Args:
        entry: The entry.
        stream: Its stream (``classify`` of its object classes).
        object_classes: Its object classes (``object_classes_of``).
        file_time: The canonical mtime of its file, for entries without ``modifyTimestamp``.

    """
    attributes = entry.attributes
    record: dict[str, Any] = {
        "dn": entry.dn,
        "parent_dn": parent_dn(entry.dn),
        "object_classes": object_classes,
        "attributes": attributes,
        "binary_attributes": sorted(entry.binary) if entry.binary else [],
        "change_type": entry.change_type,
        "modify_timestamp": _modify_timestamp(entry) or file_time,
        "modifications": [
            {
                "operation": modification.operation,
                "attribute": modification.attribute,
                "values": list(modification.values),
                "binary": modification.binary,
            }
            for modification in entry.modifications
        ]
        if entry.modifications
        else None,
        "new_rdn": entry.new_rdn,
        "delete_old_rdn": entry.delete_old_rdn,
        "new_superior": entry.new_superior,
    }
    if stream == "users":
        record["uid"] = _first(attributes, "uid")
        record["cn"] = _first(attributes, "cn")
        record["sn"] = _first(attributes, "sn")
        record["given_name"] = _first(attributes, "givenname")
        record["mail"] = _first(attributes, "mail")
        record["display_name"] = _first(attributes, "displayname")
    elif stream == "groups":
        record["cn"] = _first(attributes, "cn")
        record["members"] = _members(attributes)
    elif stream == "organizational_units":
        record["ou"] = _first(attributes, "ou")
        record["description"] = _first(attributes, "description")
    return record


def entries_with_streams(
    files: Iterable[Path],
    *,
    encoding: str = "utf-8",
    base_dn: str | None = None,
    url_values: UrlValues | None = None,
) -> Iterator[tuple[Path, LdifEntry, str, list[str]]]:
    """Every entry of the files (under ``base_dn``), with its file, stream and object classes.

    Args:
        files: The LDIF files.
        encoding: Their text encoding.
        base_dn: Only entries at or under this DN.
        url_values: Which ``attr:< URL`` values may be read (by default none: see ``UrlValues``).

    Raises:
        LdifError: A file cannot be read or is not LDIF, or has a URL value that is not allowed.

    """
    under = DnFilter(base_dn) if base_dn else None
    for path in files:
        for entry in read_ldif(path, encoding=encoding, url_values=url_values):
            if under is not None and not under(entry.dn):
                continue
            object_classes = object_classes_of(entry)
            yield path, entry, classify(object_classes), object_classes


def url_values(
    allow: bool,
    directory: str | PathLike[str] | None,
    *,
    allow_setting: str,
    directory_setting: str,
    how_to_allow: str,
) -> UrlValues:
    """The URL values the tap's settings (or ``inspect``'s options) allow: by default none.

    Shared by the tap and ``flext data ldif inspect`` so both refuse the same
    values; each names its own settings, so that the messages tell the user
    what to change where they are.

    Args:
        allow: ``allow_url_values``: whether ``file:`` URL values are read at all.
        directory: ``url_values_dir``: the directory they may read from (required when ``allow``).
        allow_setting: The name of the ``allow`` setting, for the messages.
        directory_setting: The name of the ``directory`` setting, for the messages.
        how_to_allow: The end of the message refusing a URL value when ``allow`` is false.

    Raises:
        LdifError: ``allow`` without a ``directory``, or a ``directory`` that does not exist.

    """
    if not allow:
        return UrlValues(how_to_allow=how_to_allow, directory_setting=directory_setting)
    if not directory:
        raise LdifError(
            allow_setting,
            None,
            f"URL values are allowed, but {directory_setting} is not set; set it to the directory holding "
            "the files that 'attr:< file:///...' values name (files outside it are not read)",
        )
    return UrlValues.under(directory, how_to_allow=how_to_allow, directory_setting=directory_setting)


def file_time(path: Path) -> str:
    """The canonical modification time of a file.

    Raises:
        LdifError: The file cannot be read.

    """
    try:
        return from_epoch(path.stat().st_mtime)
    except OSError as exc:
        raise LdifError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from None


def _modify_timestamp(entry: LdifEntry) -> str | None:
    """The canonical ``modifyTimestamp`` of an entry (a modify record's replaced value counts), or None."""
    values = entry.attributes.get("modifytimestamp")
    if values is None and entry.modifications:
        values = next(
            (
                list(modification.values)
                for modification in entry.modifications
                if modification.attribute == "modifytimestamp"
                and modification.operation in ("add", "replace")
            ),
            None,
        )
    if not values or "modifytimestamp" in entry.binary:
        return None
    return from_generalized_time(values[0])


def _first(attributes: dict[str, list[str]], name: str) -> str | None:
    values = attributes.get(name)
    return values[0] if values else None


def _members(attributes: dict[str, list[str]]) -> list[str]:
    members = list(attributes.get("member", ()))
    for value in attributes.get("uniquemember", ()):
        members.append(_UNIQUE_MEMBER_UID.sub("", value) if value.endswith("'B") else value)
    return members
