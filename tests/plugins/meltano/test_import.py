"""``flext meltano import``: the test project's job blocks as FLEXT pipelines, run natively and delegated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from conftest import MeltanoProject  # the fixture's type (tests/plugins/meltano/conftest.py)

pytestmark = pytest.mark.slow

BLOCK = "tap-ldif-to-target-sqlite"
CONTRACTORS = "tap-ldif--contractors-to-target-sqlite"


def _dotenv(project: MeltanoProject) -> dict[str, str]:
    """What a user's shell holds after ``set -a; . ./.env``: the native run reads secrets from there."""
    lines = (project.root / ".env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _registered(project: MeltanoProject, name: str) -> dict[str, Any]:
    found = sorted(project.home.rglob(f"pipelines/{name}.yaml"))
    assert len(found) == 1, found
    text = found[0].read_text(encoding="utf-8")
    assert project.salt not in text
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def _rows(project: MeltanoProject, warehouse: str, table: str) -> list[tuple[object, ...]]:
    columns = [row[1] for row in project.rows(warehouse, f"pragma table_info({table})")]
    kept = sorted(str(column) for column in columns if not str(column).startswith("_sdc"))
    return sorted(project.rows(warehouse, f"select {', '.join(kept)} from {table}"), key=repr)


@pytest.fixture(scope="module")
def imported(meltano_project: MeltanoProject) -> MeltanoProject:
    """The project's prod environment imported as FLEXT pipelines."""
    done = meltano_project.flext(
        "meltano", "import", str(meltano_project.root), "--environment", "prod", env=_dotenv(meltano_project)
    )
    assert done.exit_code == 0, str(done)
    assert meltano_project.salt not in done.stdout + done.stderr
    return meltano_project


def test_each_job_block_becomes_a_registered_pipeline(imported: MeltanoProject) -> None:
    listed = imported.flext("--output", "json", "pipeline", "list")
    assert listed.exit_code == 0, str(listed)
    names = {pipeline["name"] for pipeline in listed.json()["data"]}
    assert {BLOCK, CONTRACTORS} <= names
    assert not list(imported.root.glob(".flext-import-*"))  # the temporary definitions are gone


def test_the_definition_keeps_connectors_config_select_and_secret_references(
    imported: MeltanoProject,
) -> None:
    block = _registered(imported, BLOCK)
    assert block["extract"]["name"] == "tap-ldif"
    assert block["extract"]["config"] == {"files": ["data/directory.ldif"], "apply_changes": True}
    assert block["extract"]["select"] == ["users.*", "groups.*", "organizational_units.*"]
    assert block["mappers"][0]["name"] == "meltano-map-transformer"
    assert block["mappers"][0]["config"]["stream_map_config"] == {"salt": "${MAIL_HASH_SALT}"}
    assert block["load"] == {
        "name": "target-sqlite",
        # MELTANO_PROJECT_ROOT is the definition's directory; prod's env sets WAREHOUSE_NAME in meltano.yml
        "config": {"database": "${FLEXT_PIPELINE_DIR}/output/warehouse.db", "hard_delete": False},
    }
    assert block["base_dir"] == str(imported.root)
    contractors = _registered(imported, CONTRACTORS)
    assert contractors["extract"]["config"] == {
        "files": ["data/contractors.ldif"],
        "apply_changes": True,  # inherited from tap-ldif
        "base_dn": "${CONTRACTORS_BASE_DN}",
    }
    assert contractors["extract"]["select"] == ["users.*"]
    assert "mappers" not in contractors


def test_a_native_run_loads_the_rows_a_delegated_run_of_the_same_block_loads(
    imported: MeltanoProject,
) -> None:
    delegated = imported.flext(
        "meltano", "run", "tap-ldif", "hash-mail", "target-sqlite", "--full-refresh",
        "--environment", "prod", "--project", str(imported.root),
        env=imported.warehouse("delegated-block"),
    )  # fmt: skip
    assert delegated.exit_code == 0, str(delegated)
    native = imported.flext("pipeline", "run", BLOCK, env=_dotenv(imported))
    assert native.exit_code == 0, str(native)
    assert imported.salt not in native.stdout + native.stderr
    for table in ("users", "groups", "organizational_units"):
        rows = _rows(imported, "warehouse", table)
        assert rows, table
        assert rows == _rows(imported, "delegated-block", table), table
    hashes = imported.rows("warehouse", "select count(*) from users where length(mail_hash) = 32")
    assert hashes == [(imported.directory_users,)]


def test_a_dry_run_registers_nothing(meltano_project: MeltanoProject, tmp_path: Path) -> None:
    root = meltano_project.fresh_copy(tmp_path / "dry")
    text = (
        (root / "meltano.yml")
        .read_text(encoding="utf-8")
        .replace("name: directory-to-warehouse", "name: dry-job")
    )
    (root / "meltano.yml").write_text(
        text.replace("tap-ldif--contractors target-sqlite", "tap-ldif target-sqlite")
    )
    done = meltano_project.flext("--output", "json", "meltano", "import", str(root), "--dry-run")
    assert done.exit_code == 0, str(done)
    data = done.json()["data"]
    assert [pipeline["pipeline"] for pipeline in data] == [BLOCK]
    assert data[0]["job"] == "dry-job"
    assert data[0]["state_id"] == "dev:tap-ldif-to-target-sqlite"
    assert (
        data[0]["definition"]["load"]["config"]["database"] == "${FLEXT_PIPELINE_DIR}/output/dev_warehouse.db"
    )


def test_the_schedules_are_imported_with_the_pipelines(imported: MeltanoProject) -> None:
    listed = imported.flext("--output", "json", "schedule", "list")
    assert listed.exit_code == 0, str(listed)
    jobs = {entry["schedule"]: entry["job"] for entry in listed.json()["data"]}
    assert jobs == {
        "directory-nightly": "meltano run --environment prod directory-to-warehouse",
        "contractors-hourly": "meltano run --environment prod tap-ldif--contractors target-sqlite",
    }
