"""The sqlmodel table behind PluginStateStore (imported only when state is written)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

__all__ = ["PluginStateRow"]


class PluginStateRow(SQLModel, table=True):
    """One plugin's enabled flag and when it last changed."""

    __tablename__ = "plugin_state"

    name: str = Field(primary_key=True)
    enabled: bool = True
    changed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
