"""Percentiles of run durations: ``flext monitor performance``.

Linear interpolation between closest ranks (numpy's default, "type 7"), so
p50 of ``[1, 2, 3, 4]`` is 2.5 and a single run's duration is every
percentile of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flext_plugin_monitor.runs import Firing, Run

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
    """One pipeline's (or scheduled command's) durations over the window."""

    kind: str
    """``pipeline`` (its runs) or ``command`` (a scheduled command's firings)."""
    name: str
    runs: int
    failed: int
    p50: float
    p95: float
    p99: float
    max: float


def duration_rows(
    runs: Iterable[Run], firings: Iterable[Firing] = (), *, since: float, pipeline: str | None = None
) -> list[DurationRow]:
    """Rows of pipelines, then of scheduled commands, each by name, over what ended at or after ``since``.

    With ``pipeline``, only that pipeline's row (and no command rows).
    """
    samples: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for run in runs:
        if run.elapsed is None or run.ended is None or run.ended < since:
            continue
        if pipeline is None or run.pipeline == pipeline:
            samples.setdefault(("pipeline", run.pipeline), []).append((run.elapsed, run.status == "failed"))
    for firing in firings if pipeline is None else ():
        if firing.elapsed is not None and firing.ended is not None and firing.ended >= since:
            failed = firing.status != "completed"
            samples.setdefault(("command", firing.command), []).append((firing.elapsed, failed))
    rows = []
    for kind, name in sorted(samples, key=lambda key: (key[0] != "pipeline", key[1])):
        taken = samples[(kind, name)]
        ordered = sorted(elapsed for elapsed, _ in taken)
        rows.append(
            DurationRow(
                kind,
                name,
                len(ordered),
                sum(failed for _, failed in taken),
                percentile(ordered, 0.50),
                percentile(ordered, 0.95),
                percentile(ordered, 0.99),
                ordered[-1],
            )
        )
    return rows
