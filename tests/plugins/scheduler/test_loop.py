"""The scheduler loop with a fake clock on a real SQLite event store: slots fire once, restarts, rivals.

The jobs here are Meltano jobs and the kernel has no ``meltano`` plugin: each
firing is claimed, fails with the kernel's "plugin 'meltano' is not
installed" and is recorded, without a child process, which keeps these
tests about claiming. Real jobs run in test_schedule_cli.py and
test_scheduler_process.py.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flext_plugin_scheduler.book import ScheduleBook, ScheduleState
from flext_plugin_scheduler.clock import StopFlag
from flext_plugin_scheduler.events import FiringFinished, FiringStarted, SlotClaimed, SlotsSkipped
from flext_plugin_scheduler.loop import Scheduler
from flext_plugin_scheduler.planning import Claim, plan

from flext_kernel.errors import CONCURRENCY_CONFLICT, NOT_FOUND
from flext_sdk import FlextKernel, FlextResult

from .conftest import T0, FakeClock, OpenStore, definition, events_of


def _quarter(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 7, hour, minute, tzinfo=UTC)


def _state(book: ScheduleBook, name: str = "sync") -> ScheduleState:
    state = book.get(name)
    assert state is not None
    return state


def _claims(book: ScheduleBook, name: str) -> list[SlotClaimed]:
    return [event for event in events_of(book, name) if isinstance(event, SlotClaimed)]


def test_a_schedule_fires_each_slot_once_with_a_fake_clock(
    kernel: FlextKernel, open_store: OpenStore
) -> None:
    book = ScheduleBook(open_store())
    book.add(definition("nightly-sync")).unwrap()
    clock = FakeClock(T0, until=_quarter(11, 1))
    scheduler = Scheduler(book, kernel, clock)
    scheduler.run(StopFlag()).unwrap()
    claims = _claims(book, "nightly-sync")
    assert [claim.slot for claim in claims] == [
        _quarter(10, 15),
        _quarter(10, 30),
        _quarter(10, 45),
        _quarter(11, 0),
    ]
    assert all(claim.missed == 0 for claim in claims)
    finished = [event for event in events_of(book, "nightly-sync") if isinstance(event, FiringFinished)]
    assert [event.run_id for event in finished] == [claim.run_id for claim in claims]
    for event in finished:  # no meltano plugin in this kernel: a clear recorded failure, no process
        assert (event.outcome, event.code, event.exit_code) == ("failed", NOT_FOUND, None)
        assert event.error == (
            "schedule 'nightly-sync' runs 'flext meltano run nightly', but plugin 'meltano' is not installed"
        )
        assert event.hint == "install it with 'flext plugin install flext-plugin-meltano'"
        assert event.causation_id == str(next(c.event_id for c in claims if c.run_id == event.run_id))
    assert not [event for event in events_of(book, "nightly-sync") if isinstance(event, FiringStarted)]
    assert max(clock.slept) <= 5.0  # it looked at the store at least every IDLE seconds


@pytest.mark.parametrize(
    ("catch_up", "expected"),
    [
        ("latest", [(_quarter(12, 45), 6)]),
        ("all", [(_quarter(11, 15) + timedelta(minutes=15 * i), 0) for i in range(7)]),
        ("none", []),
    ],
)
def test_a_restarted_scheduler_runs_missed_slots_per_the_policy_and_never_twice(
    kernel: FlextKernel, open_store: OpenStore, catch_up: str, expected: list[tuple[datetime, int]]
) -> None:
    first_book = ScheduleBook(open_store())
    first_book.add(definition("sync", catch_up=catch_up)).unwrap()
    Scheduler(first_book, kernel, FakeClock(T0, until=_quarter(11, 5))).run(StopFlag()).unwrap()
    before = [claim.slot for claim in _claims(first_book, "sync")]
    assert before == [_quarter(10, 15), _quarter(10, 30), _quarter(10, 45), _quarter(11, 0)]
    # down from 11:05 to 12:50: 11:15 ... 12:45 (seven slots) were due meanwhile
    second_book = ScheduleBook(open_store())  # a new process: a new store connection, nothing in memory
    clock = FakeClock(_quarter(12, 50))
    second = Scheduler(second_book, kernel, clock)
    second.run_due(StopFlag()).unwrap()
    events = events_of(second_book, "sync")
    after = [(claim.slot, claim.missed) for claim in _claims(second_book, "sync")][4:]
    assert after == expected
    slots = [claim.slot for claim in _claims(second_book, "sync")]
    assert len(slots) == len(set(slots))  # never a slot twice
    skipped = [event for event in events if isinstance(event, SlotsSkipped)]
    if catch_up == "none":
        assert [(s.first, s.last, s.count) for s in skipped] == [(_quarter(11, 15), _quarter(12, 45), 7)]
    else:
        assert not skipped
    # and once more at the same moment: nothing is due any more
    assert Scheduler(ScheduleBook(open_store()), kernel, clock).run_due(StopFlag()).unwrap() == []
    # under "none" the next slot still runs on time
    clock.current = _quarter(13, 0) + timedelta(seconds=3)
    ran = Scheduler(ScheduleBook(open_store()), kernel, clock).run_due(StopFlag()).unwrap()
    assert [event.slot for event in ran] == [_quarter(13, 0)]


def test_a_claim_made_on_a_stale_version_is_refused_and_writes_nothing(open_store: OpenStore) -> None:
    ours, theirs = ScheduleBook(open_store()), ScheduleBook(open_store())
    ours.add(definition("sync")).unwrap()
    ours.refresh().unwrap()
    theirs.refresh().unwrap()
    now = _quarter(10, 15)
    decision = plan(_state(ours), now)
    assert decision == Claim(_quarter(10, 15))
    assert plan(_state(theirs), now) == decision  # both see the same slot due

    def claim(book: ScheduleBook, run_id: str) -> FlextResult[None]:
        return book.append(
            _state(book),
            SlotClaimed(
                aggregate_id="schedule-sync",
                schedule="sync",
                slot=_quarter(10, 15),
                run_id=run_id,
                claimed_by="test:1",
                claimed_at=now,
            ),
        )

    assert claim(ours, "a").is_success
    refused = claim(theirs, "b")
    assert refused.error_code == CONCURRENCY_CONFLICT
    assert [c.run_id for c in _claims(ours, "sync")] == ["a"]
    theirs.refresh().unwrap()
    assert plan(_state(theirs), now) is None  # read again: nothing is due


def _expected_slots() -> list[datetime]:
    return [_quarter(10, 5) + timedelta(minutes=5 * i) for i in range(12)]


def test_two_schedulers_taking_turns_on_one_store_run_each_slot_once(
    kernel: FlextKernel, open_store: OpenStore
) -> None:
    ScheduleBook(open_store()).add(definition("sync", cron="*/5 * * * *", catch_up="all")).unwrap()
    clock = FakeClock(T0)
    one = Scheduler(ScheduleBook(open_store()), kernel, clock)
    two = Scheduler(ScheduleBook(open_store()), kernel, clock)
    one.identity, two.identity = "host-a:1", "host-b:2"
    for minute in range(1, 61):  # both look every minute, in turns, for an hour
        clock.current = T0 + timedelta(minutes=minute)
        for scheduler in (one, two) if minute % 2 else (two, one):
            assert scheduler.step().is_success
    claims = _claims(one.book, "sync")
    assert [claim.slot for claim in claims] == _expected_slots()
    assert {claim.claimed_by for claim in claims} == {"host-a:1", "host-b:2"}
    finished = [e.run_id for e in events_of(one.book, "sync") if isinstance(e, FiringFinished)]
    assert sorted(finished) == sorted(claim.run_id for claim in claims)


def test_two_schedulers_running_at_once_on_one_store_run_each_slot_once(
    kernel: FlextKernel, open_store: OpenStore
) -> None:
    """Two threads, two connections, each with its own fake clock racing through the same hour."""
    ScheduleBook(open_store()).add(definition("sync", cron="*/5 * * * *", catch_up="all")).unwrap()
    until = T0 + timedelta(hours=1)
    schedulers = [Scheduler(ScheduleBook(open_store()), kernel, FakeClock(T0, until=until)) for _ in range(2)]
    schedulers[0].identity, schedulers[1].identity = "host-a:1", "host-b:2"
    results: list[FlextResult[None]] = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.run(StopFlag()))) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result.is_success for result in results), results
    book = ScheduleBook(open_store())
    claims = _claims(book, "sync")
    assert sorted(claim.slot for claim in claims) == _expected_slots()
    finished = [e.run_id for e in events_of(book, "sync") if isinstance(e, FiringFinished)]
    assert sorted(finished) == sorted(claim.run_id for claim in claims)


def test_a_removed_schedule_stops_firing_and_a_new_one_of_its_name_starts_afresh(
    kernel: FlextKernel, open_store: OpenStore
) -> None:
    book = ScheduleBook(open_store())
    book.add(definition("sync")).unwrap()
    clock = FakeClock(_quarter(10, 31))
    Scheduler(book, kernel, clock).run_due(StopFlag()).unwrap()
    book.remove("sync").unwrap()
    clock.current = _quarter(11, 31)
    assert Scheduler(ScheduleBook(open_store()), kernel, clock).run_due(StopFlag()).unwrap() == []
    assert book.remove("sync").error_code == NOT_FOUND
    book.add(definition("sync", since=_quarter(11, 40))).unwrap()
    clock.current = _quarter(12, 20)
    ran = Scheduler(ScheduleBook(open_store()), kernel, clock).run_due(StopFlag()).unwrap()
    assert [(event.slot) for event in ran] == [_quarter(12, 15)]
    claims = [(c.slot, c.missed) for c in _claims(book, "sync")]
    assert claims == [(_quarter(10, 30), 1), (_quarter(12, 15), 2)]  # 11:45 and 12:00: the new definition's
