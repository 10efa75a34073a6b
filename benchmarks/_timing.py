"""Shared timing helper for the kernel benchmarks.

Machines here are noisy, so every number is the best of several repeats and
every target is a ratio against a baseline timed in the same run.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Row", "ns_per_op"]


def ns_per_op(fn: Callable[[], object], *, number: int = 200_000, repeat: int = 7) -> float:
    """Return the best-of-``repeat`` cost of one ``fn()`` call in nanoseconds."""
    timer = timeit.Timer(fn)
    best = min(timer.repeat(repeat=repeat, number=number))
    return best / number * 1e9


@dataclass
class Row:
    """One measured operation, its baseline, and the target ratio if any."""

    group: str
    """Which kernel part this row measures (result, container, bus, cli)."""
    name: str
    """What was measured, e.g. ``FlextResult.ok`` or ``dishka singleton``."""
    ns: float
    """Nanoseconds per operation."""
    baseline: str
    """Name of the baseline the ratio is taken against."""
    baseline_ns: float
    """Nanoseconds per operation of the baseline, same run."""
    max_ratio: float | None = None
    """Target: the ratio must be at most this (None: informational)."""
    notes: list[str] = field(default_factory=list)
    """Extra facts, e.g. which peers this row must beat."""

    @property
    def ratio(self) -> float:
        return self.ns / self.baseline_ns

    @property
    def met(self) -> bool | None:
        return None if self.max_ratio is None else self.ratio <= self.max_ratio
