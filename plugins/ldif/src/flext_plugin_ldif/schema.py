"""What the LDAP schema says about attribute names: aliases, binary syntaxes, case in DNs.

A directory knows ``commonName``, ``CN`` and ``2.5.4.3`` as one attribute,
``cn``; stores ``jpegPhoto`` and ``audio`` as octets whatever the bytes look
like; and compares ``cn=Ada`` and ``cn=ada`` as one RDN but not two
``caseExactMatch`` values that differ in case. ``Schema`` holds those facts
for the parser and the tap:

- ``canonical("commonName;Lang-PT")`` is ``"cn;lang-pt"``: the first NAME of
  the attribute type, lower-cased, with its options lower-cased and kept;
  an unknown name is only lower-cased;
- ``is_binary(name)``: the attribute's syntax is one whose values are octets
  (Audio, Binary, Certificate, Certificate List, Certificate Pair, Fax,
  JPEG, Octet String, Supported Algorithm), or it has the ``;binary`` option,
  or it is in the configured list;
- ``case_exact(name)``: its equality rule compares case (``caseExactMatch``,
  ``octetStringMatch``...); DN values of other types are compared lower-cased.

``DEFAULT_SCHEMA`` holds the attribute types of OpenLDAP's schema (its
built-in system schema and the schema files Debian ships), generated from a
running slapd's ``cn=Subschema`` by ``plugins/ldif/tools/generate_schema_table.py``,
plus a few binary attributes of other directories (Active Directory's
``thumbnailPhoto``, Exchange GUIDs and SIDs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from flext_plugin_ldif._schema_table import ALIASES, BINARY, CASE_EXACT

__all__ = [
    "BINARY_SYNTAXES",
    "CASE_EXACT_RULES",
    "DEFAULT_SCHEMA",
    "EXTRA_BINARY",
    "AttributeType",
    "Schema",
    "parse_attribute_types",
]

BINARY_SYNTAXES: Final = frozenset(
    f"1.3.6.1.4.1.1466.115.121.1.{number}" for number in (4, 5, 8, 9, 10, 23, 28, 40, 49)
)
"""Syntaxes whose values are octets: Audio, Binary, Certificate, CertificateList, CertificatePair,
Fax, JPEG, Octet String, Supported Algorithm (RFC 4517 and its predecessors)."""
CASE_EXACT_RULES: Final = frozenset(
    {"caseexactmatch", "caseexactia5match", "octetstringmatch", "bitstringmatch", "csnmatch", "authzmatch"}
)
"""Equality matching rules (lower case) that compare case."""
EXTRA_BINARY: Final = frozenset(
    {
        "thumbnailphoto",
        "msexchmailboxguid",
        "msexcharchiveguid",
        "msexchmasteraccountsid",
        "msexchmailboxsecuritydescriptor",
        "msexchsafesendershash",
        "msexchblockedsendershash",
        "msexchsaferecipientshash",
    }
)
"""Binary attributes of directories whose schema OpenLDAP does not ship (lower case)."""

_DESCRIPTION = re.compile(r"\(\s*(?P<oid>[0-9.]+|[A-Za-z][\w.-]*)\s*(?P<rest>.*)\)\s*$", re.DOTALL)
_NAMES = re.compile(r"\bNAME\s+(?:'(?P<one>[^']*)'|\((?P<many>[^)]*)\))")
_FIELD = re.compile(r"\b(?P<key>SUP|EQUALITY|SYNTAX)\s+(?P<value>[^\s{)]+)")
_QUOTED = re.compile(r"'([^']*)'")


@dataclass(frozen=True, slots=True)
class AttributeType:
    """One attribute type description (RFC 4512 ``attributeTypes`` value), as far as the tap needs it."""

    oid: str
    """Its OID."""
    names: tuple[str, ...]
    """Its names, the first being the canonical one (may be empty)."""
    sup: str | None
    """The type it derives from, if any."""
    equality: str | None
    """Its equality matching rule (before inheritance)."""
    syntax: str | None
    """Its syntax OID without a length bound (before inheritance)."""


def parse_attribute_types(descriptions: Iterable[str]) -> list[AttributeType]:
    """Parse ``attributeTypes`` values (``( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )``).

    Raises:
        ValueError: A description is not of that form.

    """
    types: list[AttributeType] = []
    for description in descriptions:
        match = _DESCRIPTION.match(description.strip())
        if match is None:
            raise ValueError(f"not an attribute type description: {description[:80]!r}")
        rest = match.group("rest")
        names_match = _NAMES.search(rest)
        names: tuple[str, ...] = ()
        if names_match is not None:
            names = (
                (names_match.group("one"),)
                if names_match.group("one") is not None
                else tuple(_QUOTED.findall(names_match.group("many")))
            )
        fields = {found.group("key"): found.group("value") for found in _FIELD.finditer(_unquoted(rest))}
        types.append(
            AttributeType(
                match.group("oid"), names, fields.get("SUP"), fields.get("EQUALITY"), fields.get("SYNTAX")
            )
        )
    return types


def _unquoted(text: str) -> str:
    """``text`` without its quoted strings (a DESC may hold 'SYNTAX' or 'SUP')."""
    return _QUOTED.sub("''", text)


@dataclass(frozen=True, slots=True)
class Schema:
    """Attribute aliases and syntaxes (see the module docstring); ``DEFAULT_SCHEMA`` is OpenLDAP's."""

    aliases: Mapping[str, str]
    """Lower-case alias or OID to the lower-case canonical name (canonical names are not listed)."""
    binary: frozenset[str]
    """Canonical names (lower case) whose values are octets."""
    case_exact: frozenset[str]
    """Canonical names (lower case) whose equality rule compares case."""

    @classmethod
    def from_attribute_types(cls, types: Iterable[AttributeType]) -> Schema:
        """The schema of these attribute types, with syntax and equality inherited through ``SUP``."""
        listed = list(types)
        by_key: dict[str, AttributeType] = {}
        for kind in listed:
            for key in (kind.oid, *kind.names):
                by_key[key.lower()] = kind
        aliases: dict[str, str] = {}
        binary: set[str] = set()
        case_exact: set[str] = set()
        for kind in listed:
            canonical = (kind.names[0] if kind.names else kind.oid).lower()
            for key in (kind.oid, *kind.names[1:]):
                if key.lower() != canonical:
                    aliases[key.lower()] = canonical
            syntax = _inherited(kind, by_key, "syntax")
            equality = _inherited(kind, by_key, "equality")
            if syntax in BINARY_SYNTAXES:
                binary.add(canonical)
            if equality is not None and equality.lower() in CASE_EXACT_RULES:
                case_exact.add(canonical)
        return cls(aliases, frozenset(binary), frozenset(case_exact))

    def with_binary(self, names: Iterable[str]) -> Schema:
        """A copy with more attributes (any alias, any case) whose values are octets."""
        extra = {self.canonical(name).partition(";")[0] for name in names}
        return Schema(self.aliases, self.binary | extra, self.case_exact)

    def canonical(self, description: str) -> str:
        """``commonName;Lang-PT`` → ``cn;lang-pt``: the canonical name, lower case, options kept."""
        lowered = description.lower()
        name, semicolon, options = lowered.partition(";")
        canonical = self.aliases.get(name)
        if canonical is None:
            return lowered
        return canonical + semicolon + options

    def is_binary(self, canonical: str) -> bool:
        """True when the values of ``canonical`` (a ``canonical()`` result) are octets."""
        name, semicolon, options = canonical.partition(";")
        return name in self.binary or (bool(semicolon) and "binary" in options.split(";"))

    def is_case_exact(self, canonical: str) -> bool:
        """True when values of ``canonical`` compare case (so DN values of it keep their case)."""
        return canonical.partition(";")[0] in self.case_exact


def _inherited(kind: AttributeType, by_key: Mapping[str, AttributeType], field: str) -> str | None:
    seen: set[str] = set()
    current: AttributeType | None = kind
    while current is not None and current.oid not in seen:
        value: str | None = getattr(current, field)
        if value is not None:
            return value
        seen.add(current.oid)
        current = by_key.get(current.sup.lower()) if current.sup else None
    return None


DEFAULT_SCHEMA: Final = Schema(ALIASES, BINARY | EXTRA_BINARY, CASE_EXACT)
"""OpenLDAP's attribute types (see the module docstring)."""
