"""The JSON schemas of the tap's streams (plain dicts: no Singer SDK needed to read them)."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["SCHEMAS", "stream_schema"]

_TEXT: Final = {"type": ["string", "null"]}
_TEXTS: Final = {"type": "array", "items": {"type": "string"}}

_COMMON: Final[dict[str, Any]] = {
    "dn": {"type": "string", "description": "The distinguished name, as written in the file."},
    "parent_dn": {
        "type": ["string", "null"],
        "description": "The DN of the parent entry (the DN without its first RDN); null at the top.",
    },
    "object_classes": {
        **_TEXTS,
        "description": "The objectClass values (for a modify record: those it adds or replaces).",
    },
    "attributes": {
        "type": "object",
        "additionalProperties": _TEXTS,
        "description": (
            "Every attribute: lower-cased attribute description (with options, e.g. 'cn;lang-en') to its "
            "values in file order. Values are text; an attribute listed in binary_attributes has a value "
            "that is not UTF-8, and then all its values are base64 strings. Empty for change records "
            "other than add."
        ),
    },
    "binary_attributes": {
        **_TEXTS,
        "description": "Attributes of 'attributes' whose values are base64 strings (not UTF-8 text).",
    },
    "change_type": {
        "type": "string",
        "enum": ["add", "delete", "modify", "modrdn"],
        "description": "add for plain entries and 'changetype: add'; moddn is given as modrdn.",
    },
    "modify_timestamp": {
        "type": "string",
        "format": "date-time",
        "description": (
            "The entry's modifyTimestamp in UTC ISO 8601 (YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00); the "
            "file's modification time when the entry has none. The replication key."
        ),
    },
    "modifications": {
        "type": ["array", "null"],
        "items": {
            "type": "object",
            "properties": {
                "operation": {"type": "string", "enum": ["add", "delete", "replace", "increment"]},
                "attribute": {"type": "string"},
                "values": _TEXTS,
                "binary": {"type": "boolean"},
            },
        },
        "description": "The modifications of a modify record, in order; null for other records.",
    },
    "new_rdn": {**_TEXT, "description": "modrdn: the new RDN."},
    "delete_old_rdn": {"type": ["boolean", "null"], "description": "modrdn: whether the old RDN is removed."},
    "new_superior": {**_TEXT, "description": "modrdn: the new parent DN, if given."},
}

_EXTRA: Final[dict[str, dict[str, Any]]] = {
    "users": {
        "uid": {**_TEXT, "description": "The first uid value."},
        "cn": {**_TEXT, "description": "The first cn value."},
        "sn": {**_TEXT, "description": "The first sn value."},
        "given_name": {**_TEXT, "description": "The first givenName value."},
        "mail": {**_TEXT, "description": "The first mail value."},
        "display_name": {**_TEXT, "description": "The first displayName value."},
    },
    "groups": {
        "cn": {**_TEXT, "description": "The first cn value."},
        "members": {
            **_TEXTS,
            "description": "The member values, then the uniqueMember values (without a #'...'B UID suffix).",
        },
    },
    "organizational_units": {
        "ou": {**_TEXT, "description": "The first ou value."},
        "description": {**_TEXT, "description": "The first description value."},
    },
    "other": {},
}


def stream_schema(stream: str) -> dict[str, Any]:
    """The JSON schema of one stream's records.

    Raises:
        KeyError: ``stream`` is not one of the tap's streams.

    """
    return {
        "type": "object",
        "properties": {**_COMMON, **_EXTRA[stream]},
        "required": ["dn", "change_type", "modify_timestamp"],
    }


SCHEMAS: Final = {stream: stream_schema(stream) for stream in _EXTRA}
"""Stream name to its schema."""
