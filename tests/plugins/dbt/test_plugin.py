"""The dbt plugin without dbt: manifest, lazy imports, public names, errors found before dbt runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import flext_plugin_dbt
import pytest
from flext_plugin_dbt.project import load_project
from flext_plugin_dbt.report import DbtReport, NodeResult, one_line
from flext_plugin_dbt.runner import DRIVER, run_dbt

from flext_sdk.testing import FlextCliRunner, PluginContract


class TestDbtPlugin(PluginContract):
    plugin = "flext_plugin_dbt.plugin"
    required_plugins = ("flext_eventsourcing.plugin",)


def _project(root: Path, profile_type: str = "sqlite", *, profiles: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\nprofile: shop\n")
    if profiles:
        (root / "profiles.yml").write_text(
            "shop:\n  target: \"{{ env_var('SHOP_TARGET', 'dev') }}\"\n  outputs:\n"
            f"    dev:\n      type: {profile_type}\n    prod:\n      type: postgres\n"
        )
    return root


def test_loading_the_plugin_imports_neither_the_runner_nor_dbt() -> None:
    code = (
        "import sys, flext_plugin_dbt.plugin, flext_plugin_dbt.dbt_cli\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] == 'dbt' or m in "
        "('flext_plugin_dbt.runner', 'flext_plugin_dbt.events', 'flext_plugin_dbt.adapters')]\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_public_names_resolve() -> None:
    for name in flext_plugin_dbt.__all__:
        assert getattr(flext_plugin_dbt, name) is not None
    assert flext_plugin_dbt.run_dbt is run_dbt
    with pytest.raises(AttributeError):
        _ = flext_plugin_dbt.nothing_here


def test_the_driver_imports_only_dbt_and_the_standard_library() -> None:
    tree = ast.parse(DRIVER.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    outside = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "dbt"
    }
    assert outside == set()


def test_a_project_names_its_adapter_from_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "shop")
    loaded = load_project(root, env={}).unwrap()
    assert (loaded.name, loaded.target, loaded.adapter, loaded.profiles_dir) == (
        "shop",
        "dev",
        "sqlite",
        root,
    )
    assert loaded.artifacts_dir == root / "target"
    # The target comes from env_var, or from the caller.
    assert load_project(root, env={"SHOP_TARGET": "prod"}).unwrap().adapter == "postgres"
    assert load_project(root, target="prod", env={}).unwrap().adapter == "postgres"
    # Without a profiles.yml in the project, dbt's default place is read.
    elsewhere = _project(tmp_path / "profiles-home", "duckdb")
    bare = _project(tmp_path / "bare", profiles=False)
    via_env = load_project(bare, env={"DBT_PROFILES_DIR": str(elsewhere)}).unwrap()
    assert (via_env.adapter, via_env.profiles_dir) == ("duckdb", None)
    assert load_project(bare, profiles_dir=elsewhere, env={}).unwrap().profiles_dir == elsewhere


@pytest.mark.parametrize(
    ("setup", "reason", "words"),
    [
        ("missing", "project_not_found", "the directory does not exist"),
        ("no-project-file", "no_dbt_project_yml", "has no dbt_project.yml"),
        ("no-profiles", "no_profiles_yml", "no profiles.yml for profile 'shop'"),
        ("bad-target", "no_target", "has no target 'staging' (its targets: dev, prod)"),
    ],
)
def test_what_is_missing_is_named(tmp_path: Path, setup: str, reason: str, words: str) -> None:
    root = tmp_path / "shop"
    if setup == "no-project-file":
        root.mkdir()
    elif setup == "no-profiles":
        _project(root, profiles=False)
    elif setup == "bad-target":
        _project(root)
    loaded = load_project(
        root, target="staging" if setup == "bad-target" else None, env={"HOME": str(tmp_path)}
    )
    assert loaded.error_code == "VALIDATION_ERROR"
    assert loaded.error_data["reason"] == reason
    assert words in (loaded.error or "")
    assert "\n" not in (loaded.error or "")


def test_an_unknown_adapter_fails_before_anything_is_installed(tmp_path: Path, flext_home: Path) -> None:
    ran = run_dbt(_project(tmp_path / "shop", "snowflake"), "run")
    assert ran.error_code == "VALIDATION_ERROR"
    assert ran.error_data["reason"] == "unknown_adapter"
    assert "unknown dbt adapter 'snowflake' in target 'dev' of profile 'shop'" in (ran.error or "")


@pytest.mark.parametrize(
    ("command", "options", "words"),
    [
        ("test", {"full_refresh": True}, "--full-refresh applies to dbt run, build and seed"),
        ("show", {}, "pass --select MODEL"),
        ("run", {"limit": 3}, "--limit applies to dbt show"),
        ("compile", {}, "unknown dbt command 'compile'"),
    ],
)
def test_options_that_do_not_fit_the_command_are_refused(
    tmp_path: Path, command: str, options: dict[str, object], words: str
) -> None:
    ran = run_dbt(_project(tmp_path / "shop"), command, **options)
    assert ran.error_code == "VALIDATION_ERROR"
    assert words in (ran.error or "")


def test_messages_become_one_line_and_reports_name_the_first_failure() -> None:
    text = "Database Error in model broken (models/broken.sql)\n  no such table: t\n  compiled code at x.sql"
    assert (
        one_line(text)
        == "Database Error in model broken (models/broken.sql): no such table: t; compiled code at x.sql"
    )
    nodes = (
        NodeResult(unique_id="model.p.a", resource_type="model", name="a", status="success"),
        NodeResult(unique_id="model.p.b", resource_type="model", name="b", status="error", message=text),
        NodeResult(
            unique_id="test.p.c", resource_type="test", name="c", status="fail", message="Got 1 result"
        ),
    )
    report = DbtReport(
        command="build",
        project="p",
        project_dir=Path("/p"),
        target="dev",
        adapter="sqlite",
        artifacts_dir=Path("/p/target"),
        success=False,
        elapsed=1.0,
        dbt_version="1.10.0",
        nodes=nodes,
    )
    assert [node.name for node in report.failed_nodes] == ["b", "c"]
    assert report.failure_message() == (
        "dbt build: 2 of 3 nodes failed: model b: Database Error in model broken (models/broken.sql): "
        "no such table: t; compiled code at x.sql (and 1 more)"
    )


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("missing", "the directory does not exist"),
        ("no-project-file", "has no dbt_project.yml"),
        ("snowflake", "unknown dbt adapter 'snowflake'"),
    ],
)
def test_the_cli_says_what_is_wrong_in_one_line_and_exits_2(
    flext_cli: FlextCliRunner, tmp_path: Path, setup: str, words: str
) -> None:
    root = tmp_path / "shop"
    if setup == "no-project-file":
        root.mkdir()
    elif setup == "snowflake":
        _project(root, "snowflake")
    result = flext_cli("data", "dbt", "run", str(root))
    assert result.exit_code == 2, result
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert words in line
    assert line.endswith("(VALIDATION_ERROR)")
    assert "Traceback" not in result.stderr


def test_vars_must_be_a_json_object(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    result = flext_cli(
        "--output", "json", "data", "dbt", "build", str(_project(tmp_path / "shop")), "--vars", "[1]"
    )
    assert result.exit_code == 2
    assert result.json() == {
        "ok": False,
        "error": '--vars must be a JSON object, like {"since": "2024-01-01"}',
        "code": "VALIDATION_ERROR",
    }


def test_a_broken_profiles_yml_is_named_without_quoting_its_lines(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop")
    (root / "profiles.yml").write_text("shop:\n  outputs:\n    dev: {type: postgres, password: hunter2\n")
    loaded = load_project(root, env={})
    assert loaded.error_data["reason"] == "bad_yaml"
    assert f"{root / 'profiles.yml'}:4: not valid YAML" in (loaded.error or "")
    assert "hunter2" not in (loaded.error or "")


_LAUGHS = "".join(
    f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}" if level else "lol"] * 9) + "]\n"
    for level in range(10)
)


@pytest.mark.parametrize(
    ("file", "body", "line", "problem"),
    [
        (
            "dbt_project.yml",
            b"name: shop\nprofile: shop\nvars:\n" + _LAUGHS.encode(),
            9,
            "aliases are expanded",
        ),
        ("dbt_project.yml", b"name: shop\nprofile: shop\nname: other\n", 3, "duplicate key 'name'"),
        ("dbt_project.yml", b"name: shop\nprofile: shop\nvars: &v {a: *v}\n", 3, "recursive alias"),
        (
            "profiles.yml",
            b"shop:\n  outputs:\n    dev: {type: sqlite, type: postgres}\n",
            3,
            "duplicate key 'type'",
        ),
        ("profiles.yml", b"shop:\n  outputs:\n    dev: {type: caf\xe9}\n", 3, "byte 0xe9 is not UTF-8"),
    ],
)
def test_hostile_project_files_are_refused_naming_the_file_and_line(
    flext_cli: FlextCliRunner, tmp_path: Path, file: str, body: bytes, line: int, problem: str
) -> None:
    root = _project(tmp_path / "shop")
    (root / file).write_bytes(body)
    loaded = load_project(root, env={})
    assert loaded.error_code == "VALIDATION_ERROR"
    assert loaded.error_data["reason"] == "bad_yaml"
    assert f"{root / file}:{line}: " in (loaded.error or ""), loaded.error
    assert problem in (loaded.error or "")
    result = flext_cli("data", "dbt", "build", str(root))
    assert result.exit_code == 2, result
    assert f"{root / file}:{line}: " in result.stderr
    assert result.stderr.rstrip().endswith("(VALIDATION_ERROR)")


def test_a_project_dbt_cannot_run_is_recorded_as_a_failed_invocation(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    root = _project(tmp_path / "shop", "snowflake")
    assert flext_cli("data", "dbt", "build", str(root), "--select", "orders").exit_code == 2

    (event,) = flext_cli("--output", "json", "events", "show", "dbt-shop").json()["data"]
    assert event["type"] == "dbt.InvocationFailed"
    payload = event["payload"]
    assert (payload["command"], payload["select"]) == ("build", ["orders"])
    assert payload["code"] == "VALIDATION_ERROR"
    assert payload["error"].startswith("unknown dbt adapter 'snowflake'")

    unrecorded = flext_cli(
        "data", "dbt", "build", str(root), env={"FLEXT_EVENTSTORE_URL": "kafka://broker/x"}
    )
    assert unrecorded.exit_code == 2
    assert "warning: the failure was not recorded in the event store" in unrecorded.stderr


@pytest.mark.parametrize(
    ("error_type", "error", "code", "message"),
    [
        (
            "EnvVarMissingError",
            "Parsing Error\n  Env var required but not provided: 'DIRECTORY_WAREHOUSE'",
            "DBT_CONFIG_ERROR",
            "Parsing Error: Env var required but not provided: 'DIRECTORY_WAREHOUSE'",
        ),
        (
            "TargetNotFoundError",
            "Compilation Error\n  Model 'model.shop.a' depends on a node named 'b' which was not found",
            "DBT_COMPILE_ERROR",
            "Compilation Error: Model 'model.shop.a' depends on a node named 'b' which was not found",
        ),
        ("FailedToConnectError", "Database Error\n  unable to open database file", "DBT_ERROR", None),
    ],
)
def test_dbt_stopping_early_is_a_failure_with_a_code_by_kind(
    tmp_path: Path, error_type: str, error: str, code: str, message: str | None
) -> None:
    from flext_plugin_dbt.runner import _report

    project = load_project(_project(tmp_path / "shop"), env={}).unwrap()
    summary = {"kind": "summary", "success": False, "elapsed": 1.0, "dbt_version": "1.10.0"}
    failed = _report(project, "run", [{**summary, "error": error, "error_type": error_type}])
    assert failed.error_code == code
    assert failed.error == (message or "Database Error: unable to open database file")
    assert failed.error_data["project"] == "shop"
