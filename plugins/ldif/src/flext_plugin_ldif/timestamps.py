"""Timestamps of entries as one canonical, sortable ISO 8601 form.

Every ``modify_timestamp`` the tap emits, and every bookmark it compares
against, is ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`` in UTC. In that form string
order is time order (``+`` sorts before ``.``, so a whole second sorts before
its fractions), which lets the tap compare bookmarks without parsing every
record's timestamp twice.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["canonical", "from_epoch", "from_generalized_time"]

# The common form of LDAP generalized time: 20240102030405Z (day <= 28 is valid in every month).
_SIMPLE = re.compile(r"([0-9]{4})(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])([01][0-9]|2[0-3])([0-5][0-9]){2}Z")
_GENERALIZED = re.compile(
    r"(?P<date>[0-9]{10})(?P<minute>[0-9]{2})?(?P<second>[0-9]{2})?"
    r"(?:[.,](?P<fraction>[0-9]+))?(?P<zone>Z|[+-][0-9]{2}(?:[0-9]{2})?)"
)


def from_generalized_time(value: str) -> str | None:
    """The canonical form of an LDAP generalized time (``20240102030405Z``, ``202401020304.5+0100``).

    Returns:
        The UTC timestamp, or None if ``value`` is not a valid generalized time.

    """
    if len(value) == 15 and value[14] == "Z" and _SIMPLE.fullmatch(value):
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}T{value[8:10]}:{value[10:12]}:{value[12:14]}+00:00"
    match = _GENERALIZED.fullmatch(value.strip())
    if match is None:
        return None
    date, minute, second, fraction, zone = match.group("date", "minute", "second", "fraction", "zone")
    if second is not None and second == "60":
        second = "59"  # a leap second; datetime has no 60th second
    try:
        moment = datetime(
            int(date[:4]), int(date[4:6]), int(date[6:8]), int(date[8:10]), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if fraction:
        # The fraction is of the last unit given (hour, minute or second), per RFC 4517.
        unit = timedelta(seconds=1 if second else 60 if minute else 3600)
        moment += unit * float(f"0.{fraction}")
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
        moment -= sign * offset
    return _format(moment)


def from_epoch(seconds: float) -> str:
    """The canonical form of a POSIX timestamp (a file's mtime)."""
    return _format(datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None))


def canonical(value: str) -> str:
    """The canonical form of an ISO 8601 timestamp (a bookmark); naive times are taken as UTC.

    Raises:
        ValueError: ``value`` is not an ISO 8601 date-time.

    """
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return _format(moment)


def _format(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`` of a naive UTC datetime."""
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text + "+00:00"
