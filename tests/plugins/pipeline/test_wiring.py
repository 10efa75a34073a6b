"""The action's correlation id and ``${secret:NAME}`` reach every piece of a run (issues 18 and 19).

In-process: the transform step's dbt environment, a state set through the
pipeline contract, the run log's per-line id (and the old format still read),
and a run whose definition names a secret that is missing, or whose secrets
plugin is absent: it fails before anything is written.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_pipeline.definition import DbtStep, parse_definition
from flext_plugin_pipeline.events import AGGREGATE_TYPE, StateCheckpointed
from flext_plugin_pipeline.pipeline_cli import _LogPrinter
from flext_plugin_pipeline.runner import RunOptions, run_pipeline
from flext_plugin_pipeline.runtime import RunLog, logs_dir
from flext_plugin_pipeline.secret_refs import fill
from flext_plugin_pipeline.state_handlers import set_state
from flext_plugin_pipeline.transform import run_transform

from flext_eventsourcing.memory_store import InMemoryEventStore
from flext_kernel.correlation import correlation_scope
from flext_sdk import ANY, FlextCommandBus, FlextKernel, FlextResult
from flext_sdk.contracts.dbt import DbtReport, RunDbt
from flext_sdk.contracts.pipeline import SetPipelineState


def test_the_dbt_step_gets_the_actions_correlation_id_and_its_secrets_in_its_env(tmp_path: Path) -> None:
    seen: list[RunDbt] = []

    def handle(command: RunDbt) -> FlextResult[DbtReport]:
        seen.append(command)
        return FlextResult.ok(
            DbtReport(
                command="run",
                project="p",
                project_dir=command.project_dir,
                target=None,
                adapter="sqlite",
                artifacts_dir=tmp_path,
                success=True,
                elapsed=0.1,
                dbt_version="1.9.0",
            )
        )

    bus = FlextCommandBus()
    bus.register(RunDbt, handle)
    step = DbtStep(project="dbt", env={"DB": "${FLEXT_PIPELINE_DIR}/x.db", "PW": "pw=${secret:DBT_PW}"})
    log = RunLog(tmp_path / "run.log")
    with correlation_scope("req-dbt.1"):
        done = run_transform(
            bus, step, {"FLEXT_PIPELINE_DIR": str(tmp_path)}, log, secrets={"DBT_PW": "s3cret-dbt"}
        )
    log.close()
    assert done.is_success, done
    assert seen[0].env["FLEXT_CORRELATION_ID"] == "req-dbt.1"
    assert seen[0].env["PW"] == "pw=s3cret-dbt"
    assert seen[0].env["DB"] == f"{tmp_path}/x.db"


def test_a_state_set_through_the_contract_carries_the_actions_id_and_keeps_its_run_id() -> None:
    store = InMemoryEventStore()
    with correlation_scope("import-7"):
        first = set_state(SetPipelineState(store=store, pipeline="p", state={}, source="test"))
    assert first.is_failure  # not registered: nothing in its stream
    seed = StateCheckpointed(
        aggregate_id="pipeline-p", aggregate_type=AGGREGATE_TYPE, pipeline="p", run_id="r0", state={}
    )
    assert store.append("pipeline-p", [seed], ANY).is_success
    with correlation_scope("import-7"):
        done = set_state(SetPipelineState(store=store, pipeline="p", state={"b": 1}, source="meltano"))
    assert done.is_success, done
    event = store.read_stream("pipeline-p").unwrap()[-1].event
    assert event.correlation_id == "import-7"
    assert event.run_id.startswith("imported-")


def test_every_run_log_line_carries_the_id_and_old_lines_still_read(tmp_path: Path) -> None:
    with correlation_scope("req-9:a"):
        log = RunLog(tmp_path / "run.log")
    log.write("tap-x", "hello [world]")
    log.close()
    (line,) = (tmp_path / "run.log").read_text().splitlines()
    time, correlation, rest = line.split(" ", 2)
    assert (correlation, rest) == ("req-9:a", "[tap-x] hello [world]")
    assert _LogPrinter.record("r1", line) == {
        "run_id": "r1",
        "time": time,
        "correlation_id": "req-9:a",
        "source": "tap-x",
        "message": "hello [world]",
    }
    old = "2026-12-07T06:57:15.723335Z [tap-ldif] message"
    assert _LogPrinter.record("r0", old)["correlation_id"] is None
    assert _LogPrinter.record("r0", old)["source"] == "tap-ldif"


def test_fill_replaces_only_known_names_at_any_depth() -> None:
    filled = fill({"a": ["x ${secret:A} y", {"${secret:A}": 3}], "b": "${secret:B}"}, {"A": "va1"})
    assert filled == {"a": ["x va1 y", {"va1": 3}], "b": "${secret:B}"}


_SECRET_PIPELINE = """\
name: guarded
extract:
  name: tap-numbers
  config: {records: 3}
load:
  name: target-file
  config: {path: rows.json, password: "${secret:NO_SUCH_PW}"}
"""


@pytest.fixture
def singer_kernel(flext_home: Path, flext_kernel_factory: Any) -> FlextKernel:
    kernel: FlextKernel = flext_kernel_factory("flext_plugin_singer.plugin")
    return kernel


def test_a_secret_without_a_secrets_plugin_fails_before_anything_is_written(
    singer_kernel: FlextKernel, tmp_path: Path, connectors: Path
) -> None:
    definition = parse_definition(_SECRET_PIPELINE, "pipeline.yaml").unwrap()
    definition = definition.model_copy(update={"base_dir": str(tmp_path)})
    store = InMemoryEventStore()
    ran = run_pipeline(singer_kernel, definition, store, RunOptions(retry=False), threading.Event())
    assert ran.is_failure
    assert ran.error_code in {"NOT_FOUND", "PLUGIN_DISABLED"}, ran
    assert "flext-plugin-secrets" in f"{ran.error} {ran.error_data}", ran
    assert store.read_stream("pipeline-guarded").unwrap() == []
    assert not logs_dir("guarded").exists() or not any(logs_dir("guarded").iterdir())
    assert not (tmp_path / "rows.json").exists()


def test_the_background_run_is_given_the_start_commands_id_not_the_callers_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flext_plugin_pipeline.pipeline_cli import _background_environ

    monkeypatch.setenv("FLEXT_CORRELATION_ID", "not valid\n")  # the start command made its own id instead
    monkeypatch.setenv("KEEP_ME", "1")
    with correlation_scope("start-made-1"):
        environ = _background_environ()
    assert environ["FLEXT_CORRELATION_ID"] == "start-made-1"
    assert environ["KEEP_ME"] == "1"
