"""Issue 17's bad input for GrupoNos, end to end: a WMS answering 500 or malformed JSON, a bad cron.

Real ``flext`` processes, the local WMS (``FakeWms``) and target-postgres into
the PostgreSQL at 127.0.0.1:5432, as in the worked example. Each failure must
be one clear line naming the entity (or the file, line and key), a non-zero
exit, and no state advanced past what was loaded: ``status`` shows the
failure and the bookmark where the last complete run left it, and the next
good run loads exactly the rows the failed one did not get to confirm.
``logs`` and ``logs --follow`` are checked on the same deployment.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_gruponos.config import CONFIG_FILE
from pytest_httpserver import HTTPServer
from tap_oracle_wms.testing import PASSWORD, USER, FakeWms, Fault, make_rows

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ENV = {"WMS_PASSWORD": PASSWORD}
NOT_JSON = '{"result_count": 25, "results": [{"id": 11, "code": "C000'


def _config(wms: FakeWms, schema: str, cron: str = "*/15 * * * *") -> str:
    return f"""\
version: 1
name: dc01
wms:
  base_url: {wms.base_url}
  username: {USER}
  password: env:WMS_PASSWORD
  facility: DC01
  company: GRUPONOS
  entities: [item, inventory]
  page_size: 10
target:
  host: 127.0.0.1
  user: postgres
  database: test
  schema: {schema}
schedule:
  incremental: "{cron}"
  full: null
"""


def _later(rows: list[dict[str, Any]], minutes: int) -> None:
    for row in rows:
        stamp = datetime.fromisoformat(row["mod_ts"]) + timedelta(minutes=minutes)
        row["mod_ts"] = stamp.astimezone(UTC).isoformat()
        row["description"] = f"changed +{minutes}"


def _status(flext_cli, project: Path) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    shown = flext_cli("--output", "json", "gruponos", "status", "--project", str(project), env=ENV)
    assert shown.exit_code == 0, shown.stderr
    return {row["entity"]: row for row in shown.json()["data"]}


@pytest.fixture
def deployed(
    flext_cli, tmp_path: Path, httpserver: HTTPServer, pg_schema: str, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    """A deployed dc01 against a local WMS with 25 items and 5 inventory rows, loaded once."""
    wms = FakeWms(httpserver)
    wms.add("item", make_rows(25))
    wms.add("inventory", make_rows(5, start_id=100))
    assert flext_cli("data", "targets", "add", "target-postgres").exit_code == 0
    project = tmp_path / "gruponos"
    project.mkdir()
    (project / "flext.yaml").write_text("# project\n", encoding="utf-8")
    (project / CONFIG_FILE).write_text(_config(wms, pg_schema), encoding="utf-8")
    monkeypatch.chdir(project)
    done = flext_cli("gruponos", "pipeline", "deploy", "--project", str(project))
    assert done.exit_code == 0, done.stderr
    first = flext_cli("--output", "json", "pipeline", "run", "dc01", "--no-retry", env=ENV)
    assert first.exit_code == 0, first.stderr
    return wms, project


def test_a_wms_failing_part_way_names_the_entity_and_moves_no_bookmark(flext_cli, deployed) -> None:  # type: ignore[no-untyped-def]
    wms, project = deployed
    before = _status(flext_cli, project)
    assert before["item"]["failures"] == 0
    bookmark = before["item"]["loaded_up_to"]

    # Every item changes; page 2 of the next read is not JSON.
    _later(wms.rows["item"], 60)
    wms.fail("item", 2, Fault(200, body=NOT_JSON))
    broken = flext_cli("pipeline", "run", "dc01", "--no-retry", env=ENV)
    assert broken.exit_code == 1
    assert "entity item: page 2 is not JSON" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert PASSWORD not in broken.stderr + broken.stdout

    after = _status(flext_cli, project)
    history = flext_cli("--output", "json", "pipeline", "history", "dc01").json()["data"]
    failed = max(history, key=lambda run: run["started_at"])
    assert failed["status"] == "failed"
    assert after["item"]["last_run"] == failed["finished_at"]  # the failed run is the last run shown
    assert after["item"]["last_run"] != before["item"]["last_run"]
    assert after["item"]["outcome"] == "failed"
    assert after["item"]["failures"] == 1
    assert after["item"]["loaded_up_to"] == bookmark  # the failed run confirmed no later bookmark
    assert after["item"]["lag_seconds"] > 0

    # The WMS answers 500 to every try of the first page: retries run out, one line, the entity named.
    for _ in range(5):
        wms.fail("item", 1, Fault(500))
    failing = flext_cli("pipeline", "run", "dc01", "--no-retry", env=ENV)
    assert failing.exit_code == 1
    assert "entity item: the WMS answered HTTP 500 INTERNAL SERVER ERROR after 5 tries" in failing.stderr
    assert "Traceback" not in failing.stderr
    assert _status(flext_cli, project)["item"]["failures"] == 2
    assert _status(flext_cli, project)["item"]["loaded_up_to"] == bookmark

    # The WMS is well again: the next run loads every changed item (from the old bookmark), lag 0.
    healed = flext_cli("--output", "json", "pipeline", "run", "dc01", "--no-retry", env=ENV)
    assert healed.exit_code == 0, healed.stderr
    assert healed.json()["data"]["records"]["item"] == 25
    now = _status(flext_cli, project)
    assert (now["item"]["failures"], now["item"]["outcome"], now["item"]["lag_seconds"]) == (
        0,
        "completed",
        0.0,
    )


def test_status_still_shows_the_table_when_the_wms_cannot_be_asked(flext_cli, deployed) -> None:  # type: ignore[no-untyped-def]
    wms, project = deployed
    wms.fail("item", 1, Fault(503))  # the status question for item gets a 503
    rows = _status(flext_cli, project)
    assert rows["item"]["error"] == "WMS item: HTTP 503"  # the reason, for this entity only
    assert rows["item"]["lag_seconds"] is None
    assert rows["item"]["rows"] == 25  # the rest of the row is still there
    assert rows["inventory"]["error"] is None
    assert rows["inventory"]["lag_seconds"] == 0.0


def test_logs_and_logs_follow_print_the_runs_log(flext_cli, deployed) -> None:  # type: ignore[no-untyped-def]
    wms, project = deployed
    printed = flext_cli("gruponos", "logs", "--project", str(project))
    assert printed.exit_code == 0, printed.stderr
    assert "[tap-oracle-wms]" in printed.stdout

    # A slow WMS keeps the next run going while logs --follow attaches to it.
    _later(wms.rows["item"], 30)
    wms.latency = 0.4
    asked = len(wms.seen)
    command = [*flext_cli.command, "pipeline", "run", "dc01", "--no-retry"]
    running = subprocess.Popen(
        command, env=flext_cli.environment(ENV), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        while len(wms.seen) == asked and running.poll() is None:
            time.sleep(0.05)  # until the run's tap asks the WMS: the run and its log exist
        followed = flext_cli("gruponos", "logs", "--project", str(project), "--follow")
        _, errors = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, errors
    assert followed.exit_code == 0, followed.stderr
    complete = flext_cli("gruponos", "logs", "--project", str(project))
    assert followed.stdout.rstrip("\n") == complete.stdout.rstrip("\n")  # followed to the run's last line
    assert followed.stdout != printed.stdout  # the new run's log, not the first one's


@pytest.mark.parametrize("cron", ["61 * * * *", "*/15 * * * mon-xyz"])
def test_a_cron_that_does_not_parse_is_refused_before_anything_is_deployed(
    flext_cli, tmp_path: Path, httpserver: HTTPServer, cron: str
) -> None:  # type: ignore[no-untyped-def]
    wms = FakeWms(httpserver)
    wms.add("item", make_rows(1))
    project = tmp_path / "gruponos"
    project.mkdir()
    (project / "flext.yaml").write_text("# project\n", encoding="utf-8")
    (project / CONFIG_FILE).write_text(_config(wms, "wms", cron), encoding="utf-8")
    refused = flext_cli("gruponos", "pipeline", "deploy", "--project", str(project))
    assert refused.exit_code == 2
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1
    assert f"{project / CONFIG_FILE}:17: schedule.incremental: {cron!r} does not parse" in lines[0]
    assert "Traceback" not in refused.stderr
    assert not (project / "deploy").exists()  # nothing half-written
    listed = flext_cli("--output", "json", "pipeline", "list")
    assert listed.exit_code != 0 or listed.json()["data"] == []
