"""Counts kept in a dict and handed to OpenTelemetry when it collects: counters for the hot path.

An OpenTelemetry ``Counter.add`` hashes its attributes and updates every
reader's storage on each call, which costs more than the span it sits
beside. A bus dispatch instead adds one to a plain dict entry (under a
lock); the tally is an *observable* counter's callback, so the SDK reads
the totals only when it collects (a scrape, a periodic export).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Observation

__all__ = ["Labels", "Tally"]

Labels = tuple[tuple[str, str], ...]
"""A label set as a hashable tuple of pairs, built once per message class."""


class Tally:
    """Monotonic totals per label set; ``observe`` is the observable counter's callback."""

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: dict[Labels, int] = {}
        self._lock = threading.Lock()

    def add(self, labels: Labels, amount: int = 1) -> None:
        """Add ``amount`` to the total of ``labels``."""
        with self._lock:
            self._counts[labels] = self._counts.get(labels, 0) + amount

    def totals(self) -> dict[Labels, int]:
        """A copy of every total."""
        with self._lock:
            return dict(self._counts)

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        """The totals as observations (cumulative, as an observable counter reports them)."""
        from opentelemetry.metrics import Observation

        return [Observation(total, dict(labels)) for labels, total in self.totals().items()]
