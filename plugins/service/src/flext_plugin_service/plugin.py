"""The ``service`` plugin: defines ``flext_services``, contributes the built-ins, declares its commands.

Loading it imports no web server (nor this plugin's pydantic models) and opens
nothing: the built-ins are descriptions read from the environment when the
registry is read, and checked only when someone asks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import CommandEntry, GroupEntry, PluginManifest

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_plugin_service.spec import ServiceSpec

__all__ = ["NAME", "flext_services", "flext_startup", "manifest"]

NAME = "service"
"""The plugin's name, which contributors list in ``requires``."""

_CLI = "flext_plugin_service.service_cli"

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Services: registry, health, supervision of local processes, and 'flext serve'",
    hookspecs="flext_plugin_service.hookspecs",
    commands=(
        CommandEntry(path=("service", "list"), target=f"{_CLI}:list_services", help="List the services."),
        CommandEntry(
            path=("service", "health"),
            target=f"{_CLI}:health",
            help="Check every service now (concurrently); exit 1 when a required one is down.",
        ),
        CommandEntry(
            path=("service", "status"),
            target=f"{_CLI}:status",
            help="The local processes' state and each service's last known health, without checking.",
        ),
        CommandEntry(path=("service", "start"), target=f"{_CLI}:start", help="Start a local process."),
        CommandEntry(
            path=("service", "stop"),
            target=f"{_CLI}:stop",
            help="Stop a local process: SIGTERM to its process group, SIGKILL after its timeout.",
        ),
        CommandEntry(
            path=("service", "restart"), target=f"{_CLI}:restart", help="Stop, then start, a local process."
        ),
        CommandEntry(
            path=("service", "logs"), target=f"{_CLI}:logs", help="Print (or --follow) a local process's log."
        ),
        CommandEntry(
            path=("serve",),
            target="flext_plugin_service.serve_cli:serve",
            help="Serve /health, /ready, /metrics and the read API over HTTP.",
        ),
    ),
    groups=(
        GroupEntry(path=("service",), help="The services FLEXT runs or depends on: health and supervision."),
    ),
)
"""The plugin's manifest: its commands, declared lazily, and its hook."""


@hookimpl
def flext_services() -> list[ServiceSpec]:
    """The built-ins: the event store, PostgreSQL/NATS/Redis when configured, and ``flext serve``."""
    from flext_plugin_service.builtins import builtin_services

    return builtin_services()


@hookimpl
def flext_startup(kernel: FlextKernel) -> None:
    """Answer the SDK's ``GetServiceHealth`` (the checks run only when someone asks)."""
    from functools import partial

    from flext_plugin_service.health_query import answer_service_health
    from flext_sdk.contracts.services import GetServiceHealth

    kernel.query_bus.register(GetServiceHealth, partial(answer_service_health, kernel), owner=NAME)
