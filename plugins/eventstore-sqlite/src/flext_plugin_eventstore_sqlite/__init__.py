"""FLEXT event store backend on SQLite: one WAL-mode file, safe across threads and processes.

The plugin object is ``flext_plugin_eventstore_sqlite.plugin`` (entry point
``eventstore-sqlite``); it provides the ``sqlite`` backend. Use
``SQLiteEventStore`` directly to open a file of your choosing. FLEXT's files
carry ``PRAGMA application_id = APPLICATION_ID``; a file without it that is
not an event store of an older FLEXT is refused (``flext_plugin_eventstore_sqlite.files``).
"""

from __future__ import annotations

from flext_plugin_eventstore_sqlite.files import APPLICATION_ID
from flext_plugin_eventstore_sqlite.store import DEFAULT_FILE_NAME, SQLiteEventStore, default_path

__all__ = ["APPLICATION_ID", "DEFAULT_FILE_NAME", "SQLiteEventStore", "default_path"]
