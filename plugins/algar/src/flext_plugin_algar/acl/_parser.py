"""A parser for OID's access directive grammar (``orclaci`` and ``orclentrylevelaci`` values).

The grammar, from the OID Administrator's Guide ("The Access Control Directive
Format")::

    directive ::= access to <object> [by <subject> (<accessList>)]+
    object    ::= (attr (=|!=) (* | (<attrList>)) | entry) [filter=(<ldapFilter>)]
                  [DenyGroupOverride] [AppendToAll]
    subject   ::= <entity> [BindMode=(...)] [BindIPFilter=(...)] [added_object_constraint=(<ldapFilter>)]
    entity    ::= * | self | dn="<dn>" | dn="*,<dn>" | dnattr=(<attr>) | group="<dn>"
                  | guidattr=(<attr>) | groupattr=(<attr>) | SuperUser
    access    ::= none | browse | add | delete | proxy | read | search | write | selfwrite | compare
                  | no<any of these but none>

Keywords are case-insensitive; whitespace (including the newlines of a folded
LDIF value) separates tokens. ``parse_acl`` never raises on bad text: it
returns a failed ``FlextResult`` (``VALIDATION_ERROR``) whose ``error_data``
holds the text, the offset and the reason: the report code ``ACL_SYNTAX`` or
``ACL_UNKNOWN_RIGHT``.
"""

from __future__ import annotations

import re
from typing import Final

from flext_kernel.errors import VALIDATION_ERROR
from flext_plugin_algar.acl._model import (
    ATTRIBUTE_RIGHTS,
    ENTRY_RIGHTS,
    OidAcl,
    OidClause,
    OidSubject,
    OidTarget,
    SubjectKind,
)
from flext_plugin_algar.acl.codes import ACL_SYNTAX, ACL_UNKNOWN_RIGHT
from flext_sdk import FlextResult

__all__ = ["parse_acl"]

_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_ATTRIBUTE: Final = re.compile(r"[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*|[0-9]+(\.[0-9]+)+")
_OPTIONS: Final = {"denygroupoverride": "DenyGroupOverride", "appendtoall": "AppendToAll"}
_QUALIFIERS: Final = {
    "bindmode": "bind_mode",
    "bindipfilter": "bind_ip_filter",
    "added_object_constraint": "added_object_constraint",
    "added-object-constraint": "added_object_constraint",
}


class _Invalid(Exception):
    """Bad text; internal to the parser: ``parse_acl`` turns it into a failed result."""

    def __init__(self, message: str, position: int, code: str = ACL_SYNTAX) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.code = code


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.position >= len(self.text)

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.position] if self.position < len(self.text) else ""

    def expect(self, literal: str) -> None:
        self.skip_space()
        if not self.text.startswith(literal, self.position):
            found = self.text[self.position : self.position + 20] or "the end of the text"
            raise _Invalid(f"expected {literal!r} at offset {self.position}, found {found!r}", self.position)
        self.position += len(literal)

    def word(self, what: str) -> str:
        self.skip_space()
        match = _WORD.match(self.text, self.position)
        if match is None:
            found = self.text[self.position : self.position + 20] or "the end of the text"
            raise _Invalid(f"expected {what} at offset {self.position}, found {found!r}", self.position)
        self.position = match.end()
        return match.group()

    def try_word(self, *choices: str) -> str | None:
        """The next word if it is one of ``choices`` (case-insensitive, lower case), else None."""
        self.skip_space()
        match = _WORD.match(self.text, self.position)
        if match is None or match.group().lower() not in choices:
            return None
        self.position = match.end()
        return match.group().lower()

    def quoted(self) -> str:
        """A double-quoted string; backslash escapes (DN escapes) are kept as written."""
        self.expect('"')
        start = self.position
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\":
                self.position += 2
                continue
            if char == '"':
                value = self.text[start : self.position]
                self.position += 1
                return value
            self.position += 1
        raise _Invalid(f"unterminated quoted string starting at offset {start - 1}", start - 1)

    def parenthesized(self) -> str:
        """A balanced ``( ... )`` group (backslash escapes respected), returned with its parentheses."""
        self.skip_space()
        start = self.position
        if self.peek() != "(":
            raise _Invalid(f"expected '(' at offset {self.position}", self.position)
        depth = 0
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\":
                self.position += 2
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    self.position += 1
                    return self.text[start : self.position]
            self.position += 1
        raise _Invalid(f"unbalanced parentheses starting at offset {start}", start)


def parse_acl(text: str) -> FlextResult[OidAcl]:
    """Parse one OID access directive.

    Returns:
        The parsed directive, or a ``VALIDATION_ERROR`` failure whose
        ``error_data`` is ``{"text": ..., "position": ..., "reason": ...}``; the
        reason is ``ACL_SYNTAX`` (the text does not follow the grammar) or
        ``ACL_UNKNOWN_RIGHT`` (a right OID does not define, or one that does not
        apply to the target).

    """
    scanner = _Scanner(text)
    try:
        acl = _directive(scanner)
    except _Invalid as invalid:
        return FlextResult.fail(
            f"not an OID access directive: {invalid.message}",
            error_code=VALIDATION_ERROR,
            error_data={"text": text, "position": invalid.position, "reason": invalid.code},
        )
    return FlextResult.ok(acl)


def _directive(scanner: _Scanner) -> OidAcl:
    if scanner.try_word("access") is None:
        raise _Invalid("a directive starts with 'access to'", scanner.position)
    if scanner.try_word("to") is None:
        raise _Invalid("expected 'to' after 'access'", scanner.position)
    target = _target(scanner)
    filter_text = ""
    options: list[str] = []
    while True:
        if scanner.try_word("filter") is not None:
            if filter_text:
                raise _Invalid("a second filter=", scanner.position)
            scanner.expect("=")
            filter_text = _filter(scanner)
            continue
        option = scanner.try_word(*_OPTIONS)
        if option is None:
            break
        options.append(_OPTIONS[option])
    clauses: list[OidClause] = []
    while scanner.try_word("by") is not None:
        clauses.append(_clause(scanner, target))
    if not clauses:
        raise _Invalid("a directive needs at least one 'by <subject> (<rights>)'", scanner.position)
    if not scanner.at_end():
        found = scanner.text[scanner.position : scanner.position + 20]
        raise _Invalid(f"unexpected {found!r} at offset {scanner.position}", scanner.position)
    return OidAcl(target=target, filter=filter_text, clauses=tuple(clauses), options=tuple(options))


def _filter(scanner: _Scanner) -> str:
    position = scanner.position
    value = scanner.parenthesized()
    if len(value) <= 2:
        raise _Invalid("an empty filter", position)
    return value


def _target(scanner: _Scanner) -> OidTarget:
    kind = scanner.try_word("entry", "attr")
    if kind is None:
        raise _Invalid("expected 'entry' or 'attr=(...)' after 'access to'", scanner.position)
    if kind == "entry":
        return OidTarget(kind="entry")
    negated = scanner.peek() == "!"
    scanner.expect("!=" if negated else "=")
    if scanner.peek() == "*":
        scanner.expect("*")
        if negated:
            raise _Invalid("attr!=* excludes every attribute", scanner.position)
        return OidTarget(kind="attr")
    position = scanner.position
    inside = scanner.parenthesized()[1:-1]
    names = [name.strip() for name in inside.split(",")]
    if names == ["*"] and not negated:
        return OidTarget(kind="attr")
    for name in names:
        if _ATTRIBUTE.fullmatch(name) is None:
            raise _Invalid(f"{name!r} is not an attribute name", position)
    return OidTarget(kind="attr", attributes=tuple(names), negated=negated)


def _subject(scanner: _Scanner) -> dict[str, object]:
    start = scanner.position
    if scanner.peek() == "*":
        scanner.expect("*")
        return {"kind": SubjectKind.ANYONE}
    word = scanner.word("a subject (*, self, dn=, group=, dnattr=, groupattr=, guidattr=)").lower()
    if word == "self":
        return {"kind": SubjectKind.SELF}
    if word == "superuser":
        return {"kind": SubjectKind.SUPERUSER}
    if word in ("dn", "group"):
        scanner.expect("=")
        value = scanner.quoted().strip()
        if not value:
            raise _Invalid(f"an empty {word}=", start)
        if word == "dn" and value.startswith("*"):
            rest = value[1:].lstrip()
            if not rest.startswith(",") or not rest[1:].strip():
                raise _Invalid('only dn="*,<dn>" is a valid wildcard', start)
            return {"kind": SubjectKind.DN, "value": rest[1:].strip(), "subtree": True}
        return {"kind": SubjectKind.DN if word == "dn" else SubjectKind.GROUP, "value": value}
    if word in ("dnattr", "groupattr", "guidattr"):
        scanner.expect("=")
        name = scanner.parenthesized()[1:-1].strip()
        if _ATTRIBUTE.fullmatch(name) is None:
            raise _Invalid(f"{name!r} is not an attribute name", start)
        return {"kind": SubjectKind(word), "value": name}
    raise _Invalid(f"unknown subject {word!r} at offset {start}", start)


def _clause(scanner: _Scanner, target: OidTarget) -> OidClause:
    scanner.skip_space()
    start = scanner.position
    fields = _subject(scanner)
    while scanner.peek() != "(":
        if scanner.at_end():
            raise _Invalid("a 'by' clause needs its rights in parentheses", scanner.position)
        position = scanner.position
        qualifier = scanner.word("a subject qualifier or '('").lower()
        field = _QUALIFIERS.get(qualifier)
        if field is None:
            raise _Invalid(f"unknown subject qualifier {qualifier!r} at offset {position}", position)
        scanner.expect("=")
        value = scanner.parenthesized() if scanner.peek() == "(" else scanner.word("a value")
        fields[field] = value
    text = scanner.text[start : scanner.position].strip()
    subject = OidSubject.model_validate({**fields, "text": text})
    grants, denials = _rights(scanner, target)
    return OidClause(subject=subject, grants=grants, denials=denials)


def _rights(scanner: _Scanner, target: OidTarget) -> tuple[tuple[str, ...], tuple[str, ...]]:
    position = scanner.position
    inside = scanner.parenthesized()[1:-1]
    allowed = ENTRY_RIGHTS if target.kind == "entry" else ATTRIBUTE_RIGHTS
    other = ATTRIBUTE_RIGHTS if target.kind == "entry" else ENTRY_RIGHTS
    grants: list[str] = []
    denials: list[str] = []
    none = False
    tokens = [token.strip().lower() for token in inside.split(",")]
    for token in tokens:
        right = token.removeprefix("no") if token != "none" else token
        if not token:
            raise _Invalid("an empty right in the rights list", position)
        if token == "none":
            none = True
        elif right in allowed:
            (denials if token.startswith("no") else grants).append(right)
        elif right in other:
            kind = "an entry" if target.kind == "entry" else "an attribute"
            raise _Invalid(f"right {token!r} does not apply to {kind} target", position, ACL_UNKNOWN_RIGHT)
        else:
            raise _Invalid(f"unknown right {token!r}", position, ACL_UNKNOWN_RIGHT)
    both = sorted(set(grants) & set(denials))
    if both:
        raise _Invalid(f"{', '.join(both)} both granted and denied in one clause", position)
    if none:
        denials += [right for right in allowed if right not in grants and right not in denials]
    return _unique(grants), _unique(denials)


def _unique(rights: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(rights))
