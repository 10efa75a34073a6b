"""What flext's Singer engine needs to know about ``tap-ldif`` (its ``flext_singer_connectors`` answer).

A plain dict, so that listing the installed taps imports nothing else.
"""

__all__ = ["TAP_LDIF"]

TAP_LDIF = {
    "kind": "tap",
    "executable": "tap-ldif",
    "description": "RFC 2849 LDIF files as Singer streams: users, groups, organizational_units, other.",
    "capabilities": ["catalog", "discover", "state", "about"],
}
"""The tap's description for the Singer engine."""
