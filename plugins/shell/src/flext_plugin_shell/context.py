"""The run's command table, assembly and catalog, read the way the CLI reads them (no plugin import)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flext_kernel.cli.app import Assembly
    from flext_plugin_shell.catalog import Catalog

__all__ = ["open_catalog"]


def open_catalog(*, with_options: bool = False) -> tuple[Catalog, dict[str, Any], Assembly]:
    """(catalog, command table, assembly) of this run; ``with_options`` reads the options now if stale."""
    from flext_kernel.cli.command_cache import load_table
    from flext_kernel.cli.main import build
    from flext_kernel.cli.session import plugin_dirs
    from flext_kernel.cli.settings import current
    from flext_plugin_shell.catalog import build_options, load_catalog

    assembly = build(current())  # also puts local plugin directories on sys.path, as a run does
    table = load_table(plugin_dirs())
    catalog = load_catalog(assembly, table)
    if with_options and not catalog.fresh:
        catalog.options = build_options(build(current()), table.get("fingerprint", ""))
        catalog.fresh = True
    return catalog, table, assembly
