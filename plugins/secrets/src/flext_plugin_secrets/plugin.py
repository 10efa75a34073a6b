"""The ``secrets`` plugin: declares ``flext secret``, and answers ``ResolveSecret`` on the query bus.

Loading it imports neither ``keyring`` nor ``cryptography``: the commands
are declared lazily and the handler imports its store when it is first asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import CommandEntry, FlextResult, GroupEntry, PluginManifest

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["NAME", "flext_health", "flext_startup", "manifest"]

NAME: Final = "secrets"
"""The plugin's name."""
_CLI: Final = "flext_plugin_secrets.secret_cli"

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Secrets kept in the system keyring or an encrypted file; ${secret:NAME} in configs",
    commands=tuple(
        CommandEntry(path=("secret", command), target=f"{_CLI}:{function}", help=text)
        for command, function, text in (
            (
                "set",
                "set_secret",
                "Store a secret; its value from a hidden prompt or stdin, never an argument.",
            ),
            ("get", "get_secret", "Say whether a secret exists and where; --reveal prints its value."),
            (
                "list",
                "list_secrets",
                "The secrets' names, profiles, backends and update times (never values).",
            ),
            ("delete", "delete_secret", "Delete a secret."),
            ("backend", "show_backend", "Which backend holds new secrets, and why."),
        )
    ),
    groups=(GroupEntry(path=("secret",), help="Secrets that are never shown: set, get, list, delete."),),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_startup(kernel: FlextKernel) -> None:
    """Answer the SDK's ``ResolveSecret`` (the store is opened only when someone asks)."""
    from flext_plugin_secrets.resolve import answer_resolve_secret
    from flext_sdk.contracts.secrets import ResolveSecret

    kernel.query_bus.register(ResolveSecret, answer_resolve_secret, owner=NAME)


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """Where new secrets go (``flext doctor``); a bad ``FLEXT_SECRET_BACKEND`` or no trusted keyring fails."""
    from flext_plugin_secrets.prompt import passphrase
    from flext_plugin_secrets.store import SecretStore, secrets_dir

    chosen = SecretStore(secrets_dir(), passphrase).backend()
    if chosen.is_failure:
        return FlextResult.fail(chosen.error or "", error_code=chosen.error_code)
    kind, where = chosen.value
    return FlextResult.ok({"status": "ok", "backend": kind, "location": where})
