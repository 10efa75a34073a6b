"""The scheduler in the service registry: listed with its owner, started, checked, stopped by flext service.

Real ``flext`` subprocesses on the test's own FLEXT_HOME: ``flext service
start scheduler`` runs the real ``flext scheduler``, which takes the
scheduler's lock (``flext scheduler stop`` would find it) and fires what is
due; ``flext service stop`` ends it cleanly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flext_sdk.testing import FlextCliRunner

from .conftest import wait_for

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not reaped yet, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.fixture
def stopped_after(flext_cli: FlextCliRunner) -> Iterator[None]:
    """Stop the scheduler service after the test, whatever happened to it."""
    yield
    flext_cli("service", "stop", "scheduler", "--timeout", "5")


def _json(flext_cli: FlextCliRunner, *args: str) -> Any:
    done = flext_cli("--output", "json", *args)
    assert done.exit_code == 0, done
    return done.json()["data"]


def test_service_list_shows_the_scheduler_as_a_local_process_owned_by_the_scheduler_plugin(
    flext_cli: FlextCliRunner,
) -> None:
    rows = {row["service"]: row for row in _json(flext_cli, "service", "list")}
    scheduler = rows["scheduler"]
    assert (scheduler["kind"], scheduler["owner"], scheduler["required"]) == (
        "local-process",
        "scheduler",
        False,
    )
    assert "flext scheduler" in scheduler["description"]


def test_flext_service_starts_checks_and_stops_the_scheduler(
    flext_cli: FlextCliRunner, stopped_after: None
) -> None:
    (before,) = _json(flext_cli, "service", "health", "scheduler")["services"]
    assert (before["status"], before["detail"]) == ("down", "not running")

    started = _json(flext_cli, "service", "start", "scheduler", "--wait", "60")
    assert started["started"] is True
    pid = started["pid"]
    assert _alive(pid)
    (health,) = _json(flext_cli, "service", "health", "scheduler")["services"]
    assert health["status"] == "up", health

    # It is the real scheduler: it holds this home's lock, and its log says it started as that process.
    again = flext_cli("scheduler", "--background")
    assert again.exit_code == 1, again
    assert f"a scheduler is already running here (pid {pid})" in again.stderr
    logged = wait_for(
        lambda: (
            (out := flext_cli("service", "logs", "scheduler")).exit_code == 0
            and f"scheduler started (pid {pid})" in out.stdout
        ),
        what="the scheduler's first log line",
    )
    assert logged

    stopped = _json(flext_cli, "service", "stop", "scheduler")
    assert (stopped["stopped"], stopped["forced"]) == (True, False)
    assert not _alive(pid)
    assert "scheduler stopped" in flext_cli("service", "logs", "scheduler").stdout  # it ended cleanly
    (after,) = _json(flext_cli, "service", "health", "scheduler")["services"]
    assert after["status"] == "down"
