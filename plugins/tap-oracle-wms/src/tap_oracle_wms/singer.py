"""What flext's Singer engine needs to know about ``tap-oracle-wms`` (its ``flext_singer_connectors`` answer).

A plain dict, so that listing the installed taps imports nothing else. The
capabilities are those ``tap-oracle-wms --about`` lists (a test compares them).
"""

__all__ = ["TAP_ORACLE_WMS"]

TAP_ORACLE_WMS = {
    "kind": "tap",
    "executable": "tap-oracle-wms",
    "description": "Oracle WMS Cloud entities (LGF API v10), incremental on mod_ts.",
    "capabilities": [
        "catalog",
        "state",
        "discover",
        "activate-version",
        "about",
        "stream-maps",
        "schema-flattening",
        "batch",
        "structured-logging",
    ],
}
"""The tap's description for the Singer engine."""
