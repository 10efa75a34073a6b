"""Alerts firing and resolving, recorded as events in one stream (``monitor-alerts``).

The stream is the truth about which alerts fire: ``evaluate`` folds it to
know each rule's state and appends only on a change (fired, resolved), with
the stream version it read as the expected one, so two evaluations at once
cannot both fire the same alert (the second gets ``CONCURRENCY_CONFLICT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from pydantic import ConfigDict

from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore

__all__ = ["STREAM", "AlertFired", "AlertResolved", "AlertState", "read_alerts", "register_events"]

STREAM: Final = "monitor-alerts"
_OWNER: Final = "monitor"


class _AlertEvent(FlextDomainEvent):
    model_config = ConfigDict(defer_build=True)

    rule: str
    severity: str
    summary: str
    """One line: the condition and what was seen (``pipeline numbers failed: run ... (exit 1)``)."""
    value: float | None = None
    """The metric's value, for a metric rule."""


class AlertFired(_AlertEvent):
    """A rule's condition became true (for its whole ``for`` duration)."""

    message_type: ClassVar[str | None] = "monitor.AlertFired"


class AlertResolved(_AlertEvent):
    """A firing rule's condition became false again, or the rule was removed."""

    message_type: ClassVar[str | None] = "monitor.AlertResolved"


def register_events(store: FlextEventStore) -> None:
    """Teach the store's codec the alert events (once per store)."""
    for cls in (AlertFired, AlertResolved):
        if cls not in store.codec:
            store.codec.register(cls, owner=_OWNER)


@dataclass(frozen=True)
class AlertState:
    """A rule that fires now: since when and what it said."""

    rule: str
    severity: str
    summary: str
    since: str
    """ISO 8601 UTC time of the ``AlertFired``."""
    event_id: str


def read_alerts(store: FlextEventStore) -> FlextResult[tuple[int, dict[str, AlertState]]]:
    """The stream's version and the alerts firing now, by rule."""
    import json

    read = store.read_stream(STREAM)
    if read.is_failure:
        return FlextResult.fail(read.error or "", error_code=read.error_code)
    firing: dict[str, AlertState] = {}
    version = 0
    for recorded in read.value:
        version = recorded.version
        data: dict[str, Any] = json.loads(recorded.data)
        if recorded.event_type == AlertFired.message_type:
            firing[data["rule"]] = AlertState(
                data["rule"], data["severity"], data["summary"], data["occurred_at"], data["event_id"]
            )
        elif recorded.event_type == AlertResolved.message_type:
            firing.pop(data["rule"], None)
    return FlextResult.ok((version, firing))
