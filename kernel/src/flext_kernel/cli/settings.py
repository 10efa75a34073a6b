"""The global options of one ``flext`` run, shared by every command."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["OutputFormat", "Settings", "current", "replace_current"]

OutputFormat = Literal["table", "json", "yaml"]


@dataclass
class Settings:
    """What the global options say; commands read it through ``current()``."""

    output: OutputFormat = "table"
    """How results are printed: rich tables, or stable JSON/YAML on stdout."""
    debug: bool = False
    """Show tracebacks."""
    quiet: bool = False
    """Print only results and errors."""
    plugin_dirs: list[Path] = field(default_factory=list)
    """Extra local plugin directories (``--plugins-dir``)."""
    strict_plugins: bool = field(default_factory=lambda: os.environ.get("FLEXT_STRICT_PLUGINS") == "1")
    """``FLEXT_STRICT_PLUGINS=1``: a failed plugin is an error, not a warning."""


_current = Settings()


def current() -> Settings:
    """The settings of this run."""
    return _current


def replace_current(settings: Settings) -> None:
    """Install the settings parsed from the command line."""
    global _current
    _current = settings
