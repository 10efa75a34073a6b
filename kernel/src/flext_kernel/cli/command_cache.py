"""The plugin command cache: the CLI's table of contents, rebuilt only when plugins change.

How it is keyed and why: docs/cli.md, "How it stays fast".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.paths import cache_dir
from flext_kernel.version import KERNEL_VERSION

if TYPE_CHECKING:
    from flext_kernel.plugins.manager import PluginManager

__all__ = ["CACHE_FORMAT", "fingerprint", "invalidate", "load_table", "read", "write"]

CACHE_FORMAT: Final = 5
HOOK_GROUPS: Final = ("run_observers", "argv_rewriters")
"""Entry-point groups (``flext.<group>``) of functions the CLI calls around every run (docs/cli.md)."""


def fingerprint(plugin_dirs: Iterable[Path]) -> str:
    """A digest of everything that changes when a plugin is installed, removed or edited locally."""
    parts: list[str] = [KERNEL_VERSION, str(CACHE_FORMAT), sys.prefix]
    for entry in sys.path:
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            continue
    for directory in plugin_dirs:
        try:
            with os.scandir(directory) as children:
                stamps = sorted(f"{c.path}:{c.stat().st_mtime_ns}" for c in children)
        except OSError:
            continue
        parts.extend(stamps)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _path() -> Path:
    return cache_dir() / "plugin-commands.json"


def read(expected: str) -> dict[str, Any] | None:
    """The cached table if it matches ``expected``; None on a miss or a damaged file."""
    if os.environ.get("FLEXT_NO_PLUGIN_CACHE") == "1":
        return None
    table = _last_table()
    if table is None or table.get("fingerprint") != expected:
        return None
    if not _sources_unchanged(table.get("sources")):
        return None
    if table.get("unread") and set(table["unread"]) - _left_out(table["unread"]):
        return None  # a plugin left out, and so not read, when the table was built is wanted now
    return table


def write(table: dict[str, Any]) -> None:
    """Store the table atomically (a concurrent ``flext`` never reads half a file)."""
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(table), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only cache dir only costs speed, never correctness


def invalidate() -> None:
    """Drop the cached table, so the next ``flext`` run rebuilds it (after an install, pin, ...).

    The fingerprint can miss a change made within a directory's timestamp resolution.
    """
    with contextlib.suppress(OSError):  # the fingerprint still notices almost every change
        _path().unlink(missing_ok=True)


def load_table(plugin_dirs: list[Path], *, refresh: bool = False) -> dict[str, Any]:
    """Return the command table, rebuilding and caching it when the fingerprint changed."""
    key = fingerprint(plugin_dirs)
    table = None if refresh else read(key)
    if table is None:
        table = build_table(plugin_dirs, key)
        write(table)
    return table


def build_table(plugin_dirs: list[Path], key: str) -> dict[str, Any]:
    """Import every plugin (slow path) and record its summary and commands."""
    from flext_kernel.plugins.discovery import discover
    from flext_kernel.plugins.manager import PluginManager

    candidates = discover(plugin_dirs)
    left_out = _left_out([candidate.name for candidate in candidates])
    manager = PluginManager(KERNEL_VERSION, disabled=left_out)
    manager.load(candidates)
    # A plugin this run leaves out is not imported: its row is the last table's, if there is one.
    kept = {row.get("name"): row for row in (_last_table() or {}).get("plugins", [])}
    plugins = []
    for record in manager.records.values():
        if record.name in left_out and record.name in kept:
            plugins.append(kept[record.name])
            continue
        summary = record.summary()
        # A plugin that failed after its manifest was read (version gate, requirements, a hook)
        # keeps the commands its manifest declares, so the CLI can say why they are missing.
        # A live plugin lists what it kept: a command pinned to another plugin is gone from it.
        entries = (record.manifest.commands if record.manifest else ()) if record.failed else record.commands
        summary["commands"] = [
            {"path": list(entry.path), "target": entry.target, "help": entry.help} for entry in entries
        ]
        groups = record.manifest.groups if record.manifest else ()
        summary["groups"] = [{"path": list(entry.path), "help": entry.help} for entry in groups]
        plugins.append(summary)
    from importlib.metadata import entry_points

    hooks = {group: {e.name: e.value for e in entry_points(group=f"flext.{group}")} for group in HOOK_GROUPS}
    return {
        "fingerprint": key,
        "format": CACHE_FORMAT,
        "hooks": hooks,
        "plugins": plugins,
        "sources": _sources(manager),
        "unread": sorted(left_out),
    }


def _left_out(names: list[str]) -> set[str]:
    """Which of ``names`` this run leaves out (plugins.db, FLEXT_PLUGINS, FLEXT_DISABLE_PLUGINS)."""
    from flext_kernel.cli.session import selection

    only, disabled = selection()
    return {
        name
        for name in names
        if name != "kernel" and (name in disabled or (only is not None and name not in only))
    }


def _last_table() -> dict[str, Any] | None:
    """The cached table whatever its fingerprint; None if missing or damaged."""
    try:
        table = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return table if isinstance(table, dict) else None


def _sources(manager: PluginManager) -> dict[str, int]:
    """Modification times of the modules that hold the plugins' manifests (edits to editable installs)."""
    stamps: dict[str, int] = {}
    for record in manager.records.values():
        module = sys.modules.get(record.candidate.target.partition(":")[0])
        path = getattr(module, "__file__", None)
        if path:
            with contextlib.suppress(OSError):
                stamps[path] = os.stat(path).st_mtime_ns
    return stamps


def _sources_unchanged(stamps: object) -> bool:
    if not isinstance(stamps, dict):
        return False
    try:
        return all(os.stat(path).st_mtime_ns == stamp for path, stamp in stamps.items())
    except OSError:
        return False
