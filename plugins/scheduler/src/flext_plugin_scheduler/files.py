"""Files only their owner may read: the scheduler's lock, pid file and firing logs (0600 in 0700 dirs).

A firing's log quotes what the job printed, which may name hosts and users;
the same rule as the pipeline plugin's run logs (each plugin keeps its own copy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any, Final

__all__ = ["open_private", "private_directory", "write_private"]

_FILE_MODE: Final = 0o600
_DIRECTORY_MODE: Final = 0o700


def private_directory(path: Path) -> Path:
    """Make ``path`` and its missing parents, each ``0700`` whatever the umask; return ``path``."""
    missing = []
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=_DIRECTORY_MODE)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(directory, _DIRECTORY_MODE)
    return path


def open_private(path: Path, mode: str = "a") -> IO[Any]:
    """Open ``path`` for ``mode`` (``a``, ``a+``, ``ab``, ``w``, ``wb``), created ``0600`` if missing."""
    flags = {
        "a": os.O_WRONLY | os.O_APPEND,
        "ab": os.O_WRONLY | os.O_APPEND,
        "a+": os.O_RDWR | os.O_APPEND,
        "w": os.O_WRONLY | os.O_TRUNC,
        "wb": os.O_WRONLY | os.O_TRUNC,
    }[mode] | os.O_CLOEXEC
    private_directory(path.parent)
    descriptor = os.open(path, flags | os.O_CREAT, _FILE_MODE)
    try:
        os.fchmod(descriptor, _FILE_MODE)
        return os.fdopen(descriptor, mode, encoding=None if "b" in mode else "utf-8")
    except BaseException:
        os.close(descriptor)
        raise


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a ``0600`` temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
