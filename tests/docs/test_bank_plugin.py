"""The example plugin under docs/examples/plugins, driven through real ``flext`` processes.

It is the event-sourcing walk-through of docs/event-sourcing.md: a plugin writes
events through the container's event store, ``flext events`` shows them, the
plugin's projection is run, rebuilt and read, and an export moves it all to
another store.
"""

from __future__ import annotations

import json
from pathlib import Path

from flext_sdk.testing import CliResult, FlextCliRunner

PLUGINS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plugins"


def test_the_bank_plugin_writes_events_that_flext_events_and_projections_show(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    def bank(*args: str) -> CliResult:
        return flext_cli(*args, plugin_dirs=[PLUGINS])

    assert bank("bank", "open", "acc-1", "--owner", "Ada").exit_code == 0
    assert bank("bank", "deposit", "acc-1", "100").exit_code == 0
    refused = bank("bank", "withdraw", "acc-1", "300")
    assert refused.exit_code == 2
    assert "error: cannot withdraw 300: the balance is 100 (VALIDATION_ERROR)" in refused.stderr
    assert bank("bank", "withdraw", "acc-1", "30").exit_code == 0
    again = bank("bank", "open", "acc-1", "--owner", "Bob")
    assert again.exit_code == 1
    assert "CONCURRENCY_CONFLICT" in again.stderr

    # flext events needs none of the plugin's classes: shown without --plugins-dir.
    shown = flext_cli("--output", "json", "events", "show", "acc-1")
    assert shown.exit_code == 0, shown.stderr
    events = shown.json()["data"]
    assert [(e["version"], e["type"]) for e in events] == [
        (1, "bank.Opened"),
        (2, "bank.Deposited"),
        (3, "bank.Withdrawn"),
    ]
    assert events[1]["payload"] == {"amount": 100, "channel": "cli"}
    streams = flext_cli("--output", "json", "events", "streams").json()["data"]
    assert [(s["stream"], s["events"]) for s in streams] == [("acc-1", 3)]

    ran = bank("--output", "json", "projections", "run")
    events_by_projection = {row["name"]: row["events"] for row in ran.json()["data"]}
    assert events_by_projection["bank-balances"] == 3  # installed plugins may add projections of their own
    balances = bank("--output", "json", "bank", "balances").json()["data"]
    assert balances == [{"account": "acc-1", "owner": "Ada", "balance": 70}]
    rebuilt = bank("--output", "json", "projections", "rebuild", "bank-balances").json()["data"]
    assert (rebuilt["generation"], rebuilt["position"]) == (2, 3)
    status = bank("--output", "json", "projections", "status").json()["data"]
    ours = [(s["name"], s["state"], s["generation"]) for s in status if s["name"] == "bank-balances"]
    assert ours == [("bank-balances", "live", 2)]

    exported = tmp_path / "events.jsonl"
    assert flext_cli("events", "export", "--to", str(exported)).exit_code == 0
    assert len(exported.read_text().splitlines()) == 3
    other = str(tmp_path / "other.db")
    first = flext_cli("--output", "json", "events", "import", str(exported), "--store", other).json()["data"]
    second = flext_cli("--output", "json", "events", "import", str(exported), "--store", other).json()["data"]
    assert (first["written"], second["written"], second["already_there"]) == (3, 0, 3)
    moved = flext_cli("--output", "json", "events", "show", "acc-1", "--store", other).json()["data"]
    assert moved == events, "an export and import keep every event as it was"
    assert json.loads(exported.read_text().splitlines()[0])["event_type"] == "bank.Opened"


def test_one_long_running_kernel_serves_many_commands(tmp_path: Path) -> None:
    import os
    import sys

    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.discovery import discover

    os.environ["FLEXT_EVENTSTORE_URL"] = str(tmp_path / "long.db")
    try:
        only = ["bank", "eventsourcing", "eventstore-sqlite"]
        booted = FlextKernel.boot(discover([PLUGINS]), only=only, strict=True)
        with booted.unwrap() as kernel:
            bank = sys.modules["bank"]
            commands = [bank.OpenAccount(account_id="a", owner="x")]
            commands += [bank.Deposit(account_id="a", amount=5) for _ in range(3)]
            versions = [kernel.command_bus.dispatch(command).unwrap().version for command in commands]
    finally:
        del os.environ["FLEXT_EVENTSTORE_URL"]
    assert versions == [1, 2, 3, 4]
