"""The secrets plugin's contract: a secret's value, asked on the query bus, and ``${secret:NAME}``.

A pipeline's or plugin's configuration names a secret as ``${secret:NAME}``;
whoever hands that configuration to a process (the pipeline writing a
connector's 0600 config file) fills it in at that moment with
``resolve_references``, which asks ``ResolveSecret`` for each name. The
secrets plugin answers; nobody imports it. Its answer is a ``SecretValue``
whose ``value`` is a pydantic ``SecretStr``: ``repr``, ``str``,
``model_dump_json`` and a traceback's locals show ``**********``, and only
``reveal()`` (an explicit call) gives the text.

Every value resolved is registered with the process's redactor
(``flext_sdk.redaction``) by the plugin that answers, and again by
``resolve_references``, so whatever the process logs or records afterwards
is redacted. A secret that does not exist is the plugin's
``SECRET_NOT_FOUND`` naming it (never a value); ``${secret:...}`` that is not
a valid name is ``VALIDATION_ERROR``; no secrets plugin is ``NOT_FOUND`` /
``PLUGIN_DISABLED`` with a hint (``require_handler``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.messages import FlextQuery
from flext_kernel.result import FlextResult
from flext_sdk.contracts._providers import provided_by, require_handler
from flext_sdk.redaction import register

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = [
    "NAME_PATTERN",
    "PROFILE_PATTERN",
    "REFERENCE",
    "ResolveSecret",
    "SecretValue",
    "references_in",
    "resolve_references",
]

NAME_PATTERN: Final = r"[A-Za-z_][A-Za-z0-9_.-]{0,127}"
"""What a secret's name may be: a letter or ``_``, then letters, digits, ``_``, ``.``, ``-``."""
PROFILE_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
"""What a profile's name may be."""
REFERENCE: Final = re.compile(r"\$\{secret:([^}]*)\}")
"""``${secret:NAME}`` in a configuration string (the name is checked separately)."""
_NAME: Final = re.compile(NAME_PATTERN)


class SecretValue(BaseModel):
    """A resolved secret: its name, profile and backend, and the value, hidden from every printout."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    """The secret's name."""
    profile: str
    """The profile it belongs to."""
    backend: str
    """Where it is kept: ``keyring (<backend class>)`` or ``encrypted-file``."""
    value: SecretStr
    """The value; ``reveal()`` gives the text, anything else shows ``**********``."""

    def reveal(self) -> str:
        """The secret's text: call it only where the value is handed to whoever needs it."""
        return self.value.get_secret_value()


@provided_by("secrets", distribution="flext-plugin-secrets")
class ResolveSecret(FlextQuery):
    """Look up a secret: a ``SecretValue`` (registered with the redactor), or ``SECRET_NOT_FOUND``."""

    model_config = ConfigDict(defer_build=True)

    name: str = Field(pattern=f"^{NAME_PATTERN}$")
    """The secret's name, as in ``${secret:NAME}``."""
    profile: str | None = Field(default=None, pattern=f"^{PROFILE_PATTERN}$")
    """The profile (None: ``FLEXT_PROFILE``, else ``default``)."""


def references_in(value: Any) -> FlextResult[set[str]]:
    """The secret names ``${secret:NAME}`` in every string of a configuration (keys too), checked."""
    found: set[str] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str):
            for name in REFERENCE.findall(item):
                if not _NAME.fullmatch(name):
                    return FlextResult.fail(
                        f"${{secret:{name[:40]}}} is not a valid secret name (letters, digits, _ . -)",
                        error_code=VALIDATION_ERROR,
                    )
                found.add(name)
    return FlextResult.ok(found)


def _filled(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return REFERENCE.sub(lambda match: values[match.group(1)], value)
    if isinstance(value, Mapping):
        return {_filled(key, values): _filled(inner, values) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_filled(inner, values) for inner in value]
    return value


def resolve_references(
    kernel: FlextKernel, config: Any, *, profile: str | None = None
) -> FlextResult[tuple[Any, frozenset[str]]]:
    """``config`` with each ``${secret:NAME}`` filled in, and the values used (registered for redaction).

    Asks ``ResolveSecret`` once per name; the first failure (a missing
    secret, a wrong passphrase, no secrets plugin) is returned as it is and
    nothing is filled. A configuration without references needs no plugin.
    """
    names = references_in(config)
    if names.is_failure:
        return FlextResult.fail(names.error or "invalid reference", error_code=names.error_code)
    if not names.value:
        return FlextResult.ok((config, frozenset()))
    available = require_handler(kernel, ResolveSecret, why="to fill in ${secret:NAME}")
    if available.is_failure:
        return FlextResult.fail(
            available.error or "no secrets plugin",
            error_code=available.error_code,
            error_data=available.error_data,
        )
    values: dict[str, str] = {}
    for name in sorted(names.value):
        answer: FlextResult[SecretValue] = kernel.query_bus.execute(ResolveSecret(name=name, profile=profile))
        if answer.is_failure:
            return FlextResult.fail(
                answer.error or f"secret {name!r} could not be resolved",
                error_code=answer.error_code,
                error_data=answer.error_data,
            )
        values[name] = answer.value.reveal()
        register(values[name])
    return FlextResult.ok((_filled(config, values), frozenset(values.values())))
