"""Aliases: a short name for a command line (``ps`` for ``pipeline status``), in ``aliases.json``.

Stdlib only: the kernel may expand them on every command line (docs/plugins/shell.md, "Kernel hook").
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
from pathlib import Path
from typing import Final

from flext_kernel.paths import config_dir

__all__ = ["ALIAS_PATTERN", "expand", "load", "path", "save"]

ALIAS_PATTERN: Final = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*\Z")
"""What an alias name looks like: the same rule as a command name."""


def path() -> Path:
    """``<config dir>/aliases.json``."""
    return config_dir() / "aliases.json"


def load() -> dict[str, str]:
    """Every alias (name to command line); an unreadable or damaged file is no aliases."""
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(name): str(line) for name, line in data.items() if isinstance(line, str)}


def save(aliases: dict[str, str]) -> None:
    """Write the aliases atomically, readable by the user alone.

    Raises:
        OSError: the config dir cannot be written.

    """
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(dict(sorted(aliases.items())), handle, indent=2)
            handle.write("\n")
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def expand(tokens: list[str], aliases: dict[str, str] | None = None) -> list[str]:
    """``tokens`` with a leading alias replaced by its command line (once: an alias never names another)."""
    if not tokens:
        return tokens
    known = load() if aliases is None else aliases
    line = known.get(tokens[0])
    if line is None:
        return tokens
    return [*shlex.split(line), *tokens[1:]]
