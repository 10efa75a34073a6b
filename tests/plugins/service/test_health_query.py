"""The SDK's ``GetServiceHealth``, answered by the service plugin on the query bus (flext monitor asks it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flext_kernel.errors import NOT_FOUND
from flext_kernel.result import FlextResult
from flext_sdk.cli import boot_kernel
from flext_sdk.contracts import require_handler
from flext_sdk.contracts.services import GetServiceHealth, ServiceHealth

from .conftest import Services, free_port


def _ask(query: GetServiceHealth) -> FlextResult[list[ServiceHealth]]:
    booted = boot_kernel()
    assert booted.is_success, booted
    with booted.value as kernel:
        assert require_handler(kernel, GetServiceHealth, why="test").is_success
        answer: FlextResult[list[ServiceHealth]] = kernel.query_bus.execute(query)
        return answer


def test_rows_for_every_service_with_a_password_hidden(
    services: Services, monkeypatch: pytest.MonkeyPatch, flext_home: Path
) -> None:
    port = free_port()
    described = [
        {
            "name": "db",
            "kind": "dependency",
            "check": {"type": "postgres", "url": f"postgresql://u:hunter2@127.0.0.1:{port}/x"},
        },
    ]
    monkeypatch.setenv("FLEXT_TEST_SERVICES", json.dumps(described))
    answer = _ask(GetServiceHealth(timeout=5))
    assert answer.is_success, answer
    rows = {row.service: row for row in answer.value}
    assert all(isinstance(row, ServiceHealth) for row in rows.values())
    assert rows["event-store"].status == "up"
    assert rows["db"].status == "down"
    assert rows["db"].required is True
    assert rows["db"].since is not None
    assert "hunter2" not in rows["db"].model_dump_json()
    assert rows["db"].target == f"postgresql://u:***@127.0.0.1:{port}/x"


def test_only_the_named_services_and_an_unknown_name(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_TEST_SERVICES", "[]")
    only = _ask(GetServiceHealth(services=("event-store",)))
    assert [row.service for row in only.value] == ["event-store"]
    unknown = _ask(GetServiceHealth(services=("nope",)))
    assert unknown.is_failure
    assert unknown.error_code == NOT_FOUND


def test_asked_from_a_running_event_loop(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setenv("FLEXT_TEST_SERVICES", "[]")

    async def ask() -> FlextResult[list[ServiceHealth]]:
        return _ask(GetServiceHealth(services=("event-store",)))  # a synchronous handler, inside a loop

    answer = asyncio.run(ask())
    assert answer.is_success, answer
    assert [(row.service, row.status) for row in answer.value] == [("event-store", "up")]
