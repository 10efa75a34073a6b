"""Disabled plugins and pinned commands, kept in ``<config dir>/plugins.db`` (docs/kernel/plugin-host.md)."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from flext_kernel.errors import STORAGE_ERROR, FlextError
from flext_kernel.plugins.discovery import canonical_name

__all__ = ["PluginStateStore", "enable_hint", "environment_overrides"]

_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS plugin_state ("
    " name VARCHAR NOT NULL, enabled BOOLEAN NOT NULL, changed_at DATETIME NOT NULL, PRIMARY KEY (name))"
)
"""The old sqlmodel table's columns, types and key: files made by either version are interchangeable."""

_SELECT_DISABLED = "SELECT name FROM plugin_state WHERE enabled = 0"
_CREATE_PINS = (
    "CREATE TABLE IF NOT EXISTS command_owner ("
    " command VARCHAR NOT NULL, plugin VARCHAR NOT NULL, changed_at DATETIME NOT NULL, PRIMARY KEY (command))"
)
"""Commands whose owner the user chose (``flext plugin pin``): the pinned plugin keeps the command."""
_SELECT_PINS = "SELECT command, plugin FROM command_owner"
# INSERT OR REPLACE rather than ON CONFLICT ... DO UPDATE: every column is written
# anyway, and it works on SQLite builds older than 3.24 (no UPSERT syntax).
_UPSERT = "INSERT OR REPLACE INTO plugin_state (name, enabled, changed_at) VALUES (?, ?, ?)"
_DELETE = "DELETE FROM plugin_state WHERE name = ?"
_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy stored a ``DATETIME`` in SQLite (naive; the value is UTC)."""


class PluginStateStore:
    """Enabled/disabled flags per plugin name; a plugin with no row is enabled."""

    def __init__(self, path: Path) -> None:
        self.path = path
        """The SQLite file."""

    def disabled(self) -> set[str]:
        """Return the names of disabled plugins, read-only: every start-up reads, and must not write."""
        return {canonical_name(row[0]) for row in self._read(_SELECT_DISABLED, "which plugins are disabled")}

    def pins(self) -> dict[str, str]:
        """Return the pinned commands (``"pipeline run"``) with the plugin that keeps each."""
        return {command: canonical_name(plugin) for command, plugin in self._read(_SELECT_PINS, "pins")}

    def pin(self, command: str, plugin: str | None) -> None:
        """Pin ``command`` (its words, space-separated) to ``plugin``; None removes the pin."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(command.split())
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute(_CREATE_PINS)
            db.execute("DELETE FROM command_owner WHERE command = ?", (command,))
            if plugin is not None:
                changed_at = datetime.now(UTC).replace(tzinfo=None).strftime(_TIMESTAMP)
                row = (command, canonical_name(plugin), changed_at)
                db.execute("INSERT INTO command_owner VALUES (?, ?, ?)", row)

    def _read(self, query: str, what: str) -> list[tuple[str, str]]:
        if not self.path.exists():
            return []
        # as_uri() percent-encodes the path, so a '?' or '#' in it is not read as URI syntax.
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            with closing(sqlite3.connect(uri, uri=True)) as db:
                return db.execute(query).fetchall()
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):
                return []  # no table yet: nothing was ever written
            # A locked or unreadable file must not quietly turn disabled plugins back on.
            raise FlextError(
                f"cannot read {what} from {self.path}: {exc}; "
                "retry, or remove the file to enable every plugin",
                STORAGE_ERROR,
            ) from exc

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Record that ``name`` is enabled or disabled, creating the file and table on first use."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The outer ``closing`` closes the connection; the inner ``db`` commits (or rolls back).
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute(_CREATE_TABLE)
            name = canonical_name(name)
            # A row an older FLEXT wrote under another spelling (my_plugin) would outvote this one.
            rows = db.execute("SELECT name FROM plugin_state").fetchall()
            db.executemany(
                _DELETE, [row for row in rows if row[0] != name and canonical_name(row[0]) == name]
            )
            changed_at = datetime.now(UTC).replace(tzinfo=None).strftime(_TIMESTAMP)
            db.execute(_UPSERT, (name, int(enabled), changed_at))

    def forget(self, names: set[str]) -> None:
        """Drop the flags of ``names``: an uninstalled plugin comes back enabled when reinstalled."""
        if not self.path.exists():
            return
        with closing(sqlite3.connect(self.path)) as db, db:
            try:
                spellings = names | {canonical_name(name) for name in names}
                db.executemany(_DELETE, [(name,) for name in spellings])
            except sqlite3.OperationalError:
                return  # no table yet: nothing to forget


def environment_overrides() -> tuple[set[str] | None, set[str]]:
    """Return (``FLEXT_PLUGINS`` allow-list or None, ``FLEXT_DISABLE_PLUGINS`` deny-list) for this run."""

    def names(variable: str) -> set[str]:
        return {
            canonical_name(part.strip()) for part in os.environ.get(variable, "").split(",") if part.strip()
        }

    only = names("FLEXT_PLUGINS")
    return (only or None), names("FLEXT_DISABLE_PLUGINS")


def enable_hint(name: str) -> str:
    """How a user turns plugin ``name`` back on: a command, or the variable leaving it out of this run."""
    only, denied = environment_overrides()
    name = canonical_name(name)
    if name in denied or (only is not None and name not in only):
        return (
            f"FLEXT_PLUGINS or FLEXT_DISABLE_PLUGINS leaves {name!r} out of this run; change them to use it"
        )
    return f"enable it with 'flext plugin enable {name}'"
