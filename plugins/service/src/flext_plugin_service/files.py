"""Where the service plugin keeps its files, each readable by its owner only (0600 in 0700 directories).

``<data dir>/services/``: ``<name>.pid`` (JSON: pid, process group, start
time, argv), ``<name>.lock`` (held by a start or a stop), ``<name>.log`` (the process's stdout and stderr) and
``health.json`` (each service's last state and since when). A service's log
quotes what it printed, which may name hosts and users: hence private.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any, Final

from flext_kernel.paths import data_dir

__all__ = ["lock_file", "log_file", "open_private", "pid_file", "read_json", "services_dir", "write_json"]

_FILE_MODE: Final = 0o600
_DIRECTORY_MODE: Final = 0o700


def services_dir() -> Path:
    """``<data dir>/services``, made private if missing."""
    path = data_dir() / "services"
    path.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    return path


def pid_file(name: str) -> Path:
    """The pid file of local process ``name``."""
    return services_dir() / f"{name}.pid"


def lock_file(name: str) -> Path:
    """The lock a start or stop of ``name`` holds while it reads and writes the pid file (never removed)."""
    return services_dir() / f"{name}.lock"


def log_file(name: str) -> Path:
    """The log of local process ``name``."""
    return services_dir() / f"{name}.log"


def open_private(path: Path, mode: str = "ab") -> IO[Any]:
    """Open ``path`` for appending (``ab``) or reading, created ``0600`` if missing."""
    flags = (os.O_WRONLY | os.O_APPEND if "a" in mode else os.O_RDONLY) | os.O_CLOEXEC | os.O_CREAT
    descriptor = os.open(path, flags, _FILE_MODE)
    return os.fdopen(descriptor, mode)


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically: a reader sees the old file or the new one."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, _FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
        json.dump(data, sink)
        sink.flush()
        os.fsync(sink.fileno())
    os.replace(partial, path)


def read_json(path: Path) -> Any:
    """``path``'s JSON, or None when it is missing or unreadable (a torn or foreign file is no state)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
