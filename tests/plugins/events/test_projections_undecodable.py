"""``flext projections run`` stops at an event whose payload does not decode, and says where.

Issue 22, item 5: an event whose ``amount`` is ``"lots"`` made a command fail
with ``DESERIALIZATION_ERROR``, while ``flext projections run`` skipped it and
reported the projection live, its totals wrong for good.
"""

from __future__ import annotations

import json
from pathlib import Path

from flext_plugin_eventstore_sqlite import SQLiteEventStore

from flext_eventsourcing import NO_STREAM
from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing.projections import Deposited


def _store_with_lots(tmp_path: Path, flext_cli: FlextCliRunner) -> Path:
    """A store whose third event, a contract.Deposited, has amount "lots" (imported without the plugin)."""
    source = tmp_path / "source.db"
    with SQLiteEventStore(path=source) as store:
        for stream, amount in (("acc-1", 1), ("acc-2", 2), ("acc-3", 3)):
            store.append(stream, [Deposited(aggregate_id=stream, amount=amount)], NO_STREAM).unwrap()
    exported = tmp_path / "export.jsonl"
    assert flext_cli("events", "export", "--store", str(source), "--to", str(exported)).exit_code == 0
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    lines[2]["data"]["amount"] = "lots"
    exported.write_text("".join(json.dumps(line) + "\n" for line in lines))
    target = tmp_path / "events.db"
    assert flext_cli("events", "import", str(exported), "--store", str(target)).exit_code == 0
    return target


def test_projections_run_stops_at_an_event_that_does_not_decode(
    flext_cli: FlextCliRunner, tmp_path: Path, plugins: Path
) -> None:
    store = _store_with_lots(tmp_path, flext_cli)
    reason = (
        "projection 'contract-totals' cannot decode event contract.Deposited at position 3 (stream 'acc-3', "
        "version 1): stored contract.Deposited does not fit its class: amount: Input should be a valid "
        "integer, unable to parse string as an integer"
    )
    run = flext_cli("projections", "run", "--store", str(store), plugin_dirs=[plugins])
    assert run.exit_code == 1, run
    assert run.stderr.splitlines() == [
        f"error: {reason} (PROJECTION_FAILED)",
        "hint: flext projections status shows each projection's state",
    ]
    status = flext_cli(
        "--output", "json", "projections", "status", "--store", str(store), plugin_dirs=[plugins]
    )
    rows = {row["name"]: row for row in status.json()["data"]}
    assert rows["contract-totals"]["state"] == "failed"
    assert rows["contract-totals"]["error"] == reason
    assert rows["pipeline-status"]["state"] == "live", "the other projections carry on"
    again = flext_cli("--output", "json", "projections", "run", "--store", str(store), plugin_dirs=[plugins])
    assert again.exit_code == 1
    assert again.json() == {
        "ok": False,
        "error": f"projection 'contract-totals' failed and waits for a rebuild: {reason}",
        "code": "PROJECTION_FAILED",
    }
