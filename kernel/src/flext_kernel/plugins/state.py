"""Which plugins the user has disabled, kept across runs in ``<config dir>/plugins.db``.

Writes go through sqlmodel. Reads on the CLI's start-up path use the stdlib
``sqlite3`` module against the same table, because importing SQLAlchemy would
cost more than the whole ``flext --help`` budget.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["PluginStateStore", "environment_overrides"]

_SELECT_DISABLED = "SELECT name FROM plugin_state WHERE enabled = 0"


class PluginStateStore:
    """Enabled/disabled flags per plugin name; a plugin with no row is enabled."""

    def __init__(self, path: Path) -> None:
        self.path = path
        """The SQLite file."""

    def disabled(self) -> set[str]:
        """Return the names of disabled plugins (fast path: stdlib sqlite3, read-only)."""
        if not self.path.exists():
            return set()
        uri = f"file:{self.path}?mode=ro"
        try:
            with closing(sqlite3.connect(uri, uri=True)) as db:
                rows = db.execute(_SELECT_DISABLED).fetchall()
        except sqlite3.OperationalError:
            return set()  # no table yet: nothing was ever disabled
        return {row[0] for row in rows}

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Record that ``name`` is enabled or disabled."""
        from sqlmodel import Session, SQLModel, create_engine

        from flext_kernel.plugins._state_model import PluginStateRow

        self.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{self.path}")
        # Only our table: plugins may keep their own models in the same metadata.
        SQLModel.metadata.create_all(engine, tables=[SQLModel.metadata.tables["plugin_state"]])
        with Session(engine) as session:
            row = session.get(PluginStateRow, name) or PluginStateRow(name=name)
            row.enabled = enabled
            row.changed_at = datetime.now(UTC)
            session.add(row)
            session.commit()
        engine.dispose()

    def forget(self, names: set[str]) -> None:
        """Drop the flags of ``names``: an uninstalled plugin comes back enabled when reinstalled."""
        if not self.path.exists():
            return
        with closing(sqlite3.connect(self.path)) as db, db:
            try:
                db.executemany("DELETE FROM plugin_state WHERE name = ?", [(name,) for name in names])
            except sqlite3.OperationalError:
                return  # no table yet: nothing to forget


def environment_overrides() -> tuple[set[str] | None, set[str]]:
    """Return (``FLEXT_PLUGINS`` allow-list or None, ``FLEXT_DISABLE_PLUGINS`` deny-list) for this run."""

    def names(variable: str) -> set[str]:
        return {part.strip() for part in os.environ.get(variable, "").split(",") if part.strip()}

    only = names("FLEXT_PLUGINS")
    return (only or None), names("FLEXT_DISABLE_PLUGINS")
