"""``flext doctor``: everything that is wrong with the installed plugins, in one report.

Loading alone finds import errors, bad manifests, version gates and missing
or cyclic requirements. Hook conflicts (two plugins handling one command
type, a service registered twice) and failing health checks only show when
the plugins run, so the doctor boots them in a throw-away kernel, asks each
for its health, and shuts them down again.
"""

from __future__ import annotations

from typing import Any

from flext_kernel.cli import output
from flext_kernel.cli.commands._inspection import inspect_plugins, plugin_dirs

__all__ = ["doctor"]


def doctor() -> int:
    """Check plugins: load failures, hook conflicts, command conflicts, missing requirements, health.

    Exits 1 when it finds a problem, so CI can run it.
    """
    from flext_kernel.cli.app import assemble
    from flext_kernel.cli.command_cache import load_table
    from flext_kernel.kernel import FlextKernel

    manager = inspect_plugins()
    kernel = FlextKernel(manager)
    manager.activate(kernel)
    problems: list[dict[str, Any]] = [
        {"plugin": name, "problem": f"unhealthy: {answer.error}"}
        for name, answer in manager.health().items()
        if answer.is_failure
    ]
    kernel.close()
    problems[:0] = [{"plugin": record.name, "problem": record.reason} for record in manager.failures()]
    assembly = assemble(load_table(plugin_dirs()), disabled=set(), only=None)
    problems += [{"plugin": "-", "problem": conflict} for conflict in assembly.conflicts]
    count = len(manager.records)
    if not output.is_human():
        output.emit({"plugins": count, "problems": problems})
    elif not problems:
        print(f"no problems found in {count} {'plugin' if count == 1 else 'plugins'}")
    else:
        output.emit_table(problems, ("plugin", "problem"), title="flext doctor")
        output.note(f"{len(problems)} problem(s) found")
    return output.EXIT_FAILED if problems else output.EXIT_OK
