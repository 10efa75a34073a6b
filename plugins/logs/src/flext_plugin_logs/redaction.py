"""Secrets out of a log line before it is stored: known values and the shapes secrets come in.

The pipeline plugin masks a run's log with the secrets of its definition
(which only it can read); this module is the log store's own net, applied to
every line from every source, so that a plugin that logs a connection string
or a config does not leak it:

- ``key=value``, ``key: value`` and JSON ``"key": "value"`` where the key
  names a secret (``password``, ``passwd``, ``pwd``, ``secret``, ``token``,
  ``api_key``, ``access_key``, ``private_key``, ``credential(s)``,
  ``authorization``): the value becomes ``***``;
- the password of a URL's userinfo (``postgresql://user:pw@host``);
- ``Bearer <token>`` and ``Basic <token>``;
- the value of every environment variable whose name names a secret
  (``PGPASSWORD``, ``LEAKY_PASSWORD``, ``FLEXT_..._TOKEN``), as written
  and JSON-escaped: a config's ``${VAR}`` filled in and echoed by a tap;
- in a record's structured ``fields``, every value under a secret-looking
  key, at any depth.

Values shorter than three characters are not hidden (a hidden ``1`` would
hide every ``1``). The SDK is where a shared redactor belongs (the pipeline's
``masking`` and this one overlap); until then each keeps its own.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MASK", "Redactor", "secret_key"]

MASK: Final = "***"
"""What a secret is replaced by."""
_WORDS: Final = (
    r"passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|authorization"
)
_SECRET_KEY: Final = re.compile(rf"(?i)(?:{_WORDS})")
_KEY_VALUE: Final = re.compile(
    rf"""(?ix)
    (?P<key>["']?[\w.-]*(?:{_WORDS})[\w.-]*["']?\s*[=:]\s*)
    (?!(?:bearer|basic)\s)  # an Authorization header's scheme: its token is hidden on its own
    (?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&}}\])]+)
    """
)
_URL_USERINFO: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:)(?P<pw>[^/?#@\s]+)(?=@)")
_AUTH_SCHEME: Final = re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+(?P<token>[A-Za-z0-9._~+/=-]{3,})")
_MIN_LENGTH: Final = 3


def secret_key(key: object) -> bool:
    """Whether a field or config key names a secret."""
    return _SECRET_KEY.search(str(key)) is not None


def _masked_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in {'"', "'"} else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


@dataclass(frozen=True, slots=True)
class Redactor:
    """Hides secrets in text (``__call__``) and in structured fields (``fields``)."""

    values: tuple[str, ...] = ()
    """Known secret values, longest first (a secret holding another is hidden whole)."""

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> Redactor:
        """A redactor of the values of the secret-named variables of ``environment`` (``os.environ``)."""
        source = os.environ if environment is None else environment
        found: set[str] = set()
        for name, value in source.items():
            if secret_key(name) and len(value) >= _MIN_LENGTH:
                found |= {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        return cls(tuple(sorted(found, key=lambda value: (-len(value), value))))

    def __call__(self, text: str) -> str:
        """``text`` with every secret it holds replaced by ``***``."""
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        text = _AUTH_SCHEME.sub(lambda m: f"{m.group('scheme')} {MASK}", text)
        if "=" in text or ":" in text:
            text = _KEY_VALUE.sub(_masked_value, text)
            text = _URL_USERINFO.sub(lambda m: m.group("head") + MASK, text)
        return text

    def fields(self, value: Any, *, secret: bool = False) -> Any:
        """A record's structured fields, JSON-ready: secret-keyed values masked, strings redacted."""
        if isinstance(value, Mapping):
            return {
                str(key): self.fields(inner, secret=secret or secret_key(key)) for key, inner in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.fields(inner, secret=secret) for inner in value]
        if secret and value is not None and not isinstance(value, bool):
            return MASK
        if isinstance(value, str):
            return self(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        return self(str(value))
