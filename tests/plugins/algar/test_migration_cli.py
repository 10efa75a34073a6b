"""``flext algar migration plan|run|status`` through the real ``flext`` executable, the ldif plugin's reader
found in the kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

from flext_sdk.contracts import require_service
from flext_sdk.contracts.ldif import LdifReader, LdifRecord
from flext_sdk.testing import FlextCliRunner, FlextKernelFactory

EXAMPLE = Path(__file__).parents[3] / "plugins/algar/examples/oid-export.ldif"


def _project(flext_cli: FlextCliRunner, directory: Path) -> Path:
    assert flext_cli("algar", "init", str(directory)).exit_code == 0
    shutil.copy(EXAMPLE, directory / "oid-export.ldif")
    return directory


def test_plan_run_status_on_the_sample(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    plan = flext_cli("--output", "json", "algar", "migration", "plan", "--project", str(project))
    assert plan.exit_code == 0, plan
    assert [row["state"] for row in plan.json()["data"]] == ["pending"] * 7

    run = flext_cli("algar", "migration", "run", "--project", str(project))
    assert run.exit_code == 0, run
    assert "validate: 61 entries out, 0 errors, 1 warnings" in run.stderr
    assert "hierarchy: 60 entries out, 1 errors" in run.stderr
    assert "Traceback" not in run.stderr
    output = (project / "out/07-output.ldif").read_text(encoding="utf-8")
    assert output.startswith("version: 1\n\ndn: dc=algar,dc=br\n")

    status = flext_cli("--output", "json", "algar", "migration", "status", "--project", str(project))
    assert status.exit_code == 0, status
    rows = {row["phase"]: row for row in status.json()["data"]}
    assert rows["validate"]["in"] == 61
    assert rows["hierarchy"]["excluded"] == 1
    assert rows["output"]["out"] == 60
    assert all(row["state"] == "done" for row in rows.values())

    again = flext_cli("--output", "json", "algar", "migration", "plan", "--project", str(project))
    assert [row["state"] for row in again.json()["data"]] == ["done"] * 7


def test_one_phase_alone_and_an_unknown_phase(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    early = flext_cli("algar", "migration", "run", "--project", str(project), "--phase", "users")
    assert early.exit_code == 2, early
    assert "03-schema.ldif: no such file (run phase 'schema' first)" in early.stderr
    first = flext_cli(
        "--output", "json", "algar", "migration", "run", "--project", str(project), "--phase", "validate"
    )
    assert first.exit_code == 0, first
    [report] = first.json()["data"]["phases"]
    assert report["codes"]["VALIDATE_DANGLING_REFERENCE"]["examples"][0]["dn"].startswith("cn=admins-0,")
    unknown = flext_cli("algar", "migration", "run", "--project", str(project), "--phase", "parse")
    assert unknown.exit_code == 2, unknown
    assert "--phase: 'parse' is not one of validate, hierarchy" in unknown.stderr


def test_a_bad_export_line_is_reported_with_its_line(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(4, "objectclass domain\n")  # line 5, inside the first entry: no ':'
    (project / "oid-export.ldif").write_text("".join(lines), encoding="utf-8")
    run = flext_cli(
        "--output", "json", "algar", "migration", "run", "--project", str(project), "--phase", "validate"
    )
    assert run.exit_code == 0, run
    [report] = run.json()["data"]["phases"]
    [problem] = report["codes"]["LDIF_SYNTAX"]["examples"]
    assert problem["line"] == 5
    assert report["counts"]["failed"] == 1
    assert report["counts"]["out"] == 60


def test_without_the_ldif_plugin_the_migration_names_it(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    run = flext_cli(
        "algar", "migration", "run", "--project", str(project), env={"FLEXT_DISABLE_PLUGINS": "ldif"}
    )
    assert run.exit_code != 0
    assert "the ALGAR migration reads LDIF, but plugin 'ldif' is disabled (PLUGIN_DISABLED)" in run.stderr
    assert "hint:" in run.stderr
    assert not (project / "out").exists()


def test_a_bad_project_is_one_line_naming_the_field(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    text = (project / "algar.yaml").read_text(encoding="utf-8")
    (project / "algar.yaml").write_text(text.replace("env:OUD_BIND_PASSWORD", "hunter2"), encoding="utf-8")
    result = flext_cli("algar", "migration", "plan", "--project", str(project))
    assert result.exit_code == 2, result
    assert "algar.yaml:20: target.bind_password: must be a secret reference" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_the_ldif_plugin_registers_the_reader_in_the_container(
    flext_kernel_factory: FlextKernelFactory,
) -> None:
    kernel = flext_kernel_factory("flext_plugin_ldif.plugin", "flext_plugin_algar.plugin")
    reader = require_service(kernel, LdifReader, why="the ALGAR migration reads LDIF").unwrap()
    items = list(reader.read(EXAMPLE))
    assert len(items) == 61
    assert all(isinstance(item, LdifRecord) for item in items)
    assert reader.normalize_dn("CN=Users, DC=Algar,DC=com,DC=br") == "cn=users,dc=algar,dc=com,dc=br"
    assert reader.normalize_dn("not a dn") is None
    kernel.container.remove_owner("ldif")
    gone = require_service(kernel, LdifReader, why="the ALGAR migration reads LDIF")
    assert gone.is_failure
    assert "plugin 'ldif'" in (gone.error or "")
