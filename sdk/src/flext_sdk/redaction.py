"""One redactor for every sink: secret values known at run time, and the shapes secrets come in.

Until now the pipeline plugin (``masking``) and the log store (``redaction``)
each kept a masker of their own; this module is the one they move to, so that
a secret resolved anywhere in the process is hidden everywhere in it:

- ``register(value)`` adds a secret value to the process-wide redactor (the
  secrets plugin does it for every value it resolves; a plugin that reads a
  password from elsewhere does it too). Each value is remembered in the forms
  it is written in: as is, JSON-escaped (ASCII and not), percent-encoded
  (``quote`` and ``quote_plus``) and Python-``repr``-escaped.
- ``redact(text)`` replaces every registered form by ``***`` and then hides
  what *looks* like a secret even when nobody registered it: the value after
  ``password=``, ``token:``, ``"api_key": "..."`` and the like, a URL's
  password (``postgresql://u:pw@host``), and ``Bearer``/``Basic`` tokens.
- ``redact_fields(value)`` does the same for structured data (a record's
  fields, an event's payload): every value under a secret-looking key is
  ``***``, every string redacted, keys included.

A registered value is never left in the output whatever surrounds it: the
replacement is repeated until no registered form occurs (replacing by ``***``
could otherwise build one out of its neighbours), which always ends since each
replacement shortens the text or adds a ``*``. Values shorter than three
characters are not registered: a hidden ``1`` would hide every ``1`` and
protect nothing. What is not covered: a secret a program transforms before
printing it (base64, hashed, split across lines).

``Redactor`` is the class; ``default_redactor()`` is the process's own.
Stdlib only: any sink may import it cheaply.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "STORE_KEYS",
    "Redactor",
    "child_environment",
    "default_redactor",
    "forms_of",
    "redact",
    "redact_argv",
    "redact_fields",
    "register",
    "secret_key",
]

MASK: Final = "***"
"""What a secret is replaced by."""
MIN_LENGTH: Final = 3
"""Values shorter than this are not registered (they would hide ordinary text)."""
STORE_KEYS: Final = ("FLEXT_SECRET_KEY",)
"""Variables that unlock FLEXT's secret store: never handed to a process FLEXT starts."""


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a tap, target or tool: this one plus ``extra``, without ``STORE_KEYS``.

    A child gets the secrets its configuration names (resolved into its private config file),
    never the key to all of them.
    """
    environment = {**os.environ, **(extra or {})}
    for name in STORE_KEYS:
        environment.pop(name, None)
    return environment


_WORDS: Final = (
    r"passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|authorization"
)
_SECRET_KEY: Final = re.compile(rf"(?i)(?:{_WORDS})")
_KEY_VALUE: Final = re.compile(
    rf"""(?ix)
    (?<![\w.-])  # a key starts a word: without this, every position inside a long word is tried
    (?P<key>["']?[\w.-]{{0,64}}?(?:{_WORDS})[\w.-]{{0,64}}["']?\s*[=:]\s*)  # bounded: no quadratic scan
    (?!(?:bearer|basic)\s)  # an Authorization header's scheme: its token is hidden on its own
    (?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&}}\])]+)
    """
)
# A scheme starts a word and is short: unbounded, a long run of letters was scanned from every position.
_URL_PASSWORD: Final = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<head>[A-Za-z][A-Za-z0-9+.-]{0,31}://[^/?#@\s:]*:)(?P<pw>[^/?#@\s]+)(?=@)"
)
_AUTH_SCHEME: Final = re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+(?P<token>[A-Za-z0-9._~+/=-]{3,})")


def secret_key(key: object) -> bool:
    """Whether a field, config key or variable name names a secret (``password``, ``api_key``, ...)."""
    return _SECRET_KEY.search(str(key)) is not None


def forms_of(value: str) -> set[str]:
    """The ways ``value`` is written in output: as is, JSON-escaped, percent-encoded, ``repr``-escaped."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
        quote(value),
        repr(value)[1:-1],
    }
    return {form for form in forms if len(form) >= MIN_LENGTH and form != MASK}


def _masked_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote_char = value[0] if value[:1] in {'"', "'"} else ""
    return f"{match.group('key')}{quote_char}{MASK}{quote_char}"


class Redactor:
    """Hides registered secret values and secret-shaped text; safe to share between threads."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.register(value)

    def register(self, value: str) -> bool:
        """Remember ``value`` (in all its forms); False when it is too short to be hidden."""
        if len(value) < MIN_LENGTH or value == MASK:
            return False
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._forms |= forms_of(value)
                ordered = sorted(self._forms, key=lambda form: (-len(form), form))
                self._pattern = re.compile("|".join(re.escape(form) for form in ordered))
        return True

    @property
    def values(self) -> frozenset[str]:
        """The registered values (for tests and for handing them to a child's redactor)."""
        with self._lock:
            return frozenset(self._values)

    def _known(self, text: str) -> str:
        """``text`` with no registered form left in it (repeated until none occurs)."""
        pattern = self._pattern
        if pattern is None:
            return text
        while pattern.search(text):
            text = pattern.sub(MASK, text)
        return text

    def redact(self, text: str) -> str:
        """``text`` with every registered value and every secret-shaped value replaced by ``***``."""
        text = self._known(text)
        text = _AUTH_SCHEME.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
        if "=" in text or ":" in text:
            text = _KEY_VALUE.sub(_masked_value, text)
            text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        return self._known(text)

    __call__ = redact

    def redact_fields(self, value: Any, *, secret: bool = False) -> Any:
        """Structured data, JSON-ready: values under secret-looking keys masked, every string redacted."""
        if isinstance(value, Mapping):
            return {
                self.redact(str(key)): self.redact_fields(inner, secret=secret or secret_key(key))
                for key, inner in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_fields(inner, secret=secret) for inner in value]
        if secret and value is not None and not isinstance(value, bool):
            return MASK
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(value if isinstance(value, str) else str(value))


_DEFAULT = Redactor()


def default_redactor() -> Redactor:
    """The process's redactor: what ``register`` adds to and ``redact`` uses."""
    return _DEFAULT


def register(value: str) -> bool:
    """Register a secret value with the process's redactor (False when shorter than three characters)."""
    return _DEFAULT.register(value)


def redact(text: str) -> str:
    """``text`` through the process's redactor."""
    return _DEFAULT.redact(text)


def redact_fields(value: Any) -> Any:
    """Structured data through the process's redactor."""
    return _DEFAULT.redact_fields(value)


_ARGV_SECRET_NAME: Final = re.compile(
    r"pass(word|wd|phrase)?|secret|token|key|credential|auth|pwd|(?<![a-z0-9])pw(?![a-z0-9])", re.IGNORECASE
)
_ARGV_ASSIGNMENT: Final = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)
_GLOBAL_VALUE_OPTIONS: Final = ("--output", "--plugins-dir")
# On a command line a URL is one word: its password is everything between ``user:`` and ``@``,
# ``#`` and ``?`` included (a typed password is not percent-encoded).
_ARGV_URL_PASSWORD: Final = re.compile(
    r"(?<![a-zA-Z0-9+.-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)(?P<user>[^:/@\s]*):(?P<secret>[^@/]*)@"
)


def _argv_secret_name(name: str) -> bool:
    return bool(_ARGV_SECRET_NAME.search(name.lstrip("-")))


def redact_argv(tokens: Sequence[str]) -> list[str]:
    """A ``flext`` command line (the words after ``flext``) with every secret replaced by ``MASK``.

    For whatever records command lines (the shell's history, the audit log). First the shapes
    of a command line: the word after a secret-named option (``--password VALUE``, even a VALUE
    starting with ``-``; only a ``--long`` option is taken as "no value given"), ``--api-key=VALUE``
    and ``NAME=VALUE``, and every word after a ``secret`` command's NAME (``flext secret set NAME
    VALUE`` is refused, but still a run that is recorded; an option's value there is hidden too:
    over-hiding is safe). Then ``redact`` over every word: registered values and the shapes it
    knows inside a word. A short flag (``-p``) is left alone: it is ``--port`` as often as a password.
    """
    words = [str(token) for token in tokens]
    start = 0
    while start < len(words) and words[start].startswith("-"):  # the global options and their values
        start += 2 if words[start] in _GLOBAL_VALUE_OPTIONS else 1
    hide_from = start + 3 if words[start : start + 1] == ["secret"] else len(words)
    shown: list[str] = []
    hide_next = False
    for index, word in enumerate(words):
        if (index >= hide_from or hide_next) and not word.startswith("--"):
            shown.append(MASK)
            hide_next = False
            continue
        hide_next = False
        assignment = _ARGV_ASSIGNMENT.match(word)
        if assignment and _argv_secret_name(assignment["name"]):
            shown.append(f"{assignment['name']}={MASK}")
        elif word.startswith("-") and "=" not in word and _argv_secret_name(word):
            shown.append(word)
            hide_next = True
        else:
            shown.append(_ARGV_URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", word))
    return [redact(word) for word in shown]
