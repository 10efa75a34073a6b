"""Whether telemetry is on, read from one environment variable without loading any settings machinery.

Every kernel with the plugin asks this at start-up; it must cost nothing, so
it reads ``FLEXT_TELEMETRY_EXPORTER`` itself. The full settings
(``settings.TelemetrySettings``, pydantic-settings) are loaded only when it says yes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

__all__ = ["ENV_EXPORTER", "switched_on"]

ENV_EXPORTER: Final = "FLEXT_TELEMETRY_EXPORTER"
"""The variable that switches telemetry on."""


def switched_on(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``FLEXT_TELEMETRY_EXPORTER`` asks for an exporter (anything but unset, empty or ``none``)."""
    value = (os.environ if environ is None else environ).get(ENV_EXPORTER, "").strip().lower()
    return value not in ("", "none")
