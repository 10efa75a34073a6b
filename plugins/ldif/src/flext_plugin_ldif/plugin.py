"""The ``ldif`` plugin: ``flext data ldif inspect``, tap-ldif for the singer plugin, and the ``LdifReader``.

Other plugins read LDIF through the ``LdifReader`` service
(``flext_sdk.contracts.ldif``) this plugin registers in the container: its
parser, with parse problems as items instead of exceptions
(``reader_service``); they never import this package.

tap-ldif reaches the singer plugin through the ``flext_singer_connectors``
hook, not an entry-point group, so ``flext plugin disable ldif`` takes it out
of ``flext data taps list`` and out of pipelines. The plugin does not
require ``singer``: tap-ldif is a console script that runs on its own and
``flext data ldif inspect`` needs nothing else, so the hook is optional
(with the singer plugin off, nobody asks for connectors). Loading the plugin
imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_sdk import CommandEntry, GroupEntry, PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextContainer
    from flext_sdk.contracts.singer import ConnectorSpec

__all__ = ["NAME", "flext_register_services", "flext_singer_connectors", "manifest"]

NAME = "ldif"
"""The plugin's name."""

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="LDIF files: the tap-ldif Singer tap and flext data ldif inspect",
    commands=(
        CommandEntry(
            path=("data", "ldif", "inspect"),
            target="flext_plugin_ldif.inspect_cli:inspect",
            help="Count the entries of LDIF files per stream and change type (or show the first error).",
        ),
    ),
    groups=(
        GroupEntry(path=("data", "ldif"), help="Look into LDIF files (read by the tap-ldif Singer tap)."),
    ),
)
"""The plugin's manifest: its commands, declared lazily."""


@hookimpl(optionalhook=True)  # specified by the singer plugin, which this plugin does not require
def flext_singer_connectors() -> list[ConnectorSpec]:
    """tap-ldif, the console script this distribution installs."""
    from flext_plugin_ldif.singer import TAP_LDIF
    from flext_sdk.contracts.singer import ConnectorSpec

    return [ConnectorSpec.model_validate({"name": "tap-ldif", "family": "flext", **TAP_LDIF})]


@hookimpl
def flext_register_services(container: FlextContainer) -> None:
    """Register the ``LdifReader`` service (owner ``ldif``), built when first resolved."""
    from flext_sdk.contracts.ldif import LdifReader

    def reader() -> LdifReader:
        from flext_plugin_ldif.reader_service import LdifReaderService

        return LdifReaderService()

    container.register_singleton(LdifReader, reader, owner=NAME)
