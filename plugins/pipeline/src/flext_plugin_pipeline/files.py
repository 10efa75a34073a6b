"""Files only their owner may read: what the pipeline plugin writes is 0600, in directories it makes 0700.

Registered definitions may hold a literal password, run logs quote what taps
print, and the run lock and runner record say what runs. The ``flext`` CLI
sets its umask to 077 before anything else, but the plugin is also called
from Python (a service, a test, a notebook) under whatever umask that
process has, so the modes are set here explicitly: at creation (``os.open``
with the mode, then ``fchmod``, since the umask applies to the mode given)
and for each directory this module creates. A directory or file that
already exists keeps its mode: ``flext doctor`` reports the loose ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any, Final

__all__ = ["DIRECTORY_MODE", "FILE_MODE", "open_private", "private_directory", "write_private"]

FILE_MODE: Final = 0o600
"""Mode of every file the plugin creates."""
DIRECTORY_MODE: Final = 0o700
"""Mode of every directory the plugin creates."""


def private_directory(path: Path) -> Path:
    """Make ``path`` and its missing parents, each ``0700`` whatever the umask; return ``path``."""
    missing: list[Path] = []
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:  # made meanwhile by another process: keep what it made
            continue
        os.chmod(directory, DIRECTORY_MODE)
    return path


def open_private(path: Path, mode: str = "a", *, buffering: int = -1) -> IO[Any]:
    """Open ``path`` for ``mode`` (``a``, ``a+``, ``ab``, ``w``), creating it ``0600`` if it is not there.

    Text modes are UTF-8. Its directory is made (``private_directory``) if missing.
    """
    flags = {
        "a": os.O_WRONLY | os.O_APPEND,
        "ab": os.O_WRONLY | os.O_APPEND,
        "a+": os.O_RDWR | os.O_APPEND,
        "w": os.O_WRONLY | os.O_TRUNC,
    }[mode] | getattr(os, "O_CLOEXEC", 0)
    private_directory(path.parent)
    try:
        descriptor = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
        created = True
    except FileExistsError:
        descriptor = os.open(path, flags)
        created = False
    try:
        if created:
            os.fchmod(descriptor, FILE_MODE)  # the umask may have taken bits away; never added any
        encoding = None if "b" in mode else "utf-8"
        return os.fdopen(descriptor, mode, encoding=encoding, buffering=buffering)
    except BaseException:
        os.close(descriptor)
        raise


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a ``0600`` temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
