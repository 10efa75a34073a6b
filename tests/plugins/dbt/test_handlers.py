"""The ``RunDbt`` command: the dbt plugin handles it on the bus, and it runs ``run_dbt`` with its fields."""

from __future__ import annotations

from pathlib import Path

import flext_plugin_dbt.runner
import pytest
from pydantic import ValidationError

from flext_sdk import FlextResult
from flext_sdk.contracts import Provider, provider_of
from flext_sdk.contracts.dbt import DbtReport, RunDbt


@pytest.fixture
def kernel(flext_kernel_factory):
    return flext_kernel_factory("flext_eventsourcing.plugin", "flext_plugin_dbt.plugin")


def _report(project_dir: Path) -> DbtReport:
    return DbtReport(
        command="build",
        project="shop",
        project_dir=project_dir,
        target="dev",
        adapter="sqlite",
        artifacts_dir=project_dir / "target",
        success=True,
        elapsed=0.1,
        dbt_version="1.9.0",
    )


def test_the_dbt_plugin_handles_run_dbt_and_takes_the_handler_away_with_it(kernel) -> None:
    assert kernel.command_bus.has_handler(RunDbt)
    assert provider_of(RunDbt) == Provider("dbt", "flext-plugin-dbt")
    kernel.remove_contributions("dbt")
    assert not kernel.command_bus.has_handler(RunDbt)


def test_the_handler_runs_dbt_with_the_commands_fields(kernel, tmp_path, monkeypatch) -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def fake_run_dbt(*args: object, **kwargs: object) -> FlextResult[DbtReport]:
        calls.append((args, kwargs))
        log = kwargs["log"]
        assert callable(log)
        log("1 of 1 OK created sql table model main.people")
        return FlextResult.ok(_report(tmp_path))

    monkeypatch.setattr(flext_plugin_dbt.runner, "run_dbt", fake_run_dbt)
    lines: list[str] = []
    command = RunDbt(
        project_dir=tmp_path,
        command="run",
        select=("people+",),
        target="dev",
        vars={"day": "2026-01-01"},
        env={"WAREHOUSE": "/tmp/w.db"},
        log=lines.append,
    )
    report = kernel.command_bus.dispatch(command).unwrap()
    assert report.success
    assert calls == [
        (
            (tmp_path, "run"),
            {
                "profiles_dir": None,
                "target": "dev",
                "select": ("people+",),
                "vars": {"day": "2026-01-01"},
                "full_refresh": False,
                "limit": None,
                "env": {"WAREHOUSE": "/tmp/w.db"},
                "log": lines.append,
                "cancel": None,
            },
        )
    ]
    assert lines == ["1 of 1 OK created sql table model main.people"]


def test_a_project_dbt_cannot_use_is_a_failed_result(kernel, tmp_path) -> None:
    # No dbt_project.yml: run_dbt fails before it needs dbt's environment.
    failed = kernel.command_bus.dispatch(RunDbt(project_dir=tmp_path / "nowhere"))
    assert failed.is_failure
    assert failed.error_code == "VALIDATION_ERROR"


def test_the_command_is_data_its_log_sink_stays_in_the_process(tmp_path) -> None:
    command = RunDbt(project_dir=tmp_path, select=("a",), env={"K": "v"}, log=print)
    dumped = command.model_dump(mode="json")
    assert "log" not in dumped
    assert RunDbt.model_validate(dumped) == command.model_copy(update={"log": None})
    assert "log" not in RunDbt.model_json_schema()["properties"]
    with pytest.raises(ValidationError):
        RunDbt(project_dir=tmp_path, command="compile")


SLOW_MODEL = (
    "-- counts to a hundred million: a minute of SQLite, long enough to be stopped half-way\n"
    "with recursive c(x) as (select 1 union all select x + 1 from c where x < 100000000)\n"
    "select count(*) as n from c\n"
)


def test_setting_the_command_s_cancel_event_ends_dbt_and_answers_interrupted(
    kernel, project: Path, warehouse: Path, dbt_sqlite
) -> None:
    import threading
    import time

    (project / "models" / "slow.sql").write_text(SLOW_MODEL)
    lines: list[str] = []
    running: list[int] = []
    cancel = threading.Event()

    def cancel_once_slow_runs() -> None:
        deadline = time.monotonic() + 180
        while not any("START sql table model main.slow" in line for line in lines):
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        running.extend(_running_in(project))
        cancel.set()

    threading.Thread(target=cancel_once_slow_runs, daemon=True).start()
    began = time.monotonic()
    result = kernel.command_bus.dispatch(
        RunDbt(project_dir=project, command="run", select=("slow",), log=lines.append, cancel=cancel)
    )
    assert cancel.is_set(), lines[-5:]
    assert running  # dbt was there when it was cancelled
    assert result.is_failure
    assert result.error_code == "INTERRUPTED"
    assert result.error == "dbt run was stopped before it finished"
    assert time.monotonic() - began < 60  # the model alone takes about a minute
    assert _running_in(project) == []  # dbt (which runs in the project's directory) is gone


def _running_in(directory: Path) -> list[int]:
    """The processes whose working directory is ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(entry / "cwd").resolve() == directory.resolve():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_the_cancel_event_stays_in_the_process(tmp_path) -> None:
    import threading

    command = RunDbt(project_dir=tmp_path, cancel=threading.Event())
    assert "cancel" not in command.model_dump(mode="json")
    assert "cancel" not in RunDbt.model_json_schema()["properties"]
    assert "cancel=" not in repr(command)


def test_a_recorded_invocation_carries_the_actions_correlation_id(tmp_path) -> None:
    from flext_plugin_dbt.events import record_invocation

    from flext_eventsourcing.memory_store import InMemoryEventStore
    from flext_kernel.correlation import correlation_scope, is_valid_correlation_id

    store = InMemoryEventStore()
    with correlation_scope("req-dbt-cli.4"):
        assert record_invocation(store, "build", FlextResult.ok(_report(tmp_path))).is_success
    assert record_invocation(store, "build", FlextResult.ok(_report(tmp_path))).is_success  # outside a scope
    first, second = (recorded.event for recorded in store.read_stream("dbt-shop").unwrap())
    assert first.correlation_id == "req-dbt-cli.4"
    assert is_valid_correlation_id(second.correlation_id or "")
