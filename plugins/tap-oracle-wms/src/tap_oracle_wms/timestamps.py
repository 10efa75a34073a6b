"""Timestamps from the WMS as one comparable form: ISO 8601 in UTC with microseconds.

The replication key's bookmark is compared as a string by Singer SDK, and
the WMS may write an offset (``-03:00``) or none at all; the same instant
must give the same string, and a later instant a greater one. So every
``date-time`` value leaves the tap as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

__all__ = ["to_utc"]


def to_utc(value: str, naive_zone: tzinfo) -> str:
    """``value`` (ISO 8601, with or without an offset) as UTC; a naive value is read in ``naive_zone``.

    Raises:
        ValueError: ``value`` is not an ISO 8601 date-time.

    """
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_zone)
    try:
        return parsed.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:  # a date at the edge of the calendar that UTC moves past it
        raise ValueError(f"{value!r} is out of range in UTC") from None
