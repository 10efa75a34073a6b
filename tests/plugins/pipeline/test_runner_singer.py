"""The pipeline runner and the singer plugin's service: what it starts, and that it never leaves a run going.

The kernel holds the singer plugin and a test plugin that offers the
counting tap, file target and a pass-through mapper of the engine tests
(absolute executables, through ``flext_singer_connectors``), and the runner
is called in-process with an in-memory event store, so a test can wrap the
service and see the very run the pipeline started.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_pipeline.definition import PipelineDefinition, parse_definition
from flext_plugin_pipeline.runner import Progress, RunOptions, run_pipeline
from flext_plugin_pipeline.steps import check_steps

from flext_eventsourcing.memory_store import InMemoryEventStore
from flext_sdk import FlextKernel, PluginManifest, hookimpl
from flext_sdk.contracts.singer import ConnectorSpec, SingerEngine, SingerJob, SingerRun


def _programs() -> Any:
    path = Path(__file__).parents[1] / "singer" / "singer_programs.py"
    spec = importlib.util.spec_from_file_location("singer_programs", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_MAPPER = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line)\n    sys.stdout.flush()\n"


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


class _Connectors:
    manifest = PluginManifest(name="numbers", version="2.5.0")

    def __init__(self, folder: Path) -> None:
        programs = _programs()
        self.tap = _script(folder, "tap-numbers", programs.TAP)
        self.target = _script(folder, "target-file", programs.TARGET)
        self.mapper = _script(folder, "mapper-copy", _MAPPER)

    @hookimpl(optionalhook=True)
    def flext_singer_connectors(self) -> list[ConnectorSpec]:
        return [
            ConnectorSpec(name="tap-counting", kind="tap", executable=str(self.tap)),
            ConnectorSpec(name="target-rows", kind="target", executable=str(self.target)),
            ConnectorSpec(name="mapper-copy", kind="mapper", executable=str(self.mapper)),
        ]


class _Started:
    """Wraps the kernel's SingerEngine: the jobs it was given and the runs it started."""

    def __init__(self, kernel: FlextKernel, monkeypatch: pytest.MonkeyPatch) -> None:
        self.engine = kernel.container.resolve(SingerEngine)
        self.jobs: list[SingerJob] = []
        self.runs: list[SingerRun] = []
        start = self.engine.start

        def recording(job: SingerJob, **options: Any) -> Any:
            self.jobs.append(job)
            started = start(job, **options)
            if started.is_success:
                self.runs.append(started.value)
            return started

        monkeypatch.setattr(self.engine, "start", recording)


@pytest.fixture
def kernel(flext_home: Path, flext_kernel_factory, tmp_path: Path) -> FlextKernel:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    return flext_kernel_factory("flext_plugin_singer.plugin", _Connectors(bin_dir))


def _definition(
    tmp_path: Path, records: int, *, delay: float = 0, mapper: bool = False
) -> PipelineDefinition:
    text = (
        "name: numbers\n"
        f"extract:\n  name: tap-counting\n  config: {{records: {records}, delay: {delay}, state_every: 50}}\n"
        "load:\n  name: target-rows\n  config: {path: rows.json}\n"
    ) + ("mappers:\n  - name: mapper-copy\n" if mapper else "")
    definition = parse_definition(text, "pipeline.yaml").unwrap()
    return definition.model_copy(update={"base_dir": str(tmp_path)})


def _group_gone(group: int | None) -> bool:
    assert group is not None
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def test_an_exception_in_on_progress_stops_the_run_it_leaves(
    kernel: FlextKernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _Started(kernel, monkeypatch)

    def broken_display(progress: Progress) -> None:
        if progress.records:
            raise RuntimeError("the display broke")

    with pytest.raises(RuntimeError, match="the display broke"):
        run_pipeline(
            kernel,
            _definition(tmp_path, 10_000, delay=0.01),  # minutes, if nothing stops it
            InMemoryEventStore(),
            RunOptions(retry=False),
            threading.Event(),
            on_progress=broken_display,
        )
    (run,) = started.runs
    result = run.wait(30)
    assert result is not None, "the run went on after the runner left"
    assert result.outcome == "stopped"
    assert _group_gone(run.process_group)


def test_each_connector_is_looked_up_once_and_the_run_starts_what_was_checked(
    kernel: FlextKernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flext_plugin_singer import installed

    scans: list[int] = []
    scan = installed._from_plugins

    def counting(kernel: FlextKernel) -> Any:
        scans.append(1)
        return scan(kernel)

    monkeypatch.setattr(installed, "_from_plugins", counting)
    started = _Started(kernel, monkeypatch)
    definition = _definition(tmp_path, 30, mapper=True)
    record = run_pipeline(
        kernel, definition, InMemoryEventStore(), RunOptions(retry=False), threading.Event()
    )
    assert record.unwrap().status == "completed"
    assert record.unwrap().records == {"numbers": 30}
    assert len(scans) == 1  # check_steps' one listing; start ran the specs it was handed

    checked = check_steps(kernel, definition).unwrap()
    (job,) = started.jobs
    assert (job.tap.spec, job.target.spec) == (checked.tap, checked.target)
    assert tuple(mapper.spec for mapper in job.mappers) == checked.mappers
    assert checked.mappers[0].name == "mapper-copy"


def test_a_missing_step_still_fails_before_anything_runs(
    kernel: FlextKernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _Started(kernel, monkeypatch)
    definition = _definition(tmp_path, 5)
    definition = definition.model_copy(
        update={"load": definition.load.model_copy(update={"name": "target-ghost"})}
    )
    store = InMemoryEventStore()
    failed = run_pipeline(kernel, definition, store, RunOptions(retry=False), threading.Event())
    assert failed.error_code == "NOT_FOUND"
    assert "target 'target-ghost' is not installed" in (failed.error or "")
    assert started.jobs == []
    assert list(store.data.rows) == []  # nothing recorded: the run never began
