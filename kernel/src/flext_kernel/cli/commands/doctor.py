"""``flext doctor``: everything that is wrong with the installed plugins, in one report."""

from __future__ import annotations

from typing import Any

from flext_kernel.cli import output
from flext_kernel.cli.commands._inspection import inspect_plugins, plugin_dirs

__all__ = ["doctor"]


def doctor() -> int:
    """Check plugins: load failures, hook problems, command conflicts, missing requirements.

    Exits 1 when it finds a problem, so CI can run it.
    """
    from flext_kernel.cli.app import assemble
    from flext_kernel.cli.command_cache import load_table

    manager = inspect_plugins()
    problems: list[dict[str, Any]] = [
        {"plugin": record.name, "problem": record.reason} for record in manager.failures()
    ]
    assembly = assemble(load_table(plugin_dirs()), disabled=set(), only=None)
    problems += [{"plugin": "-", "problem": conflict} for conflict in assembly.conflicts]
    if not problems:
        count = len(manager.records)
        return output.emit({"problems": []}, human=f"no problems found in {count} plugins")
    if output.emit_table(problems, ("plugin", "problem"), title="flext doctor") == output.EXIT_OK:
        output.note(f"{len(problems)} problem(s) found")
    return output.EXIT_FAILED
