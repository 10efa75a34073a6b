"""What the dashboard shows, as rich renderables built from a ``Snapshot`` (no I/O here).

``dashboard_cli`` owns the loop, the keys and the data; this module only
turns the fold, health rows and alerts into one screen, so the screen can be
built (and tested) without a terminal.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from rich.console import Group
from rich.table import Table
from rich.text import Text

from flext_plugin_monitor.stats import percentile

if TYPE_CHECKING:
    from rich.console import RenderableType

    from flext_plugin_monitor.alert_events import AlertState
    from flext_plugin_monitor.runs import Run, RunFold

__all__ = ["Snapshot", "render", "sparkline"]

_BARS: Final = "▁▂▃▄▅▆▇█"
_KEYS: Final = "/ filter  j/k select  l log  q quit"


def sparkline(values: Sequence[float], width: int = 20) -> str:
    """The last ``width`` values as block characters scaled to their maximum."""
    shown = list(values)[-width:]
    if not shown:
        return ""
    top = max(shown) or 1.0
    return "".join(_BARS[min(len(_BARS) - 1, int(value / top * (len(_BARS) - 1)))] for value in shown)


@dataclass
class Snapshot:
    """Everything one screen shows."""

    fold: RunFold
    health: list[Any] | None = None
    """``ServiceHealth`` rows; None before the first check."""
    health_note: str = ""
    """Why there are no rows (no service plugin), or when they were checked."""
    alerts: dict[str, AlertState] = field(default_factory=dict)
    filter: str = ""
    typing_filter: bool = False
    selected: int = 0
    """Index into the finished runs shown (newest first)."""
    log: list[str] | None = None
    """The selected run's log lines, while the log view is open."""
    log_title: str = ""
    height: int = 40


def _matches(snapshot: Snapshot, pipeline: str) -> bool:
    return not snapshot.filter or snapshot.filter.lower() in pipeline.lower()


def _clock(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")


def _typical(fold: RunFold) -> dict[str, float]:
    """Each pipeline's median completed-run duration: what a running run's progress is measured against."""
    durations: dict[str, list[float]] = {}
    for run in fold.runs.values():
        if run.status == "completed" and run.elapsed:
            durations.setdefault(run.pipeline, []).append(run.elapsed)
    return {name: percentile(sorted(values), 0.5) for name, values in durations.items()}


def finished_shown(snapshot: Snapshot, limit: int) -> list[Run]:
    """The finished runs the table shows, newest first."""
    runs = [run for run in snapshot.fold.finished() if _matches(snapshot, run.pipeline)]
    runs.sort(key=lambda run: run.ended or 0.0, reverse=True)
    return runs[:limit]


def render(snapshot: Snapshot, now: float | None = None) -> RenderableType:
    """The whole screen."""
    now = time.time() if now is None else now
    if snapshot.log is not None:
        return _log_view(snapshot)
    budget = max(3, (snapshot.height - 16) // 3)
    parts: list[RenderableType] = [
        _header(snapshot, now),
        _running(snapshot, now, budget),
        _finished(snapshot, budget),
    ]
    parts.append(_lower(snapshot))
    return Group(*parts)


def _header(snapshot: Snapshot, now: float) -> Text:
    header = Text(f"FLEXT monitor  {_clock(now)} UTC  ", style="bold")
    header.append(f"{len(snapshot.fold.running())} running  ", style="cyan")
    failing = sum(1 for name in snapshot.fold.pipelines if _last_failed(snapshot.fold, name))
    header.append(f"{failing} failing  ", style="red" if failing else "green")
    header.append(f"{len(snapshot.alerts)} alerts  ", style="red" if snapshot.alerts else "green")
    if snapshot.typing_filter:
        header.append(f"filter: {snapshot.filter}_", style="reverse")
    elif snapshot.filter:
        header.append(f"filter: {snapshot.filter}  ", style="yellow")
    header.append(_KEYS, style="dim")
    return header


def _cell(text: str) -> Text:
    """One line, cut with an ellipsis where the column ends (a wrappable column rich may narrow)."""
    return Text(text, no_wrap=True, overflow="ellipsis")


def _last_failed(fold: RunFold, pipeline: str) -> bool:
    last = fold.last_run(pipeline)
    return last is not None and last.status == "failed"


def _running(snapshot: Snapshot, now: float, limit: int) -> Table:
    table = Table(title="Running", title_justify="left", expand=True, pad_edge=False)
    table.add_column("pipeline", no_wrap=True, min_width=8, overflow="ellipsis")
    table.add_column("run", no_wrap=True, max_width=16, overflow="ellipsis")
    table.add_column("records", no_wrap=True, justify="right", min_width=7)
    table.add_column("records/s", no_wrap=True, min_width=10, overflow="crop")
    table.add_column("elapsed", no_wrap=True)
    table.add_column("progress", no_wrap=True, overflow="ellipsis")
    typical = _typical(snapshot.fold)
    running = [run for run in snapshot.fold.running() if _matches(snapshot, run.pipeline)]
    for run in running[:limit]:
        elapsed = now - run.started if run.started else 0.0
        rate = f"{run.rates[-1]:,.0f} {sparkline(run.rates)}" if run.rates else ""
        expected = typical.get(run.pipeline)
        progress = _bar(elapsed / expected) if expected else "(no median yet)"
        table.add_row(run.pipeline, run.run_id, f"{run.records:,}", rate, f"{elapsed:.0f}s", Text(progress))
    if len(running) > limit:
        table.add_row(f"... and {len(running) - limit} more", "", "", "", "", "")
    if not running:
        table.add_row("(none)", "", "", "", "", "")
    return table


def _bar(share: float, width: int = 10) -> str:
    filled = min(width, int(share * width))
    text = "#" * filled + "-" * (width - filled)
    return f"{text} {share * 100:.0f}%" if share <= 1 else f"{text} {share:.1f}x"


def _finished(snapshot: Snapshot, limit: int) -> Table:
    table = Table(title="Last runs", title_justify="left", expand=True, pad_edge=False)
    table.add_column("pipeline", no_wrap=True, min_width=8, overflow="ellipsis")
    table.add_column("run", no_wrap=True, max_width=16, overflow="ellipsis")
    table.add_column("state", no_wrap=True, min_width=9)
    table.add_column("ended", no_wrap=True, min_width=8)
    table.add_column("took", no_wrap=True)
    table.add_column("records", no_wrap=True, justify="right", min_width=7)
    table.add_column("error", ratio=1)  # wrappable, so rich may narrow it; the cell itself stays one line
    runs = finished_shown(snapshot, limit)
    for index, run in enumerate(runs):
        style = "red" if run.status == "failed" else ("yellow" if run.status == "stopped" else "green")
        table.add_row(
            run.pipeline,
            run.run_id,
            Text(run.status, style=style),
            _clock(run.ended),
            f"{run.elapsed:.1f}s" if run.elapsed is not None else "",
            f"{run.records:,}",
            _cell(run.error or ""),
            style="reverse" if index == snapshot.selected else None,
        )
    if not runs:
        table.add_row("(none)", "", "", "", "", "", "")
    return table


def _lower(snapshot: Snapshot) -> Table:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(_health(snapshot), _alerts(snapshot))
    return Group(grid, _errors(snapshot))  # type: ignore[return-value]  # a Group renders like a table


def _health(snapshot: Snapshot) -> Table:
    table = Table(
        title=f"Service health {snapshot.health_note}", title_justify="left", expand=True, pad_edge=False
    )
    table.add_column("service", no_wrap=True, min_width=8, overflow="ellipsis")
    table.add_column("status", no_wrap=True, min_width=6)
    table.add_column("latency", no_wrap=True, min_width=7)
    table.add_column("since", no_wrap=True, min_width=8)
    for row in snapshot.health or ():
        latency = "timeout" if row.latency_ms is None else f"{row.latency_ms:g}ms"
        style = "green" if row.status == "up" else ("red" if row.required else "yellow")
        since = (row.since or "")[11:19]
        table.add_row(row.service, Text(row.status, style=style), latency, since)
    if snapshot.health is None:
        table.add_row("(checking)", "", "", "")
    return table


def _alerts(snapshot: Snapshot) -> Table:
    table = Table(title="Active alerts", title_justify="left", expand=True, pad_edge=False)
    for column in ("rule", "severity", "since", "summary"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for state in snapshot.alerts.values():
        style = "red" if state.severity == "critical" else "yellow"
        table.add_row(state.rule, Text(state.severity, style=style), state.since[11:19], _cell(state.summary))
    if not snapshot.alerts:
        table.add_row("(none)", "", "", "")
    return table


def _errors(snapshot: Snapshot) -> Table:
    table = Table(
        title="Recent errors (from failed runs' events)", title_justify="left", expand=True, pad_edge=False
    )
    table.add_column("time", no_wrap=True, min_width=8)
    table.add_column("pipeline", no_wrap=True, min_width=8, overflow="ellipsis")
    table.add_column("line", ratio=1)
    lines = [line for line in snapshot.fold.errors if _matches(snapshot, line.pipeline)][-5:]
    for line in lines:
        table.add_row(_clock(line.time), line.pipeline, _cell(line.text))
    if not lines:
        table.add_row("", "(none)", "")
    return table


def _log_view(snapshot: Snapshot) -> RenderableType:
    lines = (snapshot.log or [])[-(snapshot.height - 3) :]
    title = Text(f"{snapshot.log_title}   (l or Esc: back, q: quit)", style="bold")
    return Group(title, Text("\n".join(lines) or "(the log is empty)"))
