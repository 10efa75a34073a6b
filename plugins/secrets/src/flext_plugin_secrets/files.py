"""The secrets directory's files: private, written whole or not at all, one writer at a time.

Every file is written to a temporary file of mode 0600 in the same directory,
flushed to disk and renamed over the old one, so a crash or a full disk
leaves the previous file as it was, never half of a new one; the directory
is made 0700. ``locked`` holds an exclusive ``flock`` on ``.lock`` while a
command reads, changes and writes, so two ``flext secret set`` at once do not
lose one of the two secrets.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["ensure_dir", "locked", "read_json", "write_json"]


def ensure_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents) as 0700; an existing one keeps its mode."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the directory's write lock (``.lock``, 0600) for the block."""
    ensure_dir(directory)
    descriptor = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def read_json(path: Path) -> Any:
    """The JSON in ``path`` (None when the file does not exist). Raises ``OSError``, ``ValueError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return json.loads(text)


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` by ``data`` as JSON, atomically, mode 0600. Raises ``OSError``."""
    ensure_dir(path.parent)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
