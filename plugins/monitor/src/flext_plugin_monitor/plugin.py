"""The ``monitor`` plugin: declares ``flext monitor``'s commands and the ``flext_alert_notifiers`` hook.

Loading it imports nothing heavy (no rich, no pydantic model, no store):
the commands import what they need when they run.
"""

from __future__ import annotations

from typing import Any

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import CommandEntry, GroupEntry, PluginManifest

__all__ = ["NAME", "flext_alert_notifiers", "manifest"]

NAME = "monitor"
"""The plugin's name, which notifier plugins list in ``requires``."""

_CLI = "flext_plugin_monitor.monitor_cli"
_ALERTS = "flext_plugin_monitor.alerts_cli"

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="Monitoring: a live dashboard, run-duration percentiles, metrics, and alert rules",
    requires=("eventsourcing",),
    hookspecs="flext_plugin_monitor.hookspecs",
    commands=(
        CommandEntry(
            path=("monitor", "dashboard"),
            target="flext_plugin_monitor.dashboard_cli:dashboard",
            help="A live terminal dashboard: runs, failures, services, alerts, errors (q quits).",
        ),
        CommandEntry(
            path=("monitor", "performance"),
            target=f"{_CLI}:performance",
            help="p50/p95/p99 of run durations per pipeline over a window.",
        ),
        CommandEntry(
            path=("monitor", "metrics"),
            target=f"{_CLI}:metrics",
            help="Metrics (Prometheus text) as a table.",
        ),
        CommandEntry(
            path=("monitor", "alerts", "list"),
            target=f"{_ALERTS}:list_alerts",
            help="The rules and which fire.",
        ),
        CommandEntry(path=("monitor", "alerts", "add"), target=f"{_ALERTS}:add", help="Add an alert rule."),
        CommandEntry(
            path=("monitor", "alerts", "remove"), target=f"{_ALERTS}:remove", help="Remove an alert rule."
        ),
        CommandEntry(
            path=("monitor", "alerts", "test"),
            target=f"{_ALERTS}:try_rule",
            help="Check one rule now and send a test alert through its notifiers.",
        ),
        CommandEntry(
            path=("monitor", "alerts", "evaluate"),
            target=f"{_ALERTS}:evaluate_alerts",
            help="Evaluate every rule; record and notify what fired or resolved (run it from a schedule).",
        ),
    ),
    groups=(
        GroupEntry(
            path=("monitor",), help="Watch pipelines and services: dashboard, performance, metrics, alerts."
        ),
        GroupEntry(
            path=("monitor", "alerts"),
            help="Alert rules: a run or metric condition, firing and resolving as events.",
        ),
    ),
)
"""The plugin's manifest: its commands, declared lazily, and its hook."""


@hookimpl
def flext_alert_notifiers() -> list[Any]:
    """The shipped notifiers: ``webhook`` and ``command``."""
    from flext_plugin_monitor.notifiers import CommandNotifier, WebhookNotifier

    return [WebhookNotifier(), CommandNotifier()]
