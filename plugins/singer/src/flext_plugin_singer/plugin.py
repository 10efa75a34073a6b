"""The ``singer`` plugin: its commands, the ``SingerEngine`` service, and the connectors hook.

Other plugins reach Singer through the kernel only: they resolve
``flext_sdk.contracts.singer.SingerEngine`` from the container (registered
here, built on first use) and offer connectors by implementing
``flext_singer_connectors`` (specified in ``flext_plugin_singer.hookspecs``).
Loading the plugin imports neither the engine nor the catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextContainer
    from flext_sdk.contracts.singer import SingerEngine

__all__ = ["NAME", "flext_register_services", "manifest"]

NAME = "singer"
"""The plugin's name."""

_CLI = "flext_plugin_singer.connectors_cli"

_COMMANDS = (
    (("data", "taps", "list"), "list_taps", "List installed and installable taps."),
    (("data", "taps", "add"), "add_tap", "Install a tap into its own environment."),
    (("data", "targets", "list"), "list_targets", "List installed and installable targets."),
    (("data", "targets", "add"), "add_target", "Install a target into its own environment."),
    (("data", "mappers", "list"), "list_mappers", "List installed and installable mappers."),
    (("data", "mappers", "add"), "add_mapper", "Install a mapper into its own environment."),
)

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Singer taps and targets: install, list, and run them as connected processes",
    hookspecs="flext_plugin_singer.hookspecs",
    commands=tuple(
        CommandEntry(path=path, target=f"{_CLI}:{attribute}", help=text)
        for path, attribute, text in _COMMANDS
    ),
    groups=(
        GroupEntry(
            path=("data", "taps"),
            help="Singer taps (sources): list the installed and installable ones, add one.",
        ),
        GroupEntry(
            path=("data", "targets"),
            help="Singer targets (destinations): list the installed and installable ones, add one.",
        ),
        GroupEntry(
            path=("data", "mappers"),
            help="Singer mappers (between tap and target): list the installed and installable ones, add one.",
        ),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl
def flext_register_services(container: FlextContainer) -> None:
    """Register the ``SingerEngine`` service (owner ``singer``), built when first resolved.

    A singleton the container built is closed by it, so ``SingerService.close``
    runs (stopping the runs still going) whenever this plugin's contributions
    are removed (unload, reload, disable) and when the kernel closes: no
    ``flext_shutdown`` of this plugin's own is needed for that.
    """
    from flext_sdk.contracts.singer import SingerEngine

    def engine() -> SingerEngine:
        from flext_plugin_singer.service import SingerService
        from flext_sdk import FlextKernel

        return SingerService(container.resolve(FlextKernel))

    container.register_singleton(SingerEngine, engine, owner=NAME)
