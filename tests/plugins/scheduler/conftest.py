"""A fake clock, and real event stores (SQLite files) opened through the kernel, for the scheduler tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_scheduler.book import ScheduleBook
from flext_plugin_scheduler.clock import StopFlag

from flext_eventsourcing import EventStores
from flext_sdk import FlextEventStore, FlextKernel
from flext_sdk.testing import FlextKernelFactory

OpenStore = Callable[[], FlextEventStore]
"""What the ``open_store`` fixture is: each call opens the test's store once more."""
FLEXT = str(Path(sys.executable).parent / "flext")
T0 = datetime(2026, 12, 7, 10, 0, 7, tzinfo=UTC)
"""When the tests' schedules are added (a few seconds past a quarter hour)."""


class FakeClock:
    """``now`` is what the test says; ``sleep`` jumps it forward, and stops the loop at ``until``."""

    def __init__(self, now: datetime, until: datetime | None = None) -> None:
        self.current = now
        self.until = until
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float, stop: StopFlag) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        if self.until is not None and self.current >= self.until:
            stop.set()

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def kernel(flext_kernel_factory: FlextKernelFactory) -> FlextKernel:
    """A kernel with event sourcing and the SQLite backend, and no pipeline or meltano plugin."""
    return flext_kernel_factory("flext_eventsourcing.plugin", "flext_plugin_eventstore_sqlite.plugin")


@pytest.fixture
def open_store(kernel: FlextKernel, tmp_path: Path) -> Iterator[OpenStore]:
    """``open_store()`` opens the test's SQLite event store once more (as another process would)."""
    opened: list[FlextEventStore] = []

    def make() -> FlextEventStore:
        store = kernel.container.resolve(EventStores).open_event_store(str(tmp_path / "events.db")).unwrap()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def definition(
    name: str, *, cron: str = "*/15 * * * *", catch_up: str = "latest", **more: Any
) -> dict[str, Any]:
    """``ScheduleAdded``'s fields: a Meltano job by default (no meltano plugin here: it fails, recorded)."""
    return {
        "schedule": name,
        "cron": cron,
        "timezone": "UTC",
        "catch_up": catch_up,
        "job_kind": "meltano-job",
        "job": "nightly",
        "directory": str(Path.cwd()),
        "since": T0,
        **more,
    }


def events_of(book: ScheduleBook, name: str) -> list[Any]:
    """The decoded events of a schedule's stream."""
    return [recorded.event for recorded in book.store.read_stream(f"schedule-{name}").unwrap()]
