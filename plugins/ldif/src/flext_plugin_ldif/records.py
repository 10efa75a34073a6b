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

The tap sends change records to ``changes`` instead unless ``changes_stream``
is false; ``RecordMaker``'s own defaults (DNs as written, members inline) are
those of the library, and the tap passes its settings explicitly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from glob import glob, has_magic
from os import PathLike
from pathlib import Path
from typing import Any, Final

from flext_plugin_ldif.dn import DnNormalizer, is_under
from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import LdifEntry, SearchResult, UrlValues, read_ldif
from flext_plugin_ldif.schema import DEFAULT_SCHEMA, Schema
from flext_plugin_ldif.timestamps import from_epoch, from_generalized_time

__all__ = [
    "CHANGES",
    "GROUP_CLASSES",
    "GROUP_MEMBERS",
    "OU_CLASSES",
    "STREAMS",
    "USER_CLASSES",
    "DnFilter",
    "RecordMaker",
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
"""The tap's entry streams, in the order they are synced."""
GROUP_MEMBERS: Final = "group_members"
"""The stream of (group, member) pairs, with ``group_members_stream``."""
CHANGES: Final = "changes"
"""The stream of change records, with ``changes_stream`` (the tap's default)."""
USER_CLASSES: Final = frozenset({"person", "inetorgperson", "organizationalperson", "user", "orcluser"})
"""Object classes (lower case) of the ``users`` stream."""
GROUP_CLASSES: Final = frozenset({"groupofnames", "groupofuniquenames", "posixgroup", "group", "orclgroup"})
"""Object classes (lower case) of the ``groups`` stream."""
OU_CLASSES: Final = frozenset({"organizationalunit"})
"""Object classes (lower case) of the ``organizational_units`` stream."""

_UNIQUE_MEMBER_UID = re.compile(r"#'[01]*'B$")
_MEMBER_ATTRIBUTES: Final = ("member", "uniquemember")
_CLASSIFY_CACHE_LIMIT: Final = 1024
_USER_COLUMNS: Final = (
    ("uid", "uid"), ("cn", "cn"), ("sn", "sn"), ("given_name", "givenname"), ("mail", "mail"),
    ("display_name", "displayname"),
)  # fmt: skip
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
    """Which entries are at or under a base DN, compared in the DN normal form (``flext_plugin_ldif.dn``)."""

    __slots__ = ("_base", "_normalize", "_suffix")

    def __init__(self, base_dn: str, schema: Schema = DEFAULT_SCHEMA) -> None:
        self._normalize = DnNormalizer(schema)
        self._base = self._normal(base_dn)
        self._suffix = "," + self._base

    def _normal(self, dn: str) -> str:
        try:
            return self._normalize(dn)
        except ValueError:  # not a DN: compared as text, ignoring case and the spaces around separators
            return _normal_dn(dn)

    def __call__(self, dn: str) -> bool:
        """True when ``dn`` is the base DN or under it."""
        return is_under(self._normal(dn), self._base)


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


class RecordMaker:
    """Builds the tap's records from entries (see the schemas in docs/plugins/ldif.md).

    Args:
        schema: The attribute schema (the DN normal form uses it).
        normalize_dn: ``dn`` (the key) is the DN normal form; otherwise the DN as written.
        group_members_stream: Member values go to ``group_members`` records, not into the group's record.

    """

    __slots__ = ("_group_members", "_normalize", "_sequence")

    def __init__(
        self,
        *,
        schema: Schema = DEFAULT_SCHEMA,
        normalize_dn: bool = False,
        group_members_stream: bool = False,
    ) -> None:
        self._normalize = DnNormalizer(schema) if normalize_dn else None
        self._group_members = group_members_stream
        self._sequence = 0

    def key_dn(self, dn: str, source: str, line: int) -> str:
        """The ``dn`` of a record: the normal form with ``normalize_dn``, else as written.

        Raises:
            LdifError: ``normalize_dn`` is on and ``dn`` is not a distinguished name.

        """
        if self._normalize is None:
            return dn
        try:
            return self._normalize(dn)
        except ValueError as exc:
            raise LdifError(source, line, f"{exc}; a DN is 'attr=value' RDNs separated by ','") from None

    def record(
        self, entry: LdifEntry, stream: str, object_classes: list[str], file_time: str, source: str
    ) -> dict[str, Any]:
        """The record of an entry for ``stream`` (an entry stream or ``changes``)."""
        attributes = entry.attributes
        dn = self.key_dn(entry.dn, source, entry.line)
        members = None
        if stream == "groups":
            if self._group_members:
                attributes = {k: v for k, v in attributes.items() if k not in _MEMBER_ATTRIBUTES}
            else:
                members = [self._member(value, source, entry.line) for value in _member_values(attributes)]
        record: dict[str, Any] = {
            "dn": dn,
            "written_dn": entry.dn,
            "parent_dn": parent_dn(dn),
            "object_classes": object_classes,
            "attributes": attributes,
            "binary_attributes": sorted(entry.binary.intersection(attributes)) if entry.binary else [],
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
        if stream == CHANGES:
            self._sequence += 1
            record["sequence"] = self._sequence
            record["file"] = source
            record["line"] = entry.line
        elif stream == "users":
            for column, name in _USER_COLUMNS:
                values = attributes.get(name)
                record[column] = values[0] if values else None
        elif stream == "groups":
            record["cn"] = _first(attributes, "cn")
            record["members"] = members
        elif stream == "organizational_units":
            record["ou"] = _first(attributes, "ou")
            record["description"] = _first(attributes, "description")
        return record

    def member_records(
        self, entry: LdifEntry, group: dict[str, Any], source: str
    ) -> Iterator[dict[str, Any]]:
        """The ``group_members`` records of a group entry: one per ``member``/``uniqueMember`` value."""
        group_dn, timestamp, change_type = group["dn"], group["modify_timestamp"], group["change_type"]
        for attribute in _MEMBER_ATTRIBUTES:
            for value in entry.attributes.get(attribute, ()):
                yield {
                    "group_dn": group_dn,
                    "member_dn": self._member(value, source, entry.line),
                    "attribute": attribute,
                    "written_member": value,
                    "change_type": change_type,
                    "modify_timestamp": timestamp,
                }

    def _member(self, value: str, source: str, line: int) -> str:
        """A member DN without a ``#'0101'B`` UID suffix; in the DN normal form with ``normalize_dn``."""
        if value.endswith("'B"):
            value = _UNIQUE_MEMBER_UID.sub("", value)
        if self._normalize is None:
            return value
        try:
            return self._normalize(value)
        except ValueError:
            return value  # not a DN (a directory may hold anything there): kept as written


def to_record(entry: LdifEntry, stream: str, object_classes: list[str], file_time: str) -> dict[str, Any]:
    """The record of an entry for ``stream`` with the default options (DNs as written, members inline)."""
    return RecordMaker().record(entry, stream, object_classes, file_time, "<entry>")


def entries_with_streams(
    files: Iterable[Path],
    *,
    encoding: str = "utf-8",
    base_dn: str | None = None,
    url_values: UrlValues | None = None,
    schema: Schema = DEFAULT_SCHEMA,
    on_search_result: Callable[[SearchResult], None] | None = None,
) -> Iterator[tuple[Path, LdifEntry, str, list[str]]]:
    """Every entry of the files (under ``base_dn``), with its file, stream and object classes.

    Args:
        files: The LDIF files.
        encoding: Their text encoding.
        base_dn: Only entries at or under this DN.
        url_values: Which ``attr:< URL`` values may be read (by default none: see ``UrlValues``).
        schema: Attribute aliases and binary syntaxes.
        on_search_result: Called with each successful ``ldapsearch`` trailer.

    Raises:
        LdifError: A file cannot be read or is not LDIF, or has a URL value that is not allowed.

    """
    under = DnFilter(base_dn, schema) if base_dn else None
    streams: dict[tuple[str, ...], str] = {}  # object classes -> stream: a few combinations per file
    for path in files:
        for entry in read_ldif(
            path, encoding=encoding, url_values=url_values, schema=schema, on_search_result=on_search_result
        ):
            if under is not None and not under(entry.dn):
                continue
            object_classes = object_classes_of(entry)
            key = tuple(object_classes)
            stream = streams.get(key)
            if stream is None:
                stream = classify(object_classes)
                if len(streams) < _CLASSIFY_CACHE_LIMIT:
                    streams[key] = stream
            yield path, entry, stream, object_classes


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


def _member_values(attributes: dict[str, list[str]]) -> Iterator[str]:
    yield from attributes.get("member", ())
    yield from attributes.get("uniquemember", ())
