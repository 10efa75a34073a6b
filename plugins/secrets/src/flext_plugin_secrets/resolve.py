"""The answer to the SDK's ``ResolveSecret``: the value from its backend, registered with the redactor.

Asked on the query bus by whoever fills in ``${secret:NAME}``
(``flext_sdk.contracts.secrets.resolve_references``), so that nobody imports
this plugin. The passphrase of the encrypted file comes from
``FLEXT_SECRET_KEY`` or the terminal, as for ``flext secret get``. The value
is registered with the process's redactor before it is returned, so that
every sink of the process hides it from then on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flext_kernel.result import FlextResult
from flext_plugin_secrets.prompt import passphrase
from flext_plugin_secrets.store import SecretStore, secrets_dir
from flext_sdk.redaction import register

if TYPE_CHECKING:
    from flext_sdk.contracts.secrets import ResolveSecret, SecretValue

__all__ = ["answer_resolve_secret", "profile_of"]

DEFAULT_PROFILE = "default"


def profile_of(given: str | None) -> str:
    """The profile asked for: ``given``, else ``FLEXT_PROFILE``, else ``default``."""
    return given or os.environ.get("FLEXT_PROFILE") or DEFAULT_PROFILE


def answer_resolve_secret(query: ResolveSecret) -> FlextResult[SecretValue]:
    """The secret ``query.name`` of the profile, or ``SECRET_NOT_FOUND`` naming it."""
    from pydantic import SecretStr

    from flext_sdk.contracts.secrets import SecretValue

    profile = profile_of(query.profile)
    found = SecretStore(secrets_dir(), passphrase).get(profile, query.name)
    if found.is_failure:
        return FlextResult.fail(found.error or "", error_code=found.error_code, error_data=found.error_data)
    register(found.value.value)
    return FlextResult.ok(
        SecretValue(
            name=query.name, profile=profile, backend=found.value.backend, value=SecretStr(found.value.value)
        )
    )
