"""``flext events`` shows each event's correlation and causation ids and finds the events of one action.

Events are appended under known ids the way users append them: the example
bank plugin's commands run with ``FLEXT_CORRELATION_ID``; an event with a
cause comes from an export whose lines name one, imported as is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flext_sdk.testing import CliResult, FlextCliRunner

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "docs" / "examples" / "plugins"


class Bank:
    """``flext`` with the example bank plugin, on the test's home."""

    def __init__(self, flext_cli: FlextCliRunner) -> None:
        self.flext_cli = flext_cli

    def __call__(self, *args: str, correlation_id: str | None = None) -> CliResult:
        env = {"FLEXT_CORRELATION_ID": correlation_id} if correlation_id else None
        return self.flext_cli(*args, plugin_dirs=[PLUGINS], env=env)

    def json(self, *args: str) -> Any:
        done = self("--output", "json", *args)
        assert done.exit_code == 0, done
        return done.json()["data"]


@pytest.fixture
def bank(flext_cli: FlextCliRunner) -> Bank:
    """acc-1 opened under req-open, acc-1 and acc-2 touched under req-pay, acc-2 opened under req-open-2."""
    bank = Bank(flext_cli)
    for args, correlation_id in (
        (("bank", "open", "acc-1", "--owner", "Ada"), "req-open"),
        (("bank", "open", "acc-2", "--owner", "Bob"), "req-open-2"),
        (("bank", "deposit", "acc-1", "100"), "req-pay"),
        (("bank", "deposit", "acc-2", "5"), "req-pay"),
    ):
        done = bank(*args, correlation_id=correlation_id)
        assert done.exit_code == 0, done
    return bank


def test_show_prints_each_events_correlation_and_causation_id(bank: Bank) -> None:
    rows = bank.json("events", "show", "acc-1")
    assert [(row["type"], row["correlation_id"], row["causation_id"]) for row in rows] == [
        ("bank.Opened", "req-open", None),
        ("bank.Deposited", "req-pay", None),
    ]
    assert all("correlation_id" not in row["payload"] for row in rows)


def test_show_filters_one_stream_by_correlation_id(bank: Bank) -> None:
    rows = bank.json("events", "show", "acc-1", "--correlation-id", "req-pay")
    assert [(row["version"], row["type"]) for row in rows] == [(2, "bank.Deposited")]
    table = bank("events", "show", "acc-1", "--correlation-id", "req-pay")
    assert table.exit_code == 0, table
    assert "correlation id req-pay" in table.stdout.splitlines()[0]
    assert "bank.Deposited" in table.stdout
    assert "bank.Opened" not in table.stdout


def test_streams_lists_only_the_streams_one_action_wrote_and_counts_its_events(bank: Bank) -> None:
    # --prefix acc-: other plugins may record each command too (an audit trail), under the same id
    everything = {row["stream"]: row["events"] for row in bank.json("events", "streams", "--prefix", "acc-")}
    assert everything == {"acc-1": 2, "acc-2": 2}
    paid = bank.json("events", "streams", "--prefix", "acc-", "--correlation-id", "req-pay")
    assert [(row["stream"], row["events"], row["last_type"]) for row in paid] == [
        ("acc-1", 1, "bank.Deposited"),
        ("acc-2", 1, "bank.Deposited"),
    ]
    opened = bank.json("events", "streams", "--prefix", "acc-", "--correlation-id", "req-open-2")
    assert [(row["stream"], row["events"], row["version"]) for row in opened] == [("acc-2", 1, 1)]
    nothing = bank("--output", "json", "events", "streams", "--correlation-id", "req-never")
    assert (nothing.exit_code, nothing.json()["data"]) == (0, [])
    said = bank("events", "streams", "--correlation-id", "req-never")
    assert "no streams with correlation id req-never" in said.stderr


def test_tail_follows_only_the_events_of_one_action(bank: Bank) -> None:
    tailed = bank(
        "--output",
        "json",
        "events",
        "tail",
        "--from-start",
        "--count",
        "2",
        "--stream-prefix",
        "acc-",
        "--correlation-id",
        "req-pay",
    )
    assert tailed.exit_code == 0, tailed
    rows = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert [(row["stream"], row["type"], row["correlation_id"]) for row in rows] == [
        ("acc-1", "bank.Deposited", "req-pay"),
        ("acc-2", "bank.Deposited", "req-pay"),
    ]


def test_a_stored_cause_is_shown(bank: Bank, tmp_path: Path) -> None:
    exported = bank("events", "export")
    assert exported.exit_code == 0, exported
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    opened = next(line for line in lines if line["stream_id"] == "acc-1" and line["version"] == 1)
    for line in lines:  # the deposit on acc-1 was caused by the account's opening
        if line["stream_id"] == "acc-1" and line["version"] == 2:
            line["data"]["causation_id"] = opened["event_id"]
    file = tmp_path / "caused.jsonl"
    file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    copy = str(tmp_path / "copy.db")
    imported = bank("events", "import", str(file), "--store", copy)
    assert imported.exit_code == 0, imported
    rows = bank.json("events", "show", "acc-1", "--store", copy)
    assert [row["causation_id"] for row in rows] == [None, opened["event_id"]]


@pytest.mark.parametrize("command", [("streams",), ("show", "acc-1"), ("tail", "--count", "1")])
def test_a_value_that_is_no_correlation_id_is_refused_with_one_line(
    bank: Bank, command: tuple[str, ...]
) -> None:
    refused = bank("events", *command, "--correlation-id", "req pay; rm -rf")
    assert refused.exit_code == 2, refused
    assert refused.stderr.splitlines() == [
        "error: --correlation-id 'req pay; rm -rf' is not a correlation id "
        "(1 to 128 letters, digits and - _ . :) (VALIDATION_ERROR)"
    ]
    assert refused.stdout == ""


def test_show_with_no_event_of_that_action_is_not_found(bank: Bank) -> None:
    missing = bank("events", "show", "acc-2", "--correlation-id", "req-open")
    assert missing.exit_code == 2, missing
    assert missing.stderr.splitlines()[0] == (
        "error: stream 'acc-2' has no events with correlation id req-open after version 0 (NOT_FOUND)"
    )
