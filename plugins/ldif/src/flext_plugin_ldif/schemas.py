"""The JSON schemas of the tap's streams (plain dicts: no Singer SDK needed to read them)."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["KEYS", "SCHEMAS", "stream_schema"]

_TEXT: Final = {"type": ["string", "null"]}
_TEXTS: Final = {"type": "array", "items": {"type": "string"}}

_COMMON: Final[dict[str, Any]] = {
    "dn": {
        "type": "string",
        "description": (
            "The key: the distinguished name's RFC 4514 normal form (attribute types by canonical name, "
            "values without case where the type ignores case, spaces and escapes normalised), so that one "
            "entry has one key however its DN was written; the DN as written with normalize_dn: false."
        ),
    },
    "written_dn": {"type": "string", "description": "The distinguished name exactly as written in the file."},
    "parent_dn": {
        "type": ["string", "null"],
        "description": "The parent of dn (dn without its first RDN); null at the top.",
    },
    "object_classes": {
        **_TEXTS,
        "description": "The objectClass values (for a modify record: those it adds or replaces).",
    },
    "attributes": {
        "type": "object",
        "additionalProperties": _TEXTS,
        "description": (
            "Every attribute: its canonical name in lower case (aliases merged: commonName is cn), options "
            "kept apart (cn;lang-pt), to its values in file order. Values are text, except for the "
            "attributes listed in binary_attributes, whose values are all base64 strings. Empty for "
            "change records other than add."
        ),
    },
    "binary_attributes": {
        **_TEXTS,
        "description": (
            "Attributes of 'attributes' whose values are base64 strings: those whose syntax holds octets "
            "(jpegPhoto, audio, userCertificate, userPassword, ;binary, the binary_attributes setting), "
            "and text attributes with a value that is not UTF-8 or holds a NUL in this entry."
        ),
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
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": (
                "The member values, then the uniqueMember values (without a #'...'B UID suffix; in the DN "
                "normal form unless normalize_dn is false). Null with group_members_stream: the "
                "group_members stream has them, and attributes has no member or uniqueMember."
            ),
        },
    },
    "organizational_units": {
        "ou": {**_TEXT, "description": "The first ou value."},
        "description": {**_TEXT, "description": "The first description value."},
    },
    "other": {},
}


_CHANGES: Final[dict[str, Any]] = {
    "sequence": {
        "type": "integer",
        "description": (
            "The change's place among the change records of the run's files (1, 2, ...), read in order; "
            "with dn, the key. Stable while files only grow and new files sort after the old ones."
        ),
    },
    "file": {"type": "string", "description": "The file the change record is in."},
    "line": {"type": "integer", "description": "The line of its dn: in that file."},
}

_GROUP_MEMBERS: Final[dict[str, Any]] = {
    "group_dn": {"type": "string", "description": "The group's dn (as in the groups stream)."},
    "member_dn": {
        "type": "string",
        "description": "The member: a member or uniqueMember value (without a #'...'B UID suffix; in the DN "
        "normal form unless normalize_dn is false).",
    },
    "attribute": {
        "type": "string",
        "enum": ["member", "uniquemember"],
        "description": "Where it was listed.",
    },
    "written_member": {"type": "string", "description": "The value exactly as written."},
    "change_type": {"type": "string", "description": "The group record's change_type."},
    "modify_timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "The group's modify_timestamp (the replication key).",
    },
}

KEYS: Final[dict[str, list[str]]] = {
    "users": ["dn"],
    "groups": ["dn"],
    "organizational_units": ["dn"],
    "other": ["dn"],
    "changes": ["dn", "sequence"],
    "group_members": ["group_dn", "attribute", "member_dn"],
}
"""The key properties of each stream."""


def stream_schema(stream: str) -> dict[str, Any]:
    """The JSON schema of one stream's records.

    Raises:
        KeyError: ``stream`` is not one of the tap's streams.

    """
    if stream == "group_members":
        return {"type": "object", "properties": dict(_GROUP_MEMBERS), "required": list(_GROUP_MEMBERS)}
    extra = _CHANGES if stream == "changes" else _EXTRA[stream]
    return {
        "type": "object",
        "properties": {**_COMMON, **extra},
        "required": ["dn", "change_type", "modify_timestamp"],
    }


SCHEMAS: Final = {stream: stream_schema(stream) for stream in (*_EXTRA, "changes", "group_members")}
"""Stream name to its schema."""
