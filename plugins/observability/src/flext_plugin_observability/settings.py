"""Telemetry configuration, from ``FLEXT_TELEMETRY_*`` environment variables (pydantic-settings).

The default exporter is ``none``: the plugin then records nothing and never
imports this module (``switch.switched_on`` reads the one variable), so a
kernel with the plugin installed costs what one without it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeAlias

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.messages import field_errors, summarize_errors
from flext_kernel.result import FlextResult

__all__ = ["Exporter", "TelemetrySettings", "load_settings"]

Exporter: TypeAlias = Literal["none", "console", "otlp", "memory"]
"""Where spans and metrics go; ``none`` switches telemetry off."""


class TelemetrySettings(BaseSettings):
    """What the plugin records and where it sends it."""

    model_config = SettingsConfigDict(env_prefix="FLEXT_TELEMETRY_", extra="ignore", frozen=True)

    exporter: Exporter = "none"
    """``none`` (off), ``console`` (stderr), ``otlp`` (a collector; needs the extra) or ``memory``."""
    service_name: str = Field(default="flext", min_length=1)
    """The ``service.name`` resource attribute of every span and metric."""
    otlp_endpoint: str | None = None
    """The collector's base URL (``http://localhost:4318``); unset: OpenTelemetry's own
    ``OTEL_EXPORTER_OTLP_*`` variables, else its default."""
    otlp_timeout: float = Field(default=2.0, gt=0)
    """Seconds one export to the collector may take, retries included. An unreachable collector
    delays a command's exit by about this much (the spans' last export; the metrics' last one is
    then not tried), not OpenTelemetry's 10 s for each."""
    metric_interval: float = Field(default=10.0, gt=0)
    """Seconds between two metric exports to the console or the collector (the last one at exit)."""
    memory_file: Path | None = None
    """With the ``memory`` exporter: a JSON-lines file the finished spans and the metrics are written
    to when the kernel closes (how a test reads what a ``flext`` subprocess recorded)."""


def load_settings() -> FlextResult[TelemetrySettings]:
    """The settings from the environment; a bad value is ``VALIDATION_ERROR`` naming the variable."""
    try:
        return FlextResult.ok(TelemetrySettings())
    except ValidationError as exc:
        errors = field_errors(exc)
        for error in errors:
            error["loc"] = [f"FLEXT_TELEMETRY_{str(part).upper()}" for part in error.get("loc", ())]
        return FlextResult.fail(
            f"telemetry settings are invalid: {summarize_errors(errors)}",
            error_code=VALIDATION_ERROR,
            error_data={"errors": errors},
        )
