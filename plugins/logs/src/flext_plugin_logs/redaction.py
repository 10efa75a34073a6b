"""Secrets out of a log line before it is stored: the SDK's redactor, plus the environment's secrets.

Every line and every structured field the log store takes passes through
``Redactor``, which is ``flext_sdk.redaction`` (one redactor for every sink,
so that a secret resolved anywhere in the process is hidden here too) with
one addition of this plugin's own:

- the process's registered values (every ``${secret:NAME}`` resolved, every
  value the secrets plugin or another plugin registered), in every form
  they are written in: ``flext_sdk.redaction.redact``;
- the shapes secrets come in, whoever registered them or not:
  ``key=value``, ``key: value`` and JSON ``"key": "value"`` where the key
  names a secret (``password``, ``pwd``, ``secret``, ``token``, ``api_key``,
  ``access_key``, ``private_key``, ``credential(s)``, ``authorization``),
  a URL's password, ``Bearer``/``Basic`` tokens (the SDK's patterns);
- this plugin's addition: the value of every environment variable whose
  name names a secret (``PGPASSWORD``, ``LEAKY_PASSWORD``,
  ``FLEXT_..._TOKEN``), a config's ``${VAR}`` filled in and echoed by a tap;
- in a record's structured ``fields``, every value under a secret-looking
  key, at any depth.

Values shorter than three characters are not hidden (a hidden ``1`` would
hide every ``1``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flext_sdk.redaction import MASK, default_redactor, secret_key
from flext_sdk.redaction import Redactor as _SdkRedactor

__all__ = ["MASK", "Redactor", "secret_key"]


class Redactor:
    """Hides secrets in text (``__call__``) and in structured fields (``fields``)."""

    def __init__(self, values: tuple[str, ...] = ()) -> None:
        self._own = _SdkRedactor(values)
        self.values = tuple(sorted(self._own.values, key=lambda value: (-len(value), value)))
        """This redactor's own values (the environment's secrets), longest first."""

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> Redactor:
        """A redactor of the values of the secret-named variables of ``environment`` (``os.environ``)."""
        source = os.environ if environment is None else environment
        return cls(tuple(value for name, value in source.items() if secret_key(name)))

    def __call__(self, text: str) -> str:
        """``text`` with every secret it holds replaced by ``***``."""
        return self._own.redact(default_redactor().redact(text))

    def fields(self, value: Any) -> Any:
        """A record's structured fields, JSON-ready: secret-keyed values masked, strings redacted."""
        return self._own.redact_fields(default_redactor().redact_fields(value))
