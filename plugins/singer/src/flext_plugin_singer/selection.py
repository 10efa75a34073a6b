"""Stream and property selection on a tap's discovered catalog, with Meltano-style patterns.

A pattern is ``STREAM.PROPERTY`` with shell wildcards: ``users.*`` selects a
stream and all its properties, ``groups.cn`` one property (the key
properties always come along), and a leading ``!`` deselects. Later patterns
win over earlier ones.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["select", "selected_streams", "unmatched"]


def select(catalog: dict[str, Any], patterns: Sequence[str]) -> dict[str, Any]:
    """A copy of ``catalog`` whose ``selected`` metadata follows ``patterns``."""
    chosen = copy.deepcopy(catalog)
    for stream in chosen.get("streams", []):
        name = stream.get("tap_stream_id") or stream.get("stream")
        keys = set(stream.get("key_properties") or [])
        entries = _metadata_by_breadcrumb(stream)
        properties = list((stream.get("schema") or {}).get("properties", {}))
        picked = {prop: _decide(patterns, name, prop) for prop in properties}
        stream_selected = any(picked.values()) or _decide(patterns, name, None)
        entries[()]["metadata"]["selected"] = stream_selected
        for prop in properties:
            entry = entries.setdefault(
                ("properties", prop), {"breadcrumb": ["properties", prop], "metadata": {}}
            )
            entry["metadata"]["selected"] = stream_selected and (picked[prop] or prop in keys)
        stream["metadata"] = list(entries.values())
    return chosen


def selected_streams(catalog: dict[str, Any]) -> list[str]:
    """Names of the streams ``catalog`` selects."""
    names = []
    for stream in catalog.get("streams", []):
        if _metadata_by_breadcrumb(stream)[()]["metadata"].get("selected"):
            names.append(stream.get("tap_stream_id") or stream.get("stream"))
    return names


def unmatched(catalog: dict[str, Any], patterns: Sequence[str]) -> list[str]:
    """The patterns that match no stream (or no property of a matching stream): most likely typos.

    A misspelt property would otherwise drop a column without a word.
    """
    fields = []
    for stream in catalog.get("streams", []):
        name = stream.get("tap_stream_id") or stream.get("stream")
        fields.append((name, list((stream.get("schema") or {}).get("properties", {}))))
    missing = []
    for raw in patterns:
        stream_part, _, prop_part = raw.removeprefix("!").partition(".")
        matched = any(
            fnmatchcase(name, stream_part)
            and (prop_part in ("", "*") or any(fnmatchcase(prop, prop_part) for prop in properties))
            for name, properties in fields
        )
        if not matched:
            missing.append(raw)
    return missing


def _decide(patterns: Sequence[str], stream: str, prop: str | None) -> bool:
    """The last pattern that matches decides; nothing matching means not selected."""
    decision = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        stream_part, _, prop_part = pattern.partition(".")
        if not fnmatchcase(stream, stream_part):
            continue
        if prop is None:
            if not negate or prop_part in ("", "*"):
                decision = not negate
            continue
        if fnmatchcase(prop, prop_part or "*"):
            decision = not negate
    return decision


def _metadata_by_breadcrumb(stream: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    entries = {tuple(entry.get("breadcrumb", [])): entry for entry in stream.get("metadata", [])}
    entries.setdefault((), {"breadcrumb": [], "metadata": {}})
    for entry in entries.values():
        entry.setdefault("metadata", {})
    return entries
