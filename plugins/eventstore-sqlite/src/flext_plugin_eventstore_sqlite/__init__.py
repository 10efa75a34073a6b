"""FLEXT event store backend on SQLite: one WAL-mode file, safe across threads and processes.

The plugin object is ``flext_plugin_eventstore_sqlite.plugin`` (entry point
``eventstore-sqlite``); it provides the ``sqlite`` backend. Use
``SQLiteEventStore`` directly to open a file of your choosing.
"""

from __future__ import annotations

from flext_plugin_eventstore_sqlite.store import DEFAULT_FILE_NAME, SQLiteEventStore, default_path

__all__ = ["DEFAULT_FILE_NAME", "SQLiteEventStore", "default_path"]
