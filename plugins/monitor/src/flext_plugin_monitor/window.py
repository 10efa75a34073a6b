"""Durations people type (``90s``, ``15m``, ``2h``, ``1d``, ``1w``), read into seconds.

Used by ``--since`` and by alert rules (``within: 2h``, ``for: 10m``); a bad
value is a ``VALIDATION_ERROR`` saying what was expected.
"""

from __future__ import annotations

import re
from typing import Final

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import FlextResult

__all__ = ["DURATION_HELP", "parse_duration", "seconds_of"]

_DURATION: Final = re.compile(r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d|w)\s*$")
_SECONDS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
DURATION_HELP: Final = "a duration such as 30s, 15m, 2h, 1d or 1w"


def seconds_of(value: str) -> float | None:
    """``value`` in seconds, or None when it is not a duration."""
    found = _DURATION.match(value)
    if found is None:
        return None
    return float(found.group("amount")) * _SECONDS[found.group("unit")]


def parse_duration(option: str, value: str) -> FlextResult[float]:
    """``value`` in seconds, or a ``VALIDATION_ERROR`` naming ``option``."""
    seconds = seconds_of(value)
    if seconds is None or seconds <= 0:
        return FlextResult.fail(f"{option} {value!r} is not {DURATION_HELP}", error_code=VALIDATION_ERROR)
    return FlextResult.ok(seconds)
