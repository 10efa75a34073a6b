"""Cron expressions, read by croniter in a schedule's time zone; every time in and out is UTC.

croniter handles the calendar (day-of-week and day-of-month rules, ``@hourly``,
an optional sixth field for seconds) and daylight-saving gaps and repeats,
given aware datetimes in the zone. This module only converts between the
zone and UTC and answers the three questions the planner asks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped,unused-ignore]  # no stubs unless types-croniter

from flext_kernel.errors import VALIDATION_ERROR
from flext_sdk import FlextResult

__all__ = ["COUNT_CAP", "Cron", "parse_cron", "parse_timezone"]

COUNT_CAP: Final = 10_000
"""Missed slots are counted up to this many (a week of a per-minute schedule); more say "at least"."""

_EPSILON: Final = timedelta(microseconds=1)
"""Less than croniter's resolution (a second): ``latest_at`` finds a slot exactly at ``now``."""


def parse_timezone(name: str) -> FlextResult[ZoneInfo]:
    """The IANA zone ``name`` (``Europe/Paris``), or a failure naming it."""
    try:
        return FlextResult.ok(ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        return FlextResult.fail(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Paris'",
            error_code=VALIDATION_ERROR,
            error_data={"timezone": name},
        )


def parse_cron(expression: str, timezone: str = "UTC") -> FlextResult[Cron]:
    """``expression`` read in ``timezone``, or one failure naming what does not parse."""
    zone = parse_timezone(timezone)
    if zone.is_failure:
        return FlextResult.fail(zone.error or "", error_code=zone.error_code, error_data=zone.error_data)
    try:
        croniter(expression, datetime(2000, 1, 1, tzinfo=zone.value))
    except (ValueError, KeyError, TypeError) as exc:  # croniter's errors are ValueErrors; odd input, others
        reason = str(exc).strip().rstrip(".") or type(exc).__name__
        return FlextResult.fail(
            f"cron expression {expression!r} does not parse: {reason}",
            error_code=VALIDATION_ERROR,
            error_data={"cron": expression},
        )
    return FlextResult.ok(Cron(expression, zone.value))


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed expression in its zone."""

    expression: str
    """The expression as given."""
    zone: ZoneInfo
    """The zone it is read in."""

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment`` (UTC)."""
        found: datetime = croniter(self.expression, moment.astimezone(self.zone)).get_next(datetime)
        return found.astimezone(UTC)

    def latest_at(self, moment: datetime) -> datetime:
        """The last slot at or before ``moment`` (UTC)."""
        start = (moment + _EPSILON).astimezone(self.zone)
        found: datetime = croniter(self.expression, start).get_prev(datetime)
        return found.astimezone(UTC)

    def slots(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """The slots in ``(after, until]``, oldest first."""
        walk = croniter(self.expression, after.astimezone(self.zone))
        while True:
            moment: datetime = walk.get_next(datetime).astimezone(UTC)
            if moment > until:
                return
            yield moment

    def count(self, after: datetime, until: datetime) -> int:
        """How many slots are in ``(after, until]``, up to ``COUNT_CAP``."""
        total = 0
        for _slot in self.slots(after, until):
            total += 1
            if total >= COUNT_CAP:
                break
        return total
