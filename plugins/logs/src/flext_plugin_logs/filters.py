"""The commands' filter options read into a ``Filters``: times (``--since 1h``), levels, names.

A bad value is a ``VALIDATION_ERROR`` result that says what was expected,
which the commands print as one line with exit code 2.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Final

from flext_kernel.errors import VALIDATION_ERROR
from flext_plugin_logs.settings import LEVELS
from flext_plugin_logs.store import Filters
from flext_sdk import FlextResult

__all__ = ["filters_of", "moment", "parse_level"]

_DURATION: Final = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d|w)\s*$")
_SECONDS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def moment(option: str, value: str, *, now: float | None = None) -> FlextResult[float]:
    """``value`` as epoch seconds: a duration back from now (``90s``, ``15m``, ``1h``, ``2d``) or ISO time.

    An ISO time without an offset is UTC.
    """
    duration = _DURATION.match(value)
    if duration:
        seconds = float(duration.group("amount")) * _SECONDS[duration.group("unit")]
        return FlextResult.ok((time.time() if now is None else now) - seconds)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return FlextResult.fail(
            f"{option} {value!r} is neither a duration (30s, 15m, 1h, 2d, 1w) nor an ISO 8601 time "
            "(2026-12-07, 2026-12-07T14:30:00Z)",
            error_code=VALIDATION_ERROR,
        )
    return FlextResult.ok((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def parse_level(value: str) -> FlextResult[int]:
    """A level name (any case) as a ``logging`` number."""
    level = LEVELS.get(value.strip().lower())
    if level is None:
        return FlextResult.fail(
            f"--level {value!r} is not a level: use one of {', '.join(LEVELS)}", error_code=VALIDATION_ERROR
        )
    return FlextResult.ok(level)


def filters_of(
    *,
    query: str | None = None,
    since: str | None = None,
    until: str | None = None,
    level: str | None = None,
    plugin: tuple[str, ...] = (),
    pipeline: str | None = None,
    correlation_id: str | None = None,
) -> FlextResult[Filters]:
    """The options of ``search``, ``tail`` and ``export`` as ``Filters``, or the first bad one."""
    if query is not None and not query.strip():
        return FlextResult.fail("the search query is empty", error_code=VALIDATION_ERROR)
    start = moment("--since", since) if since is not None else FlextResult.ok(None)
    end = moment("--until", until) if until is not None else FlextResult.ok(None)
    lowest = parse_level(level) if level is not None else FlextResult.ok(None)
    for result in (start, end, lowest):
        if result.is_failure:
            return FlextResult.fail(result.error or "", error_code=result.error_code)
    if start.value is not None and end.value is not None and start.value >= end.value:
        return FlextResult.fail(
            f"--since {since!r} is not before --until {until!r}", error_code=VALIDATION_ERROR
        )
    return FlextResult.ok(
        Filters(
            query=query,
            since=start.value,
            until=end.value,
            level=lowest.value,
            plugins=plugin,
            pipeline=pipeline,
            correlation_id=correlation_id,
        )
    )
