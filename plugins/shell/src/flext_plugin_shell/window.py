"""``--since 1h``: a duration back from now. Stdlib only."""

from __future__ import annotations

import re
from typing import Final

from flext_kernel.errors import VALIDATION_ERROR
from flext_sdk import FlextResult

__all__ = ["parse_duration"]

_DURATION: Final = re.compile(r"(\d+)([smhdw])\Z")
_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(option: str, text: str) -> FlextResult[float]:
    """Seconds in ``text`` (``30m``, ``1h``, ``7d``); a ``VALIDATION_ERROR`` naming ``option`` otherwise."""
    found = _DURATION.match(text.strip())
    if found is None:
        return FlextResult.fail(
            f"{option} {text!r} is not a duration: a number and s, m, h, d or w (30m, 1h, 7d)",
            error_code=VALIDATION_ERROR,
        )
    return FlextResult.ok(float(int(found[1]) * _SECONDS[found[2]]))
