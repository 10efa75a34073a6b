"""One location string picks the event store backend; the kernel opens it with the plugins' factories."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_kernel.eventstore import NO_STREAM, FlextEventStore
from flext_kernel.kernel import FlextKernel
from flext_kernel.memory_store import InMemoryEventStore
from flext_kernel.plugins.discovery import discover
from flext_kernel.storage import EVENTSTORE_URL_VARIABLE, parse_location
from flext_sdk.testing.projections import Deposited


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (None, ("sqlite", None)),
        ("", ("sqlite", None)),
        ("events.db", ("sqlite", "events.db")),
        ("/var/lib/flext/events.db", ("sqlite", "/var/lib/flext/events.db")),
        ("sqlite:///tmp/e.db", ("sqlite", "sqlite:///tmp/e.db")),
        ("postgresql://app@db/events", ("postgres", "postgresql://app@db/events")),
        ("postgres://app@db/events?schema=x", ("postgres", "postgres://app@db/events?schema=x")),
        ("host=db dbname=events", ("postgres", "host=db dbname=events")),
        ("memory://", ("memory", None)),
        ("kafka://broker/topic", ("kafka", "kafka://broker/topic")),
        ("C:\\flext\\events.db", ("sqlite", "C:\\flext\\events.db")),
    ],
)
def test_locations_name_their_backend(location: str | None, expected: tuple[str, str | None]) -> None:
    assert parse_location(location) == expected


def test_the_environment_variable_is_the_default_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EVENTSTORE_URL_VARIABLE, "postgresql://app@db/events")
    assert parse_location(None) == ("postgres", "postgresql://app@db/events")
    assert parse_location("other.db") == ("sqlite", "other.db"), "an explicit location wins"


@given(st.text(max_size=60))
def test_any_text_names_a_backend_it_spells_out(text: str) -> None:
    backend, address = parse_location(text or "x")
    if backend not in ("sqlite", "postgres", "memory"):
        assert text.strip().startswith(f"{backend}:"), "a third-party backend is only chosen by its scheme"
        assert address == text.strip()


def test_a_kernel_without_the_backend_plugin_names_what_to_install() -> None:
    kernel = FlextKernel()
    missing = kernel.open_event_store("postgresql://app@db/events")
    assert missing.error_code == NOT_FOUND
    assert 'pip install "flext[postgres]"' in str(missing.error)
    assert kernel.open_projection_store("sqlite:///x.db").error_code == NOT_FOUND


def test_memory_stores_come_with_the_kernel() -> None:
    kernel = FlextKernel()
    store = kernel.open_event_store("memory://").unwrap()
    assert isinstance(store, InMemoryEventStore)
    assert kernel.open_projection_store("memory://").unwrap().checkpoints() == []


def test_a_location_the_backend_refuses_is_a_validation_error(tmp_path: Path) -> None:
    with FlextKernel.boot(discover(()), only=["eventstore-sqlite"], strict=True).unwrap() as kernel:
        refused = kernel.open_event_store("sqlite::memory:")
    assert refused.error_code == VALIDATION_ERROR
    assert "in-memory" in str(refused.error)


def test_plugins_resolve_the_event_store_from_the_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EVENTSTORE_URL_VARIABLE, str(tmp_path / "shared.db"))
    with FlextKernel.boot(discover(()), only=["eventstore-sqlite"], strict=True).unwrap() as kernel:
        store = kernel.container.resolve(FlextEventStore)  # type: ignore[type-abstract]
        assert kernel.container.resolve(FlextEventStore) is store  # type: ignore[type-abstract]
        store.append("acc-1", [Deposited(aggregate_id="acc-1", amount=1)], NO_STREAM).unwrap()
    assert (tmp_path / "shared.db").exists()
    assert store.closed, "the kernel closes the store it opened"  # type: ignore[attr-defined]
