"""One evaluation of the alert rules: conditions now, transitions recorded as events, notifiers told.

A rule with ``for`` must be true at successive evaluations spanning that
long before it fires: when it first became true is kept in
``<data dir>/monitor/pending.json`` (a local note, not an event: a pending
alert is nothing anyone is told about). Firing and resolving are appended to
the ``monitor-alerts`` stream once per change (``pending.json`` is written
only once that append succeeded, through a temporary file of its own), and
only then are the rule's
notifiers called; a notifier that fails is reported and the change stays
recorded (it is not retried).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.result import FlextResult
from flext_plugin_monitor.alert_events import STREAM, AlertFired, AlertResolved, read_alerts, register_events
from flext_plugin_monitor.rules import MetricAbove, NoSuccess, Rule, RulesFile, RunFailed
from flext_plugin_monitor.window import seconds_of

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore
    from flext_plugin_monitor.metrics import MetricRow
    from flext_plugin_monitor.runs import RunFold

__all__ = ["Check", "Outcome", "alert_document", "check_rule", "evaluate"]

MetricsOf = Callable[[str | None], FlextResult[list["MetricRow"]]]
"""Reads the metrics of a service (None: this process)."""


@dataclass(frozen=True)
class Check:
    """A rule's condition now."""

    active: bool
    summary: str
    value: float | None = None


@dataclass
class Outcome:
    """What one evaluation did."""

    checked: int = 0
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    notify_failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Rules whose condition could not be read (metrics unavailable): left as they were."""


def check_rule(rule: Rule, fold: RunFold, metrics_of: MetricsOf, now: float) -> FlextResult[Check]:
    """Whether the rule's condition holds now (``for`` aside), and a one-line summary."""
    when = rule.when
    if isinstance(when, RunFailed):
        last = _last_finished(fold, when.pipeline)
        if last is None:
            return FlextResult.ok(Check(False, f"pipeline {when.pipeline} has no finished run"))
        failed = last.status == "failed"
        detail = f": run {last.run_id}: {last.error}" if failed else f" (run {last.run_id} {last.status})"
        return FlextResult.ok(
            Check(failed, f"{when.describe()}{detail}" if failed else f"pipeline {when.pipeline} ok{detail}")
        )
    if isinstance(when, NoSuccess):
        window = seconds_of(when.within) or 0.0
        ends = [
            run.ended
            for run in fold.runs.values()
            if run.pipeline == when.pipeline and run.status == "completed" and run.ended
        ]
        latest = max(ends, default=None)
        if latest is not None and latest >= now - window:
            return FlextResult.ok(Check(False, f"{when.pipeline} last succeeded {_ago(now - latest)} ago"))
        seen = f"last success {_ago(now - latest)} ago" if latest is not None else "never succeeded"
        return FlextResult.ok(Check(True, f"{when.describe()} ({seen})"))
    return _metric(when, metrics_of)


def _metric(when: MetricAbove, metrics_of: MetricsOf) -> FlextResult[Check]:
    rows = metrics_of(when.service)
    if rows.is_failure:
        return FlextResult.fail(rows.error or "", error_code=rows.error_code)
    wanted = [
        row.value
        for row in rows.value
        if row.sample == when.metric
        and all(f'{key}="{value}"' in row.labels for key, value in when.labels.items())
    ]
    if not wanted:
        return FlextResult.ok(Check(False, f"{when.metric}: no sample"))
    value = sum(wanted)
    active = value > when.above if when.above is not None else value < (when.below or 0.0)
    return FlextResult.ok(Check(active, f"{when.describe()} (now {value:g})", value))


def _last_finished(fold: RunFold, pipeline: str) -> Any:
    finished = [run for run in fold.runs.values() if run.pipeline == pipeline and run.status != "running"]
    return finished[-1] if finished else None


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def alert_document(
    status: str,
    rule: Rule,
    summary: str,
    *,
    value: float | None = None,
    at: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """What notifiers receive (JSON): ``docs/plugins/monitor.md`` lists the keys."""
    return {
        "status": status,
        "rule": rule.name,
        "severity": rule.severity,
        "summary": summary,
        "description": rule.description,
        "condition": rule.when.describe(),
        "value": value,
        "at": at or datetime.now(UTC).isoformat(timespec="seconds"),
        "event_id": event_id,
    }


def evaluate(
    rules: RulesFile,
    fold: RunFold,
    store: FlextEventStore,
    *,
    metrics_of: MetricsOf,
    notifiers: Mapping[str, Any],
    now: float | None = None,
) -> FlextResult[Outcome]:
    """Check every rule; append ``AlertFired``/``AlertResolved`` for each change; notify."""
    now = time.time() if now is None else now
    register_events(store)
    current = read_alerts(store)
    if current.is_failure:
        return FlextResult.fail(current.error or "", error_code=current.error_code)
    version, firing = current.value
    pending = _read_pending()
    outcome = Outcome()
    events: list[tuple[Any, Rule | None]] = []
    for rule in rules.rules:
        outcome.checked += 1
        checked = check_rule(rule, fold, metrics_of, now)
        if checked.is_failure:
            outcome.problems.append(f"{rule.name}: {checked.error}")
            continue
        check = checked.value
        hold = seconds_of(rule.when.for_) if isinstance(rule.when, MetricAbove) else 0.0
        if check.active and rule.name not in firing:
            since = pending.setdefault(rule.name, now)
            if now - since >= (hold or 0.0):
                pending.pop(rule.name, None)
                events.append((_event(AlertFired, rule.name, rule.severity, check), rule))
        elif not check.active:
            pending.pop(rule.name, None)
            if rule.name in firing:
                events.append((_event(AlertResolved, rule.name, rule.severity, check), rule))
    for name, state in firing.items():
        if rules.rule(name) is None:
            gone = Check(False, "the rule was removed")
            events.append((_event(AlertResolved, name, state.severity, gone), None))
    if events:
        appended = store.append(STREAM, [event for event, _ in events], version)
        if appended.is_failure:  # pending stays as it was: what did not fire now fires at the next evaluation
            return FlextResult.fail(appended.error or "", error_code=appended.error_code)
    _write_pending(pending)
    for event, about in events:
        (outcome.fired if isinstance(event, AlertFired) else outcome.resolved).append(event.rule)
        if about is not None:
            _notify(about, event, rules, notifiers, outcome)
    return FlextResult.ok(outcome)


def _event(cls: type[AlertFired] | type[AlertResolved], rule: str, severity: str, check: Check) -> Any:
    return cls(
        aggregate_id=STREAM,
        aggregate_type="monitor",
        rule=rule,
        severity=severity,
        summary=check.summary,
        value=check.value,
    )


def _notify(rule: Rule, event: Any, rules: RulesFile, notifiers: Mapping[str, Any], outcome: Outcome) -> None:
    status = "firing" if isinstance(event, AlertFired) else "resolved"
    document = alert_document(
        status,
        rule,
        event.summary,
        value=event.value,
        at=event.occurred_at.isoformat(timespec="seconds"),
        event_id=str(event.event_id),
    )
    from flext_plugin_monitor.notifiers import send

    for name in rule.notify:
        settings = rules.notifiers[name].model_dump()
        sent = send(notifiers[settings["type"]], document, settings)  # one that raises does not stop the rest
        if sent.is_failure:
            outcome.notify_failures.append(f"{rule.name} -> {name}: {sent.error}")


def _pending_path() -> Any:
    from flext_kernel.paths import data_dir

    return data_dir() / "monitor" / "pending.json"


def _read_pending() -> dict[str, float]:
    try:
        data = json.loads(_pending_path().read_text())
    except (OSError, ValueError):
        return {}
    return {str(key): float(value) for key, value in data.items()} if isinstance(data, dict) else {}


def _write_pending(pending: dict[str, float]) -> None:
    """Replace ``pending.json`` through a temporary file of this writer's own (evaluations run at once)."""
    import tempfile

    path = _pending_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=".pending-", suffix=".tmp", delete=False, encoding="utf-8"
    ) as out:
        json.dump(pending, out)
    try:
        os.replace(out.name, path)
    except OSError:
        Path(out.name).unlink(missing_ok=True)
        raise
