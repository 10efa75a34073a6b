"""What a person types as a search, made into an FTS5 query.

FTS5's syntax reads ``run-42`` as "run, but not column 42" and ``host:db``
as a column filter, so the words people search logs for most (run ids,
host names, ``connection-refused``, ``10.0.0.1``) would be refused. Each
bare word holding anything but letters, digits and ``_`` (a trailing ``*``
for a prefix is kept) is therefore quoted as a phrase: ``run-42`` becomes
``"run-42"``, which matches the words run and 42 side by side. The rest is
FTS5's own: ``"a phrase"``, ``prefix*``, ``AND``, ``OR``, ``NOT``,
parentheses, and ``message:`` or ``fields:`` before a word. What is still
not a query (an unbalanced quote, a lone ``AND``) is refused with FTS5's
reason, by the store.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["fts_query"]

_TOKEN: Final = re.compile(r'"[^"]*"|[^\s"]+|"')
_BARE: Final = re.compile(r"\w+\*?")
_COLUMN: Final = re.compile(r"(?:message|fields):\w+\*?")
_OPERATORS: Final = frozenset({"AND", "OR", "NOT"})


def _word(core: str) -> str:
    if not core or core in _OPERATORS or _BARE.fullmatch(core) or _COLUMN.fullmatch(core):
        return core
    return '"' + core + '"'


def fts_query(text: str) -> str:
    """``text`` with every bare word FTS5 would misread quoted as a phrase (see the module's docstring)."""
    parts: list[str] = []
    for token in _TOKEN.findall(text):
        if token.startswith('"'):
            parts.append(token)
            continue
        opening = len(token) - len(token.lstrip("("))
        closing = len(token.rstrip(")")) if opening < len(token) else len(token)
        core = token[opening:closing]
        parts.append(token[:opening] + _word(core) + token[closing:])
    return " ".join(parts)
