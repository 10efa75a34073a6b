"""``flext meltano project init`` (the real ``meltano init``, templates) and ``flext meltano test``.

The templates declare their plugins in ``meltano.yml`` (Meltano Hub is not
reachable here), so the project runs right after ``init``: the SQLite one
with FLEXT's own tap-ldif and target-sqlite, the PostgreSQL one with
MeltanoLabs' target-postgres (``meltano install`` builds it) into the
machine's PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

if TYPE_CHECKING:
    from conftest import ProjectCopy  # the fixture's type (tests/plugins/meltano/conftest.py)

pytestmark = pytest.mark.slow

SAMPLE_USERS = 30
"""Users in the sample directory export (examples/directory/data/directory.ldif)."""


def _count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        counted = connection.execute(f"select count(*) from {table}").fetchone()
    return int(counted[0])


def test_the_sqlite_template_runs_delegated_right_after_init(home: ProjectCopy, tmp_path: Path) -> None:
    project = tmp_path / "new" / "ldif-project"
    created = home.flext(
        "--output", "json", "meltano", "project", "init", str(project), "--template", "ldif-sqlite"
    )
    assert created.exit_code == 0, str(created)
    assert created.json()["data"]["jobs"] == {"ldif-to-sqlite": ["tap-ldif target-sqlite"]}
    declared = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    assert declared["default_environment"] == "dev"  # what meltano init wrote is kept
    assert [plugin["name"] for plugin in declared["plugins"]["extractors"]] == ["tap-ldif"]
    assert (project / ".meltano").is_dir()  # meltano init made its system database

    ran = home.flext("meltano", "run", "ldif-to-sqlite", "--project", str(project))
    assert ran.exit_code == 0, str(ran)
    assert _count(project / "output" / "warehouse.db", "users") == SAMPLE_USERS


def test_init_refuses_a_directory_that_is_a_project_already(home: ProjectCopy) -> None:
    before = (home.root / "meltano.yml").read_bytes()
    refused = home.flext("meltano", "project", "init", str(home.root), "--template", "ldif-sqlite")
    assert refused.exit_code == 2, str(refused)
    assert "already a Meltano project" in refused.stderr
    assert (home.root / "meltano.yml").read_bytes() == before


def test_an_unknown_template_is_a_usage_error(home: ProjectCopy, tmp_path: Path) -> None:
    refused = home.flext("meltano", "project", "init", str(tmp_path / "p"), "--template", "csv-excel")
    assert refused.exit_code == 2, str(refused)
    assert "ldif-sqlite" in refused.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.postgres
def test_the_postgres_template_loads_the_sample_into_postgresql(home: ProjectCopy, tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    project = tmp_path / "ldif-postgres"
    created = home.flext("meltano", "project", "init", str(project), "--template", "ldif-postgres")
    assert created.exit_code == 0, str(created)
    schema = f"ldif_{uuid.uuid4().hex[:8]}"
    text = (project / "meltano.yml").read_text(encoding="utf-8")
    (project / "meltano.yml").write_text(
        text.replace("default_target_schema: ldif", f"default_target_schema: {schema}")
    )
    assert home.flext("meltano", "install", "--project", str(project)).exit_code == 0
    try:
        ran = home.flext("meltano", "run", "ldif-to-postgres", "--project", str(project))
        assert ran.exit_code == 0, str(ran)
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as connection:
            counted = connection.execute(f'select count(*) from "{schema}".users').fetchone()
        assert counted is not None
        assert counted[0] == SAMPLE_USERS
    finally:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'drop schema if exists "{schema}" cascade')


def test_meltano_test_runs_each_plugin_test_and_reports_one_table(home: ProjectCopy, tmp_path: Path) -> None:
    project = tmp_path / "tested"
    assert home.flext("meltano", "project", "init", str(project), "--template", "ldif-sqlite").exit_code == 0
    declared = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    declared["plugins"]["extractors"][0]["commands"] = {
        "test": {"args": "--about", "description": "the tap describes itself"},
        "test_broken": {"args": "--no-such-option"},
    }
    declared["plugins"]["loaders"][0]["commands"] = {"test": {"args": "--about"}}
    (project / "meltano.yml").write_text(yaml.safe_dump(declared, sort_keys=False), encoding="utf-8")

    reported = home.flext("--output", "json", "meltano", "test", "--project", str(project))
    assert reported.exit_code == 1, str(reported)
    report = json.loads(reported.stdout)["data"]
    outcomes = [(row["plugin"], row["test"], row["outcome"]) for row in report["tests"]]
    assert outcomes == [
        ("tap-ldif", "test", "passed"),
        ("tap-ldif", "test_broken", "failed"),
        ("target-sqlite", "test", "passed"),
    ]
    assert (report["passed"], report["failed"]) == (2, 1)
    assert all(row["duration"] > 0 for row in report["tests"])

    table = home.flext("meltano", "test", "target-sqlite", "--project", str(project))
    assert table.exit_code == 0, str(table)
    assert "target-sqlite" in table.stdout
    assert "passed" in table.stdout
    assert "tap-ldif" not in table.stdout


def test_meltano_test_names_a_test_the_project_lacks(home: ProjectCopy) -> None:
    refused = home.flext("meltano", "test", "tap-ldif:test_nothing", "--project", str(home.root))
    assert refused.exit_code == 2, str(refused)
    assert "no test 'tap-ldif:test_nothing'" in refused.stderr
    assert "meltano.yml" in refused.stderr


_FAILING_TEMPLATE = """
import sys
from flext_kernel.result import FlextResult
from flext_plugin_meltano import init_cli
from flext_plugin_meltano.errors import MELTANO_COMMAND_FAILED

def broken(root, template, added):  # the template fails after meltano init made the project
    (root / "half-written").write_text("x", encoding="utf-8")
    return FlextResult.fail("the template could not be applied", error_code=MELTANO_COMMAND_FAILED)

init_cli._apply_template = broken
from flext_kernel.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_failed_template_leaves_nothing_and_init_can_run_again(home: ProjectCopy, tmp_path: Path) -> None:
    """meltano init succeeds, the template fails: no half-made project stays, so a re-run is not refused."""
    import subprocess
    import sys

    fixtures = sys.modules[type(home).__module__]  # tests/plugins/meltano/conftest.py, as pytest loaded it
    checkout, tools = str(fixtures.CHECKOUT), fixtures.tools_dir()
    parent = tmp_path / "projects"
    project = parent / "half"
    project.mkdir(parents=True)  # an existing directory, as a git checkout would be: its files are kept
    (project / "README.md").write_text("mine\n", encoding="utf-8")
    environment = home.cli.environment({"FLEXT_CHECKOUT": checkout, "FLEXT_TOOLS_DIR": tools})
    failed = subprocess.run(
        [
            sys.executable,
            "-c",
            _FAILING_TEMPLATE,
            "meltano",
            "project",
            "init",
            str(project),
            "--template",
            "ldif-sqlite",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert failed.returncode == 1, failed.stderr
    assert "the template could not be applied" in failed.stderr
    assert sorted(path.name for path in project.iterdir()) == ["README.md"]
    assert sorted(path.name for path in parent.iterdir()) == ["half"]  # no staging directory left either
    again = home.flext("meltano", "project", "init", str(project), "--template", "ldif-sqlite")
    assert again.exit_code == 0, str(again)
    assert (project / "meltano.yml").is_file()
    assert not (project / "half-written").exists()
    assert (project / "README.md").read_text(encoding="utf-8") == "mine\n"
    assert sorted(path.name for path in parent.iterdir()) == ["half"]
