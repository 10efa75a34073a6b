"""``flext monitor performance``: percentiles of run durations from the run events in the store."""

from __future__ import annotations

import time
from pathlib import Path

from flext_plugin_monitor.stats import percentile
from hypothesis import given
from hypothesis import strategies as st

from flext_sdk.testing import FlextCliRunner

from .history import RunSpec, record


def test_percentiles_per_pipeline_over_the_window(flext_home: Path, flext_cli: FlextCliRunner) -> None:
    durations = [float(value) for value in range(1, 101)]  # 1..100 s: p50 50.5, p95 95.05, p99 99.01
    record(
        *(RunSpec("alpha", took, ended_ago=600) for took in durations),
        RunSpec("beta", 7.0, ended_ago=120, status="failed"),
        RunSpec("beta", 3.0, ended_ago=60),
        RunSpec("beta", 1000.0, ended_ago=3 * 86400),  # outside --since 24h
        RunSpec("gamma", 5.0, status="running"),  # not ended: no duration
    )
    done = flext_cli("--output", "json", "monitor", "performance")
    assert done.exit_code == 0, done
    rows = {row["name"]: row for row in done.json()["data"]}
    assert {row["kind"] for row in rows.values()} == {"pipeline"}
    assert set(rows) == {"alpha", "beta"}
    alpha = rows["alpha"]
    assert (alpha["runs"], alpha["failed"]) == (100, 0)
    assert alpha["p50"] == 50.5
    assert round(alpha["p95"], 2) == 95.05
    assert round(alpha["p99"], 2) == 99.01
    assert alpha["max"] == 100.0
    assert (rows["beta"]["runs"], rows["beta"]["failed"], rows["beta"]["max"]) == (2, 1, 7.0)

    week = flext_cli("--output", "json", "monitor", "performance", "--since", "7d", "--pipeline", "beta")
    assert [(row["name"], row["runs"], row["max"]) for row in week.json()["data"]] == [("beta", 3, 1000.0)]

    table = flext_cli("monitor", "performance", "--pipeline", "alpha")
    assert table.exit_code == 0
    assert "alpha" in table.stdout
    assert "50.50" in table.stdout
    assert "beta" not in table.stdout


def test_no_runs_and_bad_input(flext_home: Path, flext_cli: FlextCliRunner) -> None:
    record(RunSpec("alpha", 2.0, ended_ago=7200))
    empty = flext_cli("monitor", "performance", "--since", "1h")
    assert empty.exit_code == 0
    assert "no run ended in the last 1h" in empty.stdout
    bad = flext_cli("monitor", "performance", "--since", "yesterday")
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [
        "error: --since 'yesterday' is not a duration such as 30s, 15m, 2h, 1d or 1w (VALIDATION_ERROR)"
    ]


def test_scheduled_commands_have_rows_of_their_own(flext_home: Path, flext_cli: FlextCliRunner) -> None:
    """A command the scheduler ran (its firing events: start to finish) is a row per command line."""
    record(RunSpec("alpha", 2.0, ended_ago=60))
    added = flext_cli("schedule", "add", "ver", "--cron", "* * * * * *", "--command", "version")
    assert added.exit_code == 0, added
    time.sleep(1.5)  # let the every-second slot come due (not a timing assertion)
    assert flext_cli("schedule", "run-due").exit_code == 0
    rows = flext_cli("--output", "json", "monitor", "performance").json()["data"]
    assert [(row["kind"], row["name"], row["runs"], row["failed"]) for row in rows] == [
        ("pipeline", "alpha", 1, 0),
        ("command", "version", 1, 0),
    ]
    assert 0 < rows[1]["p50"] == rows[1]["max"]
    only = flext_cli("--output", "json", "monitor", "performance", "--pipeline", "alpha").json()["data"]
    assert [row["name"] for row in only] == ["alpha"]


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200))
def test_percentiles_are_ordered_and_within_the_values(values: list[float]) -> None:
    ordered = sorted(values)
    p50, p95, p99 = (percentile(ordered, share) for share in (0.5, 0.95, 0.99))
    assert ordered[0] <= p50 <= p95 <= p99 <= ordered[-1]
