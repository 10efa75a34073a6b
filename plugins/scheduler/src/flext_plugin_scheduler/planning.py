"""What is due for one schedule at one moment: a pure function of its folded state and the clock.

The policies (``--catch-up``) decide what happens to slots that came due
while no scheduler ran, or while the schedule's previous firing still ran:

- ``latest`` (default): the most recent due slot runs once; the earlier ones
  are counted as missed in its claim.
- ``all``: every due slot runs, oldest first, one after the other.
- ``none``: only a slot due within ``ON_TIME`` of now runs; older ones are
  recorded as skipped and never run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from flext_plugin_scheduler.book import ScheduleState
from flext_plugin_scheduler.cron import Cron, parse_cron

__all__ = ["ON_TIME", "Claim", "Skip", "next_due", "plan"]

ON_TIME: Final = timedelta(seconds=60)
"""Under ``none``, a slot still runs this long after its time (a system cron's ``run-due`` each minute)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """Run ``slot``; ``missed`` earlier due slots (from ``missed_first``) are not run."""

    slot: datetime
    """The slot to run."""
    missed: int = 0
    """Due slots before it that will not run."""
    missed_first: datetime | None = None
    """The first of them."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Record ``count`` due slots, ``first`` to ``last``, as not run (``none``)."""

    first: datetime
    """The first skipped slot."""
    last: datetime
    """The last skipped slot."""
    count: int
    """How many."""


def _cron(state: ScheduleState) -> Cron | None:
    if state.definition is None:
        return None
    return parse_cron(state.definition.cron, state.definition.timezone).unwrap_or(None)


def next_due(state: ScheduleState, now: datetime) -> datetime | None:
    """The next slot after the last one claimed or skipped (it is due if it is not after ``now``)."""
    cron = _cron(state)
    if cron is None or state.anchor is None:
        return None
    return cron.next_after(state.anchor)


def plan(state: ScheduleState, now: datetime) -> Claim | Skip | None:
    """What to do for ``state`` at ``now``: claim a slot, skip missed ones, or nothing (none due)."""
    cron = _cron(state)
    if cron is None or state.anchor is None or state.definition is None:
        return None
    first = cron.next_after(state.anchor)
    if first > now:
        return None
    policy = state.definition.catch_up
    if policy == "all":
        return Claim(first)
    latest = cron.latest_at(now)
    if policy == "none" and now - latest > ON_TIME:
        return Skip(first, latest, cron.count(state.anchor, latest))
    missed = cron.count(state.anchor, latest) - 1 if first < latest else 0
    return Claim(latest, missed, first if missed else None)
