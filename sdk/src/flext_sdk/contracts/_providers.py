"""Which plugin provides a contract, and the failure that says why it is not here.

A plugin that uses another plugin's handler or service asks the kernel for
it instead of importing the other plugin. When the answer is "nobody", the
user needs to hear which plugin would provide it and what to do: enable it,
install it, or look at why it failed. ``provided_by`` records, next to each
contract, the plugin and distribution that provide it; ``require_handler``
and ``require_service`` turn "nobody" into that one clear failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from flext_kernel.errors import NO_HANDLER, NOT_FOUND, PLUGIN_DISABLED
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.messages import FlextCommand, FlextQuery

__all__ = [
    "Provider",
    "hint_of",
    "plugin_unavailable",
    "provided_by",
    "provider_of",
    "require_handler",
    "require_service",
]

T = TypeVar("T")

_PROVIDERS: dict[type, Provider] = {}


@dataclass(frozen=True, slots=True)
class Provider:
    """The plugin that provides a contract, and the distribution that installs it."""

    plugin: str
    """The plugin's name (what ``flext plugin enable`` takes)."""
    distribution: str
    """The distribution to install (what ``flext plugin install`` takes)."""


def provided_by(plugin: str, *, distribution: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: the contract is provided by ``plugin`` (installed by ``distribution``)."""

    def mark(contract: type[T]) -> type[T]:
        _PROVIDERS[contract] = Provider(plugin, distribution)
        return contract

    return mark


def provider_of(contract: type) -> Provider | None:
    """The provider recorded for ``contract``, or None for a contract nobody declared."""
    return _PROVIDERS.get(contract)


def require_handler(
    kernel: FlextKernel, message_type: type[FlextCommand] | type[FlextQuery], *, why: str
) -> FlextResult[None]:
    """Succeed if a handler for ``message_type`` is registered; else say which plugin is missing.

    Args:
        kernel: The running kernel.
        message_type: The command or query class the caller will dispatch.
        why: What needs it, as the start of a sentence: ``"pipeline 'x' has a dbt transform step"``.

    """
    from flext_kernel.messages import FlextCommand

    bus = kernel.command_bus if issubclass(message_type, FlextCommand) else kernel.query_bus
    if bus.has_handler(message_type):
        return FlextResult.ok(None)
    return _missing(kernel, message_type, why)


def require_service(kernel: FlextKernel, key: type[T] | str, *, why: str) -> FlextResult[T]:
    """The service registered under ``key`` (a protocol, as in the container), or why there is none.

    Raises:
        Exception: what the service's factory raised (a bug), as ``container.get`` does.

    """
    found: FlextResult[T] = kernel.container.get(key)
    if found.is_success:
        return found
    return _missing(kernel, key, why)


def _missing(kernel: FlextKernel, contract: type | str, why: str) -> FlextResult[Any]:
    name = contract if isinstance(contract, str) else contract.__name__
    provider = provider_of(contract) if isinstance(contract, type) else None
    if provider is None:
        return FlextResult.fail(
            f"{why}, but nothing provides {name}", error_code=NO_HANDLER, error_data={"contract": name}
        )
    return plugin_unavailable(kernel, provider, why=why, contract=name)


def plugin_unavailable(
    kernel: FlextKernel, provider: Provider, *, why: str, contract: str | None = None
) -> FlextResult[Any]:
    """The failure for "``why`` needs ``provider``'s plugin, which is not running": which code, what to do.

    ``error_data`` holds ``plugin``, ``state`` and ``hint`` (one line for the
    CLI's ``hint:``). Codes: ``PLUGIN_DISABLED`` (installed, turned off),
    ``NOT_FOUND`` (not installed), ``PLUGIN_LOAD_FAILED`` (it failed),
    ``NO_HANDLER`` (it runs but does not provide ``contract``: an older version).
    """
    from flext_kernel.errors import PLUGIN_LOAD_FAILED
    from flext_kernel.plugins.base import PluginState
    from flext_kernel.plugins.state import enable_hint

    name = provider.plugin
    record = kernel.plugins.records.get(name)
    if record is None:
        state, code = "not installed", NOT_FOUND
        hint = f"install it with 'flext plugin install {provider.distribution}'"
    elif record.state is PluginState.DISABLED:
        state, code, hint = "disabled", PLUGIN_DISABLED, enable_hint(name)
    elif record.state is PluginState.FAILED:
        state, code = f"failed ({record.reason})", PLUGIN_LOAD_FAILED
        hint = f"'flext plugin info {name}' says why (add --debug for the traceback)"
    else:
        state, code = f"{record.state.value} but provides no {contract or 'such contract'}", NO_HANDLER
        hint = f"install a version that provides it: 'flext plugin install {provider.distribution}'"
    return FlextResult.fail(
        f"{why}, but plugin {name!r} is {state}",
        error_code=code,
        error_data={"plugin": name, "state": record.state.value if record else "missing", "hint": hint},
    )


def hint_of(result: FlextResult[Any]) -> str | None:
    """The one-line ``hint`` a failure from this module carries: ``fail(result, hint=hint_of(result))``."""
    hint = result.error_data.get("hint") if result.is_failure else None
    return hint if isinstance(hint, str) else None
