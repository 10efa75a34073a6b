"""Fixtures of the ALGAR plugin's tests: a private 389 Directory Server, OUD's ACI syntax, an LDIF reader.

``ldif_reader`` is an ``LdifReader`` (``flext_sdk.contracts.ldif``) over the
ldif plugin's own parser, the product's reader behind the contract: the phases
are tested against it in-process, as they get it from the container in the
CLI. A parse error is one ``LdifProblem`` and reading goes on after the next
blank line.

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

import base64
import os
import re
from collections.abc import Callable, Generator, Iterator
from os import PathLike

import pytest
from flext_plugin_ldif.dn import DnNormalizer
from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import LdifEntry, read_ldif_part

from flext_sdk.contracts.ldif import (
    LDIF_DN,
    LDIF_FILE,
    LdifItem,
    LdifModification,
    LdifProblem,
    LdifReader,
    LdifRecord,
)

__all__ = ["ParserReader", "ldif_reader", "oud_aci_problems", "oud_syntax"]


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
    """The ldif plugin's parser behind the ``LdifReader`` contract."""
    return ParserReader()


class ParserReader:
    """``LdifReader`` on ``flext_plugin_ldif.ldif_parser``."""

    def __init__(self) -> None:
        self._normalizer = DnNormalizer()

    def normalize_dn(self, dn: str) -> str | None:
        try:
            return self._normalizer(dn)
        except ValueError:
            return None

    def read(self, path: str | PathLike[str], *, encoding: str = "utf-8") -> Iterator[LdifItem]:
        source = str(path)
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            yield LdifProblem(source, None, f"cannot read the file: {exc.strerror or exc}", LDIF_FILE)
            return
        start, first_line = 0, 1
        while start < size:
            last = 0  # the dn line of the last record yielded from this part
            try:
                for entry in read_ldif_part(path, start, size, first_line, encoding=encoding):
                    last = entry.line
                    yield self._item(entry, source)
                return
            except LdifError as error:
                if error.line is None:
                    yield LdifProblem(source, None, error.reason, LDIF_FILE)
                    return
                resume = yield from self._around(path, source, start, first_line, last, error, encoding)
            if resume is None:
                return
            start, first_line = resume

    def _around(
        self,
        path: str | PathLike[str],
        source: str,
        start: int,
        first_line: int,
        last: int,
        error: LdifError,
        encoding: str,
    ) -> Generator[LdifItem, None, tuple[int, int] | None]:
        """The records the parser did not yield before ``error``, one by one, then the problem.

        Returns where to go on: the record after the bad one (None at the end of the file).
        """
        line = error.line or 0
        for record_start, record_end, record_first, record_last in _records_from(path, start, first_line):
            if record_first <= last:
                continue  # yielded already
            if record_last < line:  # read ahead by the parser but not yielded: read it alone
                try:
                    for entry in read_ldif_part(
                        path, record_start, record_end, record_first, encoding=encoding
                    ):
                        yield self._item(entry, source)
                except LdifError as alone:
                    yield LdifProblem(source, alone.line, alone.reason)
                continue
            yield LdifProblem(source, line, error.reason)
            return (record_end, record_last + 2) if record_first <= line else (record_start, record_first)
        yield LdifProblem(source, line, error.reason)
        return None

    def _item(self, entry: LdifEntry, source: str) -> LdifItem:
        normal = self.normalize_dn(entry.dn)
        if normal is None:
            return LdifProblem(source, entry.line, f"{entry.dn!r} is not a DN", LDIF_DN, entry.dn)
        binary = entry.binary
        attributes = {
            name: tuple(base64.b64decode(v) for v in values) if name in binary else tuple(values)
            for name, values in entry.attributes.items()
        }
        modifications = tuple(
            LdifModification(
                change.operation,
                change.attribute,
                tuple(base64.b64decode(v) for v in change.values) if change.binary else change.values,
            )
            for change in entry.modifications
        )
        return LdifRecord(
            source, entry.line, entry.dn, normal, attributes, entry.change_type,  # type: ignore[arg-type]  # the parser's change types are ChangeType's
            entry.is_change, modifications, entry.new_rdn, entry.delete_old_rdn, entry.new_superior,
        )  # fmt: skip


def _records_from(
    path: str | PathLike[str], start: int, first_line: int
) -> Iterator[tuple[int, int, int, int]]:
    """``(start, end, first line, last line)`` of each record from byte ``start`` (line ``first_line``) on."""
    with open(path, "rb") as handle:
        handle.seek(start)
        offset, number = start, first_line - 1
        begin: tuple[int, int] | None = None
        end = start
        for raw in handle:
            number += 1
            if raw.rstrip(b"\r\n") == b"":
                if begin is not None:  # the record ends after this blank line
                    yield begin[0], offset + len(raw), begin[1], number - 1
                    begin = None
            elif begin is None:
                begin = (offset, number)
            offset += len(raw)
            end = offset
        if begin is not None:
            yield begin[0], end, begin[1], number
