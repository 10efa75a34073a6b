"""Times as the ``events`` plugin's commands show them: ISO 8601 in JSON, shorter in tables.

Stored events carry ``occurred_at`` as their writer serialized it (pydantic
writes ISO 8601 in UTC); these functions read it back whatever its offset, so
every JSON output has one form (``2026-01-05T12:34:56.123456Z``) and every
table a short one that fits 80 columns (``2026-01-05 12:34:56Z``).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "short"]


def _parsed(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def iso(value: object) -> str | None:
    """``value`` (a datetime or ISO 8601 text) in UTC as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.

    None stays None; text that is not a time is returned as it is (an event
    written by other software), so nothing stored is hidden.
    """
    moment = _parsed(value)
    if moment is None:
        return None if value is None else str(value)
    return moment.isoformat().replace("+00:00", "Z")


def short(value: object, *, seconds: bool = True) -> str:
    """``value`` in UTC for a table: ``YYYY-MM-DD HH:MM:SSZ`` (or without seconds); "" for None."""
    moment = _parsed(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ" if seconds else "%Y-%m-%d %H:%MZ")
