"""Percentiles of run durations: ``flext monitor performance``.

Linear interpolation between closest ranks (numpy's default, "type 7"), so
p50 of ``[1, 2, 3, 4]`` is 2.5 and a single run's duration is every
percentile of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flext_plugin_monitor.runs import Run

__all__ = ["DurationRow", "duration_rows", "percentile"]


def percentile(ordered: Sequence[float], share: float) -> float:
    """The ``share`` (0..1) percentile of the sorted, non-empty ``ordered``."""
    if not ordered:
        raise ValueError("percentile of no values")
    rank = share * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class DurationRow:
    """One pipeline's run durations over the window."""

    pipeline: str
    runs: int
    failed: int
    p50: float
    p95: float
    p99: float
    max: float


def duration_rows(runs: Iterable[Run], *, since: float, pipeline: str | None = None) -> list[DurationRow]:
    """Per pipeline (by name), the percentiles of the durations of runs that ended at or after ``since``."""
    durations: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    for run in runs:
        if run.elapsed is None or run.ended is None or run.ended < since:
            continue
        if pipeline is not None and run.pipeline != pipeline:
            continue
        durations.setdefault(run.pipeline, []).append(run.elapsed)
        failed[run.pipeline] = failed.get(run.pipeline, 0) + (run.status == "failed")
    rows = []
    for name in sorted(durations):
        ordered = sorted(durations[name])
        rows.append(
            DurationRow(
                name,
                len(ordered),
                failed[name],
                percentile(ordered, 0.50),
                percentile(ordered, 0.95),
                percentile(ordered, 0.99),
                ordered[-1],
            )
        )
    return rows
