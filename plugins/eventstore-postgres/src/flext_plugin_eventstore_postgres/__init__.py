"""FLEXT event store backend on PostgreSQL (psycopg 3): parallel writers, LISTEN/NOTIFY subscriptions.

The plugin object is ``flext_plugin_eventstore_postgres.plugin`` (entry point
``eventstore-postgres``); it provides the ``postgres`` backend. Use
``PostgresEventStore`` directly to open a database of your choosing.

Importing this package does not import psycopg (loading the plugin for
``flext --help`` costs nothing): ``PostgresEventStore`` and the other names
of ``flext_plugin_eventstore_postgres.store`` are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flext_plugin_eventstore_postgres.store import (
        DEFAULT_SCHEMA,
        MAX_EVENTS_PER_TRANSACTION,
        URL_VARIABLE,
        PostgresEventStore,
    )

__all__ = ["DEFAULT_SCHEMA", "MAX_EVENTS_PER_TRANSACTION", "URL_VARIABLE", "PostgresEventStore"]


def __getattr__(name: str) -> Any:
    """Load the store module (and psycopg) only when one of its names is used."""
    if name in __all__:
        return getattr(importlib.import_module("flext_plugin_eventstore_postgres.store"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
