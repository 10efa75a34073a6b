"""Dynamic candidates: the names a value may take, read cheaply from files (no plugin import, no store).

Pipelines are the registered definitions of the project (``<project>/pipelines/*.yaml``, the
project being the nearest directory with a ``flext.yaml``, else ``<data dir>/project``), services
the ones the service plugin keeps files for (``<data dir>/services/*.pid|*.log``), plugins the
command table's, profiles the active one, ``default``, ``<config dir>/profiles/*`` and those in
the history. Streams are the event streams the history names (``--stream X``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from flext_kernel.paths import config_dir, data_dir

__all__ = ["names_of", "paths"]


def _project() -> Path:
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "flext.yaml").is_file():
            return candidate
    return data_dir() / "project"


def pipelines() -> list[str]:
    """Registered pipeline names."""
    folder = _project() / "pipelines"
    with contextlib.suppress(OSError):
        return sorted(path.stem for path in folder.glob("*.yaml"))
    return []


def services() -> list[str]:
    """Services the service plugin has run."""
    folder = data_dir() / "services"
    with contextlib.suppress(OSError):
        return sorted({path.stem for path in folder.iterdir() if path.suffix in (".pid", ".log")})
    return []


def profiles() -> list[str]:
    """Known profile names."""
    found = {"default", os.environ.get("FLEXT_PROFILE") or "default"}
    with contextlib.suppress(OSError):
        found.update(path.stem for path in (config_dir() / "profiles").iterdir())
    found.update(_history_values("SELECT DISTINCT profile FROM history"))
    return sorted(found)


def streams() -> list[str]:
    """Stream names typed before (``--stream NAME``), from the history."""
    found: set[str] = set()
    for command in _history_values("SELECT DISTINCT command FROM history WHERE command LIKE '%--stream%'"):
        words = command.split()
        found.update(words[i + 1] for i, word in enumerate(words[:-1]) if word == "--stream")
        found.update(word.partition("=")[2] for word in words if word.startswith("--stream="))
    return sorted(found)


def _history_values(sql: str) -> list[str]:
    path = data_dir() / "history.db"
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return [str(row[0]) for row in connection.execute(sql)]
        finally:
            connection.close()
    except sqlite3.Error:
        return []


def paths(prefix: str) -> list[str]:
    """Files and directories starting with ``prefix`` (directories end with ``/``)."""
    expanded = os.path.expanduser(prefix)
    folder, _, start = expanded.rpartition("/")
    base = Path(folder or ".") if folder or not prefix.startswith("/") else Path("/")
    shown = prefix[: len(prefix) - len(start)]
    try:
        children = sorted(base.iterdir())
    except OSError:
        return []
    return [
        f"{shown}{child.name}{'/' if child.is_dir() else ''}"
        for child in children
        if child.name.startswith(start) and (start.startswith(".") or not child.name.startswith("."))
    ]


def names_of(kind: str, table: dict[str, Any]) -> list[str]:
    """The names values of ``kind`` may take (``path`` is answered by ``paths``)."""
    if kind == "plugin":
        return sorted(plugin["name"] for plugin in table.get("plugins", []) if plugin.get("name") != "kernel")
    readers = {"pipeline": pipelines, "service": services, "profile": profiles, "stream": streams}
    reader = readers.get(kind)
    return reader() if reader is not None else []
