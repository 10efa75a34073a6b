"""What flext's Singer engine knows of ``target-sqlite`` (the ``flext_singer_connectors`` answer)."""

__all__ = ["TARGET_SQLITE"]

TARGET_SQLITE = {
    "kind": "target",
    "executable": "target-sqlite",
    "description": "SQLite file: one table per stream, upserts on key properties, crash-safe STATE",
    "capabilities": [
        "about",
        "stream-maps",
        "schema-flattening",
        "validate-records",
        "structured-logging",
        "activate-version",
        "hard-delete",
        "soft-delete",
    ],
}
"""The target's description, as the engine's ``SingerSpec`` reads it."""
