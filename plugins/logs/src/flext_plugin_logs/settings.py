"""The log store's settings, from ``FLEXT_LOGS_*`` environment variables (pydantic-settings).

Imported only where the store is opened (the batch writer's thread, the
``flext logs`` commands): pydantic-settings costs tens of milliseconds to
import, which no other ``flext`` command should pay.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flext_kernel.paths import data_dir

__all__ = ["LEVELS", "LogsSettings", "default_path"]

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
"""The level names the store and its commands know, lower case, and their numbers."""


def default_path() -> Path:
    """``<data dir>/logs/logs.db``: next to the event store and the pipelines' run files."""
    return data_dir() / "logs" / "logs.db"


class LogsSettings(BaseSettings):
    """Where the store is, what it keeps and for how long; each field is ``FLEXT_LOGS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="FLEXT_LOGS_", extra="ignore")

    enabled: bool = True
    """``FLEXT_LOGS_ENABLED=0`` stores nothing (the commands still read what is there)."""
    path: Path = Field(default_factory=default_path)
    """The SQLite file (its ``-wal`` and ``-shm`` files sit beside it)."""
    level: str = "info"
    """The lowest level stored from the kernel's and plugins' loggers."""
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024 * 1024)
    """Retention by size: above it, the oldest lines go until the store is at 80% of it."""
    max_age_days: float = Field(default=14.0, gt=0)
    """Retention by age: lines older than this go."""
    batch_size: int = Field(default=500, ge=1)
    """Lines written in one transaction, at most."""
    flush_interval: float = Field(default=1.0, gt=0)
    """Seconds a line waits, at most, before the writer stores it."""
    queue_size: int = Field(default=10_000, ge=1)
    """Lines held in memory while the store is slow or away; past it, new lines are dropped and counted."""

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in LEVELS:
            raise ValueError(f"must be one of {', '.join(LEVELS)}")
        return lowered

    @property
    def levelno(self) -> int:
        """``level`` as a ``logging`` number."""
        return LEVELS[self.level]

    @property
    def max_age_seconds(self) -> float:
        """``max_age_days`` in seconds."""
        return self.max_age_days * 86400.0
