"""Find plugins without importing them: entry points and plugin directories (docs/kernel/plugin-host.md)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["ENTRY_POINT_GROUP", "Candidate", "canonical_name", "discover", "local_candidates"]

ENTRY_POINT_GROUP: Final = "flext.plugins"
_SEPARATORS: Final = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """A plugin name as FLEXT compares and shows it (PEP 503): lower case, each run of ``-_.`` one ``-``.

    ``plugin_cmd``, ``Plugin.Cmd`` and ``plugin-cmd`` name one plugin, shown as ``plugin-cmd``.
    """
    return _SEPARATORS.sub("-", name).lower()


@dataclass(frozen=True)
class Candidate:
    """A plugin found on this machine, not imported yet."""

    name: str
    """The entry point's name, or the file/package name in a plugins directory (``canonical_name``)."""
    target: str
    """What to import: ``"module"`` or ``"module:object"``."""
    source: Literal["entry-point", "directory", "builtin"]
    """How it was found."""
    distribution: str | None = None
    """The installed distribution that provides it, for entry points."""
    version: str | None = None
    """That distribution's version."""
    location: str | None = None
    """The file or directory of a local plugin."""


def discover(plugin_dirs: Iterable[Path] = ()) -> list[Candidate]:
    """Return every installed (entry point) and local (directory) plugin candidate."""
    from importlib.metadata import entry_points

    found: list[Candidate] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        # Each ``dist.metadata`` (and ``dist.version``) parses the METADATA file again: read it once.
        metadata = entry.dist.metadata if entry.dist is not None else None
        found.append(
            Candidate(
                name=canonical_name(entry.name),
                target=entry.value,
                source="entry-point",
                distribution=metadata["Name"] if metadata is not None else None,
                version=metadata["Version"] if metadata is not None else None,
            )
        )
    found.extend(local_candidates(plugin_dirs))
    return found


def local_candidates(plugin_dirs: Iterable[Path]) -> list[Candidate]:
    """Return the ``name.py`` and ``name/__init__.py`` plugins in ``plugin_dirs``, put on ``sys.path``."""
    found: list[Candidate] = []
    for directory in plugin_dirs:
        if not directory.is_dir():
            continue
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
        for path in sorted(directory.iterdir()):
            if path.name.startswith(("_", ".")):
                continue
            if path.suffix == ".py":
                module = path.stem
            elif (path / "__init__.py").is_file():
                module = path.name
            else:
                continue
            found.append(
                Candidate(name=canonical_name(module), target=module, source="directory", location=str(path))
            )
    return found
