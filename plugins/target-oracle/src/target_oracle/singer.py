"""What flext's Singer engine knows of ``target-oracle`` (the ``flext_singer_connectors`` answer).

A plain dict, so that listing the installed targets imports nothing else. The
capabilities are those ``target-oracle --about`` lists (a test compares them).
"""

__all__ = ["TARGET_ORACLE"]

TARGET_ORACLE = {
    "kind": "target",
    "executable": "target-oracle",
    "description": "Oracle Database: one table per stream, MERGE on key properties (oracle+oracledb)",
    "capabilities": [
        "about",
        "stream-maps",
        "schema-flattening",
        "structured-logging",
        "validate-records",
        "activate-version",
        "target-schema",
        "hard-delete",
    ],
}
"""The target's description, as the engine's ``SingerSpec`` reads it."""
