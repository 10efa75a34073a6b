"""``flext doctor``: what is wrong with the installed plugins, in one report; loose file permissions.

Hook conflicts and failing health checks only show when plugins run, so it boots a throw-away kernel.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Final

from flext_kernel.cli import output
from flext_kernel.cli.commands._inspection import inspect_plugins
from flext_kernel.cli.session import plugin_dirs

__all__ = ["doctor", "loose_permissions"]

_MOST_FILES_CHECKED: Final = 10_000
_MOST_SHOWN: Final = 10


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
    warnings = loose_permissions()
    if not output.is_human():
        output.emit({"plugins": count, "problems": problems, "warnings": warnings})
        return output.EXIT_FAILED if problems else output.EXIT_OK
    for warning in warnings:
        output.note(f"warning: {warning}")
    if not problems:
        print(f"no problems found in {count} {'plugin' if count == 1 else 'plugins'}")
    else:
        output.emit_table(problems, ("plugin", "problem"), title="flext doctor")
        output.note(f"{len(problems)} problem(s) found")
    return output.EXIT_FAILED if problems else output.EXIT_OK


def loose_permissions() -> list[str]:
    """FLEXT's directories and files that others than the user may read (they may hold secrets).

    Warnings, not problems: the exit code stays about plugins, and the ``chmod`` is the user's call.
    """
    from flext_kernel.paths import cache_dir, config_dir, data_dir

    loose: dict[Path, int] = {}  # the data and cache dirs may sit inside the config dir (FLEXT_HOME)
    for root in (config_dir(), data_dir(), cache_dir()):
        if root.is_dir():
            loose.update((path, mode) for path in _tree(root) if (mode := _loose_mode(path)) is not None)
    shown = [
        f"{path} is {stat.S_IMODE(mode):04o}: others may read it; "
        f"'chmod {'0700' if stat.S_ISDIR(mode) else '0600'} {path}'"
        for path, mode in list(loose.items())[:_MOST_SHOWN]
    ]
    if len(loose) > _MOST_SHOWN:
        shown.append(f"{len(loose) - _MOST_SHOWN} more; 'chmod -R go-rwx DIR' fixes a whole directory")
    return shown


def _tree(root: Path) -> list[Path]:
    """``root`` and everything under it, not following links, at most ``_MOST_FILES_CHECKED`` paths."""
    found = [root]
    for directory, names, files in os.walk(root):
        found += [Path(directory, name) for name in (*names, *files)]
        if len(found) > _MOST_FILES_CHECKED:
            break
    return found[:_MOST_FILES_CHECKED]


def _loose_mode(path: Path) -> int | None:
    """The mode of ``path`` if others may use it; None if not, or gone (SQLite's -wal, -shm come and go)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return None
    return mode if not stat.S_ISLNK(mode) and mode & (stat.S_IRWXG | stat.S_IRWXO) else None
