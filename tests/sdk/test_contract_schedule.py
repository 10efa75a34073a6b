"""``flext_sdk.contracts.schedule``: other plugins add schedules through the command bus.

The scheduler plugin handles ``AddSchedule`` in a real kernel; the store is
an in-memory one, as a caller's opened store would be passed. What it adds
is what ``flext schedule list`` reads back (``ScheduleBook``).
"""

from __future__ import annotations

from typing import Any

import pytest
from flext_plugin_scheduler.book import ScheduleBook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_eventsourcing.memory_store import InMemoryEventStore
from flext_sdk import FlextKernel
from flext_sdk.contracts import provider_of, require_handler
from flext_sdk.contracts.schedule import AddSchedule
from flext_sdk.testing import FlextKernelFactory

PLUGINS = ("flext_eventsourcing.plugin", "flext_plugin_scheduler.plugin")
SOURCE = "meltano:/srv/warehouse/meltano.yml"


@pytest.fixture
def kernel(flext_kernel_factory: FlextKernelFactory) -> FlextKernel:
    return flext_kernel_factory(*PLUGINS)


def _add(kernel: FlextKernel, store: InMemoryEventStore, **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "name": "nightly",
        "cron": "@daily",
        "job_kind": "meltano-job",
        "job": "directory-to-warehouse",
        "directory": "/srv/warehouse",
        "source": SOURCE,
        **changes,
    }
    return kernel.command_bus.dispatch(AddSchedule(**fields, store=store))


def test_the_contract_names_the_scheduler_plugin_as_its_provider() -> None:
    provider = provider_of(AddSchedule)
    assert provider is not None
    assert (provider.plugin, provider.distribution) == ("scheduler", "flext-plugin-scheduler")


def test_a_kernel_without_the_scheduler_says_which_plugin_handles_it(
    flext_kernel_factory: FlextKernelFactory,
) -> None:
    bare = flext_kernel_factory("flext_eventsourcing.plugin")
    needed = require_handler(bare, AddSchedule, why="importing Meltano's schedules")
    assert needed.is_failure
    assert "scheduler" in (needed.error or "")


def test_adding_again_is_unchanged_and_a_changed_definition_replaces_it(kernel: FlextKernel) -> None:
    store = InMemoryEventStore()
    assert _add(kernel, store).unwrap().outcome == "added"
    assert _add(kernel, store).unwrap().outcome == "unchanged"
    assert _add(kernel, store, cron="0 3 * * *").unwrap().outcome == "replaced"
    book = ScheduleBook(store)
    assert book.refresh().is_success
    state = book.get("nightly")
    assert state is not None
    assert state.definition is not None
    assert (state.definition.cron, state.definition.source) == ("0 3 * * *", SOURCE)
    assert state.definition.directory == "/srv/warehouse"
    assert [s.name for s in book.states()] == ["nightly"]


def test_check_only_writes_nothing(kernel: FlextKernel) -> None:
    store = InMemoryEventStore()
    assert _add(kernel, store, check_only=True).unwrap().outcome == "added"
    book = ScheduleBook(store)
    assert book.refresh().is_success
    assert book.states() == []


def test_a_schedule_another_source_added_is_never_touched(kernel: FlextKernel) -> None:
    store = InMemoryEventStore()
    assert _add(kernel, store, source="meltano:/elsewhere/meltano.yml").is_success
    refused = _add(kernel, store, cron="*/5 * * * *")
    assert refused.is_failure
    assert refused.error_code == "ALREADY_REGISTERED"
    assert "'meltano:/elsewhere/meltano.yml'" in (refused.error or "")
    book = ScheduleBook(store)
    assert book.refresh().is_success
    state = book.get("nightly")
    assert state is not None
    assert state.definition is not None
    assert state.definition.cron == "@daily"


def test_a_cron_that_does_not_parse_is_one_message_naming_the_schedule(kernel: FlextKernel) -> None:
    store = InMemoryEventStore()
    refused = _add(kernel, store, cron="61 * * * *")
    assert refused.is_failure
    assert refused.error_code == "VALIDATION_ERROR"
    assert (refused.error or "").startswith("schedule 'nightly': cron expression '61 * * * *' does not parse")
    assert "\n" not in (refused.error or "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cron=st.text(max_size=30))
def test_any_cron_text_is_added_or_refused_as_bad_input_never_a_crash(kernel: FlextKernel, cron: str) -> None:
    store = InMemoryEventStore()  # one per example: check_only writes nothing anyway
    answered = _add(kernel, store, cron=cron, check_only=True)
    assert answered.is_success or answered.error_code == "VALIDATION_ERROR", answered
