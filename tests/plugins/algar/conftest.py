"""Fixtures of the ALGAR plugin's tests: a private 389 Directory Server, OUD's ACI syntax, an LDIF reader.

``ldif_reader`` is the ldif plugin's ``LdifReader`` service
(``flext_sdk.contracts.ldif``): the phases are tested against it in-process,
as the CLI gets it from the container (``test_migration_cli`` goes that way).

``ds389_server`` is the SDK's 389 DS fixture. ``oud_aci_problems`` checks an
ACI against the syntax documented for Oracle Unified Directory (Architecture
Reference, "ACI Syntax"); it is the golden reference for what 389 cannot check
(it refuses ``targetscope``, which OUD accepts)::

        aci        ::= (target)* "(version 3.0; acl \"name\";" permission bindRule ";)"
        target     ::= (keyword (=|!=) "value")   keywords: target targetattr targetfilter
                                                 targetscope targattrfilters targetcontrol extop
        targetscope values: base, onelevel, subtree, subordinate
        permission ::= (allow|deny) (right[,right]*)   rights: read write add delete search compare
                                                       selfwrite proxy import export all
        bindRule   ::= keyword (=|!=) "value" | (bindRule) | bindRule and|or bindRule | not bindRule
        keywords   ::= userdn groupdn roledn userattr authmethod ip dns timeofday dayofweek ssf

    It is the tests' golden reference for what 389 cannot check (``targetscope``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from flext_sdk.contracts.ldif import (
    LdifReader,
)

__all__ = ["ldif_reader", "oud_aci_problems", "oud_syntax"]


_TARGET = re.compile(
    r'\(\s*(target|targetattr|targetfilter|targetscope|targattrfilters|targetcontrol|extop)\s*(!?=)\s*"([^"]*)"\s*\)'
)
_HEAD = re.compile(r'\(\s*version 3\.0\s*;\s*acl\s+"([^"]+)"\s*;\s*(allow|deny)\s*\(([^)]*)\)\s*')
_RIGHTS = {"read", "write", "add", "delete", "search", "compare", "selfwrite", "proxy", "import", "export"}
_RIGHTS.add("all")
_SCOPES = {"base", "onelevel", "subtree", "subordinate"}
_BIND_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<op>and|or|not)\b|"
    r'(?P<rule>(userdn|groupdn|roledn|userattr|authmethod|ip|dns|timeofday|dayofweek|ssf)\s*(!?=|>=|<=|>|<)\s*"[^"]*"))',
    re.IGNORECASE,
)


def _tokens(text: str) -> list[str] | None:
    tokens: list[str] = []
    position = 0
    while text[position:].strip():
        match = _BIND_TOKEN.match(text, position)
        if match is None:
            return None
        kind = match.lastgroup or ""
        tokens.append(match.group("op").lower() if kind == "op" else kind)
        position = match.end()
    return tokens


def _bind_rule_problems(text: str) -> list[str]:
    """expression := term ((and|or) term)* ; term := not term | ( expression ) | rule."""
    tokens = _tokens(text)
    if tokens is None:
        return [f"bind rule: cannot read {text!r}"]
    index = 0

    def term() -> bool:
        nonlocal index
        token = tokens[index] if index < len(tokens) else ""
        index += 1
        if token == "not":
            return term()
        if token == "open":
            if not expression() or index >= len(tokens) or tokens[index] != "close":
                return False
            index += 1
            return True
        return token == "rule"

    def expression() -> bool:
        nonlocal index
        if not term():
            return False
        while index < len(tokens) and tokens[index] in ("and", "or"):
            index += 1
            if not term():
                return False
        return True

    if not expression() or index != len(tokens):
        return [f"bind rule: not a valid boolean combination: {text!r}"]
    return []


def oud_aci_problems(aci: str) -> list[str]:
    """What in ``aci`` is not OUD's documented syntax (empty when it is valid)."""
    problems: list[str] = []
    position = 0
    while True:
        match = _TARGET.match(aci, position)
        if match is None:
            break
        keyword, _, value = match.groups()
        if keyword == "targetscope" and value not in _SCOPES:
            problems.append(f"targetscope {value!r} is not one of {sorted(_SCOPES)}")
        if keyword == "targetfilter" and not (value.startswith("(") and value.endswith(")")):
            problems.append(f"targetfilter {value!r} is not a parenthesized filter")
        position = match.end()
    head = _HEAD.match(aci, position)
    if head is None:
        rest = aci[position : position + 40]
        return [*problems, f"no '(version 3.0; acl \"name\"; allow|deny (rights)' at {rest!r}"]
    rights = [right.strip() for right in head.group(3).split(",")]
    problems += [f"unknown OUD right {right!r}" for right in rights if right not in _RIGHTS]
    rest = aci[head.end() :]
    if not rest.endswith(";)"):
        return [*problems, "the ACI does not end with ';)'"]
    return problems + _bind_rule_problems(rest[:-2])


@pytest.fixture(scope="session")
def oud_syntax() -> Callable[[str], list[str]]:
    """``oud_aci_problems``, for tests: what in an ACI is not OUD syntax."""
    return oud_aci_problems


@pytest.fixture(scope="session")
def ldif_reader() -> LdifReader:
    """The ldif plugin's ``LdifReader`` service (what its plugin registers in the container)."""
    from flext_plugin_ldif.reader_service import LdifReaderService

    return LdifReaderService()
