"""The run's plugins (directories, selection, state) and kernel, and the umask of a run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.cli import output
from flext_kernel.cli.settings import current

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.state import PluginStateStore
    from flext_kernel.result import FlextResult

__all__ = [
    "boot_kernel",
    "callers_umask",
    "fail",
    "keep_files_private",
    "plugin_dirs",
    "selection",
    "state_store",
]

_callers_umask: int | None = None


def boot_kernel() -> FlextResult[FlextKernel]:
    """Boot a kernel with every enabled plugin (honours ``FLEXT_PLUGINS``, ``FLEXT_STRICT_PLUGINS``).

    Plugins' commands use it, not ``FlextKernel.boot``: ``flext plugin disable``, ``--plugins-dir`` apply.
    """
    from flext_kernel.kernel import FlextKernel

    only, disabled = selection()
    return FlextKernel.boot(
        plugin_dirs=plugin_dirs(), disabled=disabled, only=only, strict=current().strict_plugins
    )


def plugin_dirs() -> list[Path]:
    """The local plugin directories of this run."""
    from flext_kernel.paths import user_plugins_dir

    return [*current().plugin_dirs, user_plugins_dir()]


def state_store() -> PluginStateStore:
    """The user's plugin state (``plugins.db``: disabled plugins and pinned commands)."""
    from flext_kernel.paths import config_dir
    from flext_kernel.plugins.state import PluginStateStore

    return PluginStateStore(config_dir() / "plugins.db")


def selection() -> tuple[set[str] | None, set[str]]:
    """(``FLEXT_PLUGINS``'s names or None, the plugins this run disables: plugins.db and the environment)."""
    from flext_kernel.plugins.state import environment_overrides

    only, denied = environment_overrides()
    return only, state_store().disabled() | denied


def fail(result: FlextResult[Any], *, hint: str | None = None, exit_code: int | None = None) -> int:
    """Print a failed result the FLEXT way; its error code decides the exit code (``exit_code_for``).

    ``exit_code`` overrides that, for a plugin's own code that means bad input (``EXIT_USAGE``).
    """
    return output.emit_error(result.error or "failed", result.error_code, hint=hint, exit_code=exit_code)


def keep_files_private() -> None:
    """Make what FLEXT and the processes it starts write the user's alone (umask 077; docs/security.md).

    The caller's umask is kept for ``callers_umask``: a scaffolded project, installed packages.
    """
    global _callers_umask
    previous = os.umask(0o077)
    if _callers_umask is None:
        _callers_umask = previous


@contextmanager
def callers_umask() -> Iterator[int]:
    """Within the block, files get the caller's umask (yielded, for ``subprocess.run(umask=...)``)."""
    if _callers_umask is None:
        current = os.umask(0)
        os.umask(current)
        yield current
        return
    private = os.umask(_callers_umask)
    try:
        yield _callers_umask
    finally:
        os.umask(private)
