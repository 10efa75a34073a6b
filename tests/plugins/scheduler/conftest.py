"""A fake clock, and real event stores (SQLite files) opened through the kernel, for the scheduler tests."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from flext_plugin_scheduler.book import ScheduleBook
from flext_plugin_scheduler.clock import StopFlag

from flext_eventsourcing import EventStores
from flext_sdk import FlextEventStore, FlextKernel
from flext_sdk.testing import FlextCliRunner, FlextKernelFactory

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


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def stream(flext_cli: FlextCliRunner, name: str, *store: str) -> list[dict[str, Any]]:
    """The events of ``schedule-<name>`` as ``flext events show`` prints them."""
    shown = flext_cli("--output", "json", "events", "show", f"schedule-{name}", *store)
    assert shown.exit_code == 0, shown
    events: list[dict[str, Any]] = shown.json()["data"]
    return events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The payloads of the events of type ``schedule.<kind>``."""
    return [event["payload"] for event in events if event["type"] == f"schedule.{kind}"]


def listed(flext_cli: FlextCliRunner, *store: str) -> dict[str, dict[str, Any]]:
    """``flext schedule list --output json``, by schedule."""
    shown = flext_cli("--output", "json", "schedule", "list", *store)
    assert shown.exit_code == 0, shown
    return {document["schedule"]: document for document in shown.json()["data"]}


def past(moment: str) -> bool:
    """Whether the ISO time ``moment`` (``next_due``) has passed."""
    return datetime.fromisoformat(moment) < datetime.now(UTC)


def _pipeline_conftest() -> Any:
    """The pipeline tests' conftest (tests are not a package, so loaded by path): its connector package."""
    path = Path(__file__).parents[1] / "pipeline" / "conftest.py"
    spec = importlib.util.spec_from_file_location("pipeline_test_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def numbers_pipeline(flext_cli: FlextCliRunner, tmp_path: Path) -> Callable[..., Path]:
    """``numbers_pipeline(name, **tap_config)``: install tap-numbers and target-file, register a pipeline.

    Returns its folder (the target writes ``rows.json`` there); schedules added
    from that folder run the pipeline there.
    """
    package = _pipeline_conftest()._package(Path(os.environ["FLEXT_TOOLS_DIR"]).parent / "test-sources")
    for kind, connector in (("taps", "tap-numbers"), ("targets", "target-file")):
        added = flext_cli("data", kind, "add", connector, "--pip-url", str(package))
        assert added.exit_code == 0, added

    def make(name: str, **tap: Any) -> Path:
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        body = {
            "name": name,
            "extract": {"name": "tap-numbers", "config": {"records": 5, **tap}},
            "load": {"name": "target-file", "config": {"path": "rows.json"}},
        }
        (folder / "pipeline.yaml").write_text(yaml.safe_dump(body))
        created = flext_cli("pipeline", "create", str(folder / "pipeline.yaml"))
        assert created.exit_code == 0, created
        return folder

    return make
