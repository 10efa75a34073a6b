"""docs/gruponos.md's worked example, step by step: a local WMS, PostgreSQL, real pipeline runs.

The WMS is ``tap_oracle_wms.testing.FakeWms`` (the LGF API's documented shapes
on a loopback HTTP server); the target is MeltanoLabs' target-postgres from
PyPI against the PostgreSQL at 127.0.0.1:5432; everything runs as real
``flext`` processes. Deploy, the first run loads everything, rows change on
the WMS, the next run loads only those, status shows the lag at zero, and a
reload reads everything again and the next incremental run starts from it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from pytest_httpserver import HTTPServer
from tap_oracle_wms.testing import PASSWORD, USER, FakeWms, make_rows

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ENV = {"WMS_PASSWORD": PASSWORD}


def _config(wms: FakeWms, schema: str) -> str:
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
  incremental: "*/15 * * * *"
  full: "0 2 * * 0"
"""


def _rows(url: str, schema: str, table: str) -> dict[int, tuple[str, object]]:
    with psycopg.connect(url) as connection:
        found = connection.execute(f'select id, description, _sdc_deleted_at from "{schema}"."{table}"')
        return {row[0]: (row[1], row[2]) for row in found}


def _touch(row: dict, minutes: int, description: str) -> None:  # type: ignore[type-arg]
    stamp = datetime.fromisoformat(row["mod_ts"]) + timedelta(minutes=minutes)
    row["mod_ts"] = stamp.astimezone(UTC).isoformat()
    row["description"] = description


def test_the_worked_example(
    flext_cli, tmp_path: Path, httpserver: HTTPServer, postgres_url: str, pg_schema: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    wms = FakeWms(httpserver)
    items, inventory = make_rows(30), make_rows(12, start_id=100)
    wms.add("item", items)
    wms.add("inventory", inventory)
    added = flext_cli("data", "targets", "add", "target-postgres")
    assert added.exit_code == 0, added.stderr

    project = tmp_path / "gruponos"
    assert flext_cli("gruponos", "init", str(project)).exit_code == 0
    (project / "gruponos.yaml").write_text(_config(wms, pg_schema), encoding="utf-8")
    monkeypatch.chdir(project)
    deployed = flext_cli("gruponos", "pipeline", "deploy", "--project", str(project))
    assert deployed.exit_code == 0, deployed.stderr

    first = flext_cli("--output", "json", "pipeline", "run", "dc01", "--no-retry", env=ENV)
    assert first.exit_code == 0, first.stderr
    assert first.json()["data"]["records"] == {"item": 30, "inventory": 12}
    assert set(_rows(postgres_url, pg_schema, "item")) == {row["id"] for row in items}

    # On the WMS: two items change, an inventory row is added.
    _touch(items[3], 600, "moved to aisle 7")
    _touch(items[17], 601, "new barcode")
    inventory.append(make_rows(1, start_id=200, minute0=700)[0])
    second = flext_cli("--output", "json", "pipeline", "run", "dc01", "--no-retry", env=ENV)
    assert second.exit_code == 0, second.stderr
    assert second.json()["data"]["records"] == {"item": 2, "inventory": 1}  # only the changes
    loaded = _rows(postgres_url, pg_schema, "item")
    assert len(loaded) == 30
    assert loaded[items[3]["id"]][0] == "moved to aisle 7"
    assert len(_rows(postgres_url, pg_schema, "inventory")) == 13

    status = flext_cli("--output", "json", "gruponos", "status", "--project", str(project), env=ENV)
    assert status.exit_code == 0, status.stderr
    by_entity = {row["entity"]: row for row in status.json()["data"]}
    assert by_entity["item"]["rows"] == 2
    assert by_entity["inventory"]["rows"] == 1
    for row in by_entity.values():
        assert row["outcome"] == "completed"
        assert row["failures"] == 0
        assert row["error"] is None
        assert row["lag_seconds"] == 0.0
        assert datetime.fromisoformat(row["loaded_up_to"]) == datetime.fromisoformat(row["newest_in_wms"])

    # A new change on the WMS: the lag shows it until the next run.
    _touch(items[5], 900, "recount")
    behind = flext_cli("--output", "json", "gruponos", "status", "--project", str(project), env=ENV)
    lag = {row["entity"]: row["lag_seconds"] for row in behind.json()["data"]}
    assert lag["item"] > 0
    assert lag["inventory"] == 0.0

    # A reload reads everything again; its state is where the next incremental run starts.
    reloaded = flext_cli("gruponos", "reload", "--project", str(project), env=ENV)
    assert reloaded.exit_code == 0, reloaded.stderr
    history = flext_cli("--output", "json", "pipeline", "history", "dc01").json()["data"]
    latest = max(history, key=lambda run: run["started_at"])
    assert latest["full_refresh"] is True
    assert latest["records"] == {"item": 30, "inventory": 13}
    assert _rows(postgres_url, pg_schema, "item")[items[5]["id"]][0] == "recount"
    again = flext_cli("--output", "json", "pipeline", "run", "dc01", "--no-retry", env=ENV)
    assert again.exit_code == 0, again.stderr
    assert sum(again.json()["data"]["records"].values()) == 0
