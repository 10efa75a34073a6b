r"""Distinguished names in one form per entry, as a directory compares them (RFC 4514, RFC 4518).

``cn=Smith\, John ,DC=Example,dc=com``, ``CN=Smith\2C  John,dc=example,dc=com``
and ``commonName=smith\, john,dc=example,dc=com`` name one entry; their
normal form is ``cn=smith\, john,dc=example,dc=com``:

- attribute types by their canonical name, lower case (``commonName`` and
  ``2.5.4.3`` are ``cn``), through the ``Schema``;
- values unescaped (``\2C``, ``\,``, ``"quoted"`` and ``\C3\A9`` UTF-8
  pairs), then prepared as RFC 4518 prepares strings for matching: spaces
  at either end dropped and inner runs of spaces made one; lower-cased
  unless the type's equality rule compares case (``caseExactMatch``...);
  unknown types are compared without case, as most directory strings are;
- written back with the RFC 4514 escapes (``\,`` ``\+`` ``\"`` ``\\``
  ``\<`` ``\>`` ``\;``, a leading ``#`` or space, NUL as ``\00``);
  ``#hex`` (BER) values are kept, in lower case;
- the values of a multi-valued RDN (``cn=a+uid=b``) sorted;
- no spaces around ``,``, ``=`` and ``+``.

``DnNormalizer`` remembers the parents it normalised, so an entry costs the
parse of its own RDN; an RDN without escapes, quotes, ``+`` or ``#`` (nearly
all of them) is normalised with string methods, and its type's canonical
name and case rule are remembered too.
"""

from __future__ import annotations

import re
from typing import Final

from flext_plugin_ldif.schema import DEFAULT_SCHEMA, Schema

__all__ = ["DnNormalizer", "is_under", "normalize_dn", "parent_of"]

_AVA: Final = re.compile(
    r"[ ]*(?P<type>[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)[ ]*=[ ]*"
    r'(?P<value>#[0-9A-Fa-f]*|"(?:[^"\\]|\\.)*"|(?:[^,+"\\]|\\.)*)[ ]*(?P<separator>[,+]|$)',
    re.DOTALL,
)
_HEX_PAIR: Final = re.compile(r"[0-9A-Fa-f]{2}")
_SPACES: Final = re.compile(r"[ ]{2,}")
_TO_ESCAPE: Final = re.compile(r'[,+"\\<>;\x00]')
_ESCAPED_OR_COMMA: Final = re.compile(r"\\.|,", re.DOTALL)
_CACHE_LIMIT: Final = 65_536
_TYPE: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*")
_TYPE_LIMIT: Final = 1024


class DnNormalizer:
    """Normalise DNs (see the module docstring), remembering normalised parents."""

    __slots__ = ("_cache", "_schema", "_types")

    def __init__(self, schema: Schema = DEFAULT_SCHEMA) -> None:
        self._schema = schema
        self._cache: dict[str, str] = {}
        self._types: dict[str, tuple[str, bool]] = {}  # type as written -> (canonical name, case-exact)

    def __call__(self, dn: str) -> str:
        """The normal form of ``dn`` (``""`` for the empty DN).

        Raises:
            ValueError: ``dn`` is not a distinguished name (an RDN without ``=``, a bad escape...).

        """
        return self._normal(dn) if dn.strip(" ") else ""

    def _normal(self, dn: str) -> str:
        if "\\" in dn or '"' in dn:
            return self._parse(dn)
        first, comma, rest = dn.partition(",")
        if not comma:
            return self._rdn(dn)
        parent = self._cache.get(rest)
        if parent is None:
            parent = self._normal(rest)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[rest] = parent
        return self._rdn(first) + "," + parent

    def _rdn(self, rdn: str) -> str:
        """One RDN without escapes or quotes: the same as ``_parse``, with string methods when it can."""
        kind, equals, value = rdn.partition("=")
        if not equals or "+" in value:
            return self._parse(rdn)
        known = self._types.get(kind)
        if known is None:
            stripped = kind.strip(" ")
            if not _TYPE.fullmatch(stripped):
                return self._parse(rdn)  # raises, saying where
            name = self._schema.canonical(stripped)
            known = (name, self._schema.is_case_exact(name))
            if len(self._types) < _TYPE_LIMIT:
                self._types[kind] = known
        value = value.strip(" ")
        if value[:1] == "#":
            return self._parse(rdn)  # a BER value: kept as hex, or refused
        if "  " in value:
            value = _SPACES.sub(" ", value)
        name, case_exact = known
        return f"{name}={_escape(value if case_exact else value.lower())}"

    def _parse(self, dn: str) -> str:
        """The normal form of a non-empty DN parsed whole (the slow path: escapes, quotes, ``+``)."""
        rdns: list[str] = []
        avas: list[tuple[str, str]] = []
        position = 0
        while True:
            match = _AVA.match(dn, position)
            if match is None:
                raise ValueError(f"not a distinguished name: {dn!r} (at character {position + 1})")
            avas.append(self._ava(match.group("type"), match.group("value")))
            separator = match.group("separator")
            position = match.end()
            if separator != "+":
                rdns.append("+".join(f"{kind}={value}" for kind, value in sorted(avas)))
                avas = []
            if not separator:
                return ",".join(rdns)
            if position >= len(dn):
                raise ValueError(f"not a distinguished name: {dn!r} (it ends with {separator!r})")

    def _ava(self, kind: str, raw: str) -> tuple[str, str]:
        name = self._schema.canonical(kind)
        if raw[:1] == "#":
            return name, raw.lower()
        if raw[:1] == '"':
            raw = raw[1:-1]
        value = _unescape(raw) if "\\" in raw else raw
        value = _SPACES.sub(" ", value.strip(" "))
        if not self._schema.is_case_exact(name):
            value = value.lower()
        return name, _escape(value)


def _unescape(raw: str) -> str:
    r"""A DN value without its escapes (``\2C``, ``\,``; hex pairs are UTF-8 bytes).

    Raises:
        ValueError: A ``\`` ends the value, or the hex pairs are not UTF-8.

    """
    out = bytearray()
    index = 0
    while index < len(raw):
        character = raw[index]
        if character != "\\":
            out += character.encode("utf-8")
            index += 1
            continue
        pair = raw[index + 1 : index + 3]
        if _HEX_PAIR.fullmatch(pair):
            out.append(int(pair, 16))
            index += 3
        elif index + 1 < len(raw):
            out += raw[index + 1].encode("utf-8")
            index += 2
        else:
            raise ValueError(f"a DN value ends with a lone backslash: {raw!r}")
    return out.decode("utf-8")  # UnicodeDecodeError is a ValueError


def _escape(value: str) -> str:
    """``value`` written as RFC 4514 asks."""
    if _TO_ESCAPE.search(value):
        value = _TO_ESCAPE.sub(_escaped, value)
    if value[:1] in ("#", " "):
        value = "\\" + value
    if value[-1:] == " " and value[-2:] != "\\ ":
        value = value[:-1] + "\\ "
    return value


def _escaped(found: re.Match[str]) -> str:
    return "\\00" if found.group() == "\x00" else "\\" + found.group()


def normalize_dn(dn: str, schema: Schema = DEFAULT_SCHEMA) -> str:
    """The normal form of ``dn`` (see the module docstring).

    Raises:
        ValueError: ``dn`` is not a distinguished name.

    """
    return DnNormalizer(schema)(dn)


def parent_of(normal_dn: str) -> str | None:
    """The parent of a normalised DN (None at the top); escaped commas are respected."""
    if "\\" not in normal_dn:
        _, comma, parent = normal_dn.partition(",")
        return parent or None if comma else None
    for match in _ESCAPED_OR_COMMA.finditer(normal_dn):
        if match.group() == ",":
            return normal_dn[match.end() :] or None
    return None


def is_under(normal_dn: str, normal_base: str) -> bool:
    """True when a normalised DN is ``normal_base`` or below it."""
    if not normal_base or normal_dn == normal_base:
        return True
    suffix = "," + normal_base
    if not normal_dn.endswith(suffix):
        return False
    before = normal_dn[: len(normal_dn) - len(suffix)]
    return (len(before) - len(before.rstrip("\\"))) % 2 == 0  # the comma is not an escaped one
