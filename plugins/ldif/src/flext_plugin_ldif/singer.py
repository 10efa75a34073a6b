"""What flext's Singer engine needs to know about ``tap-ldif`` (its ``flext_singer_connectors`` answer).

A plain dict, so that listing the installed taps imports nothing else. The
capabilities are those ``tap-ldif --about`` lists (a test compares them):
``activate-version`` is how ``flext pipeline run --full-refresh`` knows it
may ask the tap for ``ACTIVATE_VERSION`` (``emit_activate_version_messages``).
"""

__all__ = ["TAP_LDIF"]

TAP_LDIF = {
    "kind": "tap",
    "executable": "tap-ldif",
    "description": "RFC 2849 LDIF files as Singer streams: users, groups, organizational_units, other.",
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
