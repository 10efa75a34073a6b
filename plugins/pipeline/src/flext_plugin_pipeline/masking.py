"""What a run must never show, found in its definition before any process starts, and hiding it.

``Masker.of(definition, environment)`` collects, from every config of the
definition (tap, target, mappers) and the dbt step's ``env``, with
``${VAR}`` filled in:

- every value filled in from ``${VAR}`` (a missing variable is left as
  written, so the list is whole even when the run will fail for it);
- every value, of any type but a boolean, under a key that looks like a
  secret (``password``, ``passwd``, ``secret``, ``token``, ``key``,
  ``credential``, ``private``), and every value inside a mapping or list under
  such a key: ``pin_password: 987654`` is masked as ``987654``;
- the password in a URL's userinfo (``ldap://admin:pw@host``,
  ``postgresql://u:pw@host``; the whole userinfo when it has no ``:``, as in
  ``https://TOKEN@host``), as written and percent-decoded;
- the value after ``password=`` (and ``pwd``, ``secret``, ``token``) in
  connection strings such as libpq's ``host=h password=pw``.

Values shorter than three characters are not masked: a masked ``1`` would
hide every ``1`` in the log and protect nothing. The masker replaces each
value, and its JSON-escaped form, by ``***`` in text (``__call__``) and in
every string of a nested value (``deep``), longest first. The runner applies
it to every sink: the run's log, the error and stderr lines of the events
it records (and so ``status``, ``history`` and the raw store), and the dbt
report; the singer plugin applies it to the tap's ``--discover`` output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

from flext_plugin_pipeline.definition import interpolate

if TYPE_CHECKING:
    from flext_plugin_pipeline.definition import PipelineDefinition

__all__ = ["MASK", "SECRET_WORDS", "Masker"]

MASK: Final = "***"
"""What a secret is replaced by."""
SECRET_WORDS: Final = ("password", "passwd", "secret", "token", "key", "credential", "private")
"""A config key holding one of these (case-insensitively) holds a secret."""
_MIN_LENGTH: Final = 3
_URL_USERINFO: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#@\s]+)@")
_KEY_VALUE: Final = re.compile(
    r"(?i)\b(?:password|passwd|pwd|secret|token)\s*=\s*('[^']*'|\"[^\"]*\"|[^\s;&]+)"
)


@dataclass(frozen=True, slots=True)
class Masker:
    """Replaces known secrets by ``***``; ``Masker.of(definition, environment)`` finds them."""

    values: tuple[str, ...] = ()
    """The texts to hide, longest first (so a secret that holds another is hidden whole)."""

    @classmethod
    def of(cls, definition: PipelineDefinition, environment: Mapping[str, str]) -> Masker:
        """The secrets of ``definition`` once its ``${VAR}`` are filled from ``environment``."""
        configs: list[Any] = [
            definition.extract.config,
            definition.load.config,
            [mapper.config for mapper in definition.mappers],
            definition.transform.env if definition.transform else {},
        ]
        filled_configs, filled = interpolate(configs, dict(environment), strict=False)
        filled.discard(environment.get("FLEXT_PIPELINE_DIR", ""))
        return cls.from_values(filled | secrets_in(filled_configs))

    @classmethod
    def from_values(cls, values: Iterable[str]) -> Masker:
        """A masker of ``values`` (too short ones dropped), each also in its JSON-escaped form."""
        found: set[str] = set()
        for value in values:
            if len(value) >= _MIN_LENGTH:
                found.add(value)
                found.add(json.dumps(value, ensure_ascii=False)[1:-1])
                found.add(json.dumps(value)[1:-1])
        return cls(tuple(sorted(found, key=lambda value: (-len(value), value))))

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def deep(self, value: Any) -> Any:
        """``value`` with every string in it (keys included) masked; other values as they are."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self.deep(key): self.deep(inner) for key, inner in value.items()}
        if isinstance(value, list | tuple):
            return [self.deep(inner) for inner in value]
        return value


def secrets_in(value: Any) -> set[str]:
    """Secrets in a config: values under secret-looking keys (any type), URL and key=value passwords."""
    found: set[str] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, secret = stack.pop()
        if isinstance(item, Mapping):
            stack.extend((inner, secret or _secret_key(key)) for key, inner in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((inner, secret) for inner in item)
        elif isinstance(item, bool) or item is None:
            continue
        else:
            text = str(item)
            if secret:
                found.add(text)
            if isinstance(item, str):
                found |= _in_text(text)
    return found


def _secret_key(key: object) -> bool:
    lowered = str(key).lower()
    return any(word in lowered for word in SECRET_WORDS)


def _in_text(text: str) -> set[str]:
    """Passwords written inside a string: a URL's userinfo, ``password=...`` in a connection string."""
    found: set[str] = set()
    for match in _URL_USERINFO.finditer(text):
        user, colon, password = match.group(1).partition(":")
        hidden = password if colon else user
        found |= {hidden, unquote(hidden)}
    for match in _KEY_VALUE.finditer(text):
        found.add(match.group(1).strip("'\""))
    return {value for value in found if value}
