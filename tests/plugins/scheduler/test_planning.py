"""Planning, as properties: whatever the policy and however often a scheduler looks, no slot runs twice
and none is lost without a trace (each slot is claimed, counted as missed in a claim, or skipped).

Pure functions over folded states; Hypothesis picks the expressions, the
moments a scheduler looks and the policy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flext_plugin_scheduler.book import ScheduleState
from flext_plugin_scheduler.cron import Cron, parse_cron
from flext_plugin_scheduler.events import ScheduleAdded, SlotClaimed, SlotsSkipped
from flext_plugin_scheduler.planning import ON_TIME, Claim, Skip, plan
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import T0, definition

EXPRESSIONS = ["*/15 * * * *", "0 * * * *", "*/7 * * * *", "5 9 * * mon-fri", "0 0 * * *", "@hourly"]


def _state(expression: str, catch_up: str, zone: str = "UTC") -> ScheduleState:
    state = ScheduleState("sync")
    added = ScheduleAdded(
        aggregate_id="schedule-sync", **definition("sync", cron=expression, catch_up=catch_up)
    )
    state.fold(added.model_copy(update={"timezone": zone}), 1)
    return state


def _apply(state: ScheduleState, decision: Claim | Skip, now: datetime) -> None:
    common: dict[str, Any] = {"aggregate_id": "schedule-sync", "schedule": "sync", "claimed_by": "test:1"}
    if isinstance(decision, Claim):
        event: Any = SlotClaimed(
            **common,
            slot=decision.slot,
            run_id=f"r{state.version}",
            claimed_at=now,
            missed=decision.missed,
            missed_first=decision.missed_first,
        )
    else:
        event = SlotsSkipped(**common, first=decision.first, last=decision.last, count=decision.count)
    state.fold(event, state.version + 1)


@settings(max_examples=40, deadline=None)
@given(
    expression=st.sampled_from(EXPRESSIONS),
    catch_up=st.sampled_from(["latest", "all", "none"]),
    gaps=st.lists(st.integers(min_value=1, max_value=3 * 60), min_size=1, max_size=15),
)
def test_every_slot_is_claimed_missed_or_skipped_exactly_once(
    expression: str, catch_up: str, gaps: list[int]
) -> None:
    state = _state(expression, catch_up)
    cron = parse_cron(expression).unwrap()
    now = T0
    run: list[datetime] = []
    accounted: list[datetime] = []
    for gap in gaps:  # the scheduler looks after each gap (minutes), acting until nothing is due
        now += timedelta(minutes=gap)
        while (decision := plan(state, now)) is not None:
            if isinstance(decision, Claim):
                assert decision.slot <= now
                run.append(decision.slot)
                missed = list(cron.slots(state.anchor or T0, decision.slot))[:-1]
                assert decision.missed == len(missed)
                assert decision.missed_first == (missed[0] if missed else None)
                accounted += [*missed, decision.slot]
                if catch_up == "all":
                    assert decision.missed == 0
                if catch_up == "none":
                    assert now - decision.slot <= ON_TIME
            else:
                assert catch_up == "none"
                skipped = list(cron.slots(state.anchor or T0, decision.last))
                assert (decision.first, decision.count) == (skipped[0], len(skipped))
                accounted += skipped
            _apply(state, decision, now)
    assert len(run) == len(set(run))
    assert accounted == list(cron.slots(T0, state.anchor or T0))  # each slot once, in order, none left out
    assert plan(state, now) is None


def test_a_schedule_reads_its_expression_in_its_time_zone() -> None:
    cron = parse_cron("0 9 * * *", "Europe/Paris").unwrap()
    assert isinstance(cron, Cron)
    winter, summer = datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 7, 7, tzinfo=UTC)
    assert cron.next_after(winter) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert cron.next_after(summer) == datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # 09:00 CEST
    state = _state("0 9 * * *", "latest", zone="Europe/Paris")
    # added at 10:00 UTC on the 7th (11:00 in Paris): the first slot is 09:00 Paris on the 8th
    assert plan(state, datetime(2026, 12, 8, 7, 59, tzinfo=UTC)) is None
    assert plan(state, datetime(2026, 12, 8, 8, 0, tzinfo=UTC)) == Claim(
        datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    )


def test_under_none_a_late_look_skips_and_an_on_time_one_runs() -> None:
    state = _state("*/15 * * * *", "none")
    quarter = datetime(2026, 12, 7, 10, 15, tzinfo=UTC)
    assert plan(state, quarter + ON_TIME) == Claim(quarter)
    assert plan(state, quarter + ON_TIME + timedelta(seconds=1)) == Skip(quarter, quarter, 1)
    later = quarter + timedelta(hours=2, seconds=30)
    assert plan(state, later) == Claim(quarter + timedelta(hours=2), 8, quarter)
