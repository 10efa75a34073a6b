"""A pipeline run under one correlation id: its events, its log, and every step's process environment.

Each connector here is a test program that first prints the ``FLEXT_CORRELATION_ID`` it
was given to stderr (which the run log records under the process's name). The in-process
tests call the runner as the scheduler or a long-running service would; the last test
drives the real ``flext`` with ``FLEXT_CORRELATION_ID`` set, as a caller that already has
an id (a request, a CI job) does.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_pipeline.definition import PipelineDefinition, parse_definition
from flext_plugin_pipeline.runner import RunOptions, run_pipeline
from flext_plugin_pipeline.runtime import log_path

from flext_eventsourcing.memory_store import InMemoryEventStore
from flext_kernel.correlation import correlation_scope, current_correlation_id, is_valid_correlation_id
from flext_sdk import FlextKernel, PluginManifest, hookimpl
from flext_sdk.contracts.singer import ConnectorKind, ConnectorSpec
from flext_sdk.testing import FlextCliRunner

_SAYS = (
    "import os, sys\n"
    'print("sees correlation", os.environ.get("FLEXT_CORRELATION_ID"), file=sys.stderr, flush=True)\n'
)
"""What each test connector does first: print the id its environment holds (``None`` when none)."""
_MAPPER = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line)\n    sys.stdout.flush()\n"


def _programs() -> Any:
    path = Path(__file__).parents[1] / "singer" / "singer_programs.py"
    spec = importlib.util.spec_from_file_location("singer_programs", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{_SAYS}{body}")
    path.chmod(0o755)
    return path


def _write_connectors(folder: Path) -> dict[str, Path]:
    """The tap, mapper and target, each saying which correlation id it was given."""
    programs = _programs()
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "tap-said": _script(folder, "tap-said", programs.TAP),
        "mapper-said": _script(folder, "mapper-said", _MAPPER),
        "target-said": _script(folder, "target-said", programs.TARGET),
    }


class _Connectors:
    manifest = PluginManifest(name="saying", version="1.0.0")

    def __init__(self, folder: Path) -> None:
        self.paths = _write_connectors(folder)

    @hookimpl(optionalhook=True)
    def flext_singer_connectors(self) -> list[ConnectorSpec]:
        kinds: dict[str, ConnectorKind] = {
            "tap-said": "tap",
            "mapper-said": "mapper",
            "target-said": "target",
        }
        return [
            ConnectorSpec(name=name, kind=kinds[name], executable=str(path))
            for name, path in self.paths.items()
        ]


_DEFINITION = """\
name: said
extract:
  name: tap-said
  config: {records: 12, state_every: 5}
mappers:
  - name: mapper-said
load:
  name: target-said
  config: {path: rows.json}
"""


@pytest.fixture
def kernel(flext_home: Path, flext_kernel_factory: Any, tmp_path: Path) -> FlextKernel:
    kernel: FlextKernel = flext_kernel_factory("flext_plugin_singer.plugin", _Connectors(tmp_path / "bin"))
    return kernel


def _definition(tmp_path: Path) -> PipelineDefinition:
    definition = parse_definition(_DEFINITION, "pipeline.yaml").unwrap()
    return definition.model_copy(update={"base_dir": str(tmp_path)})


def _run(kernel: FlextKernel, tmp_path: Path, store: InMemoryEventStore) -> str:
    """Run the pipeline once (it must complete); return its run id."""
    ran = run_pipeline(kernel, _definition(tmp_path), store, RunOptions(retry=False), threading.Event())
    assert ran.is_success, ran
    assert ran.value.status == "completed", ran.value
    return ran.value.run_id


def _run_events(store: InMemoryEventStore, run_id: str) -> list[Any]:
    events = [recorded.event for recorded in store.read_stream("pipeline-said").unwrap()]
    return [event for event in events if getattr(event, "run_id", None) == run_id]


def test_a_run_under_a_scope_carries_its_id_in_events_log_and_every_step(
    kernel: FlextKernel, tmp_path: Path
) -> None:
    store = InMemoryEventStore()
    with correlation_scope("req-42.pipeline"):
        run_id = _run(kernel, tmp_path, store)

    events = _run_events(store, run_id)
    assert type(events[0]).__name__ == "PipelineRunStarted"
    assert type(events[-1]).__name__ == "PipelineRunCompleted"
    assert {event.correlation_id for event in events} == {"req-42.pipeline"}  # the run id stays in run_id
    lines = log_path("said", run_id).read_text().splitlines()
    assert lines[0].endswith(f"run {run_id} attempt 1 of pipeline said, correlation id req-42.pipeline")
    assert {line.split(" ", 2)[1] for line in lines} == {"req-42.pipeline"}  # on every line, after the time
    for process in ("tap-said", "mapper-said", "target-said"):
        assert any(line.endswith(f"[{process}] sees correlation req-42.pipeline") for line in lines), (
            process,
            lines,
        )
    assert current_correlation_id() is None  # the scope is closed again


def test_a_run_outside_any_scope_makes_one_id_for_all_of_it(kernel: FlextKernel, tmp_path: Path) -> None:
    store = InMemoryEventStore()
    first, second = _run(kernel, tmp_path, store), _run(kernel, tmp_path, store)

    ids = []
    for run_id in (first, second):
        correlation = {event.correlation_id for event in _run_events(store, run_id)}
        assert len(correlation) == 1, correlation
        (found,) = correlation
        assert is_valid_correlation_id(found)
        text = log_path("said", run_id).read_text()
        assert f"[tap-said] sees correlation {found}" in text
        assert f"[target-said] sees correlation {found}" in text
        ids.append(found)
    assert ids[0] != ids[1], "two actions, two ids"
    assert current_correlation_id() is None


@pytest.mark.slow
def test_the_id_given_to_flext_reaches_the_runs_events_and_its_processes(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    paths = _write_connectors(tmp_path / "bin")
    (plugins / "saying.py").write_text(
        textwrap.dedent(
            f"""
            from flext_sdk import PluginManifest, hookimpl
            from flext_sdk.contracts.singer import ConnectorSpec

            manifest = PluginManifest(name="saying", version="1.0.0")
            PATHS = {{name: path for name, path in {[(name, str(path)) for name, path in paths.items()]!r}}}
            KINDS = {{"tap-said": "tap", "mapper-said": "mapper", "target-said": "target"}}

            @hookimpl(optionalhook=True)
            def flext_singer_connectors():
                return [ConnectorSpec(name=n, kind=KINDS[n], executable=p) for n, p in PATHS.items()]
            """
        )
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.yaml").write_text(_DEFINITION)

    def flext(*args: str, **env: str) -> Any:
        return flext_cli(*args, plugin_dirs=[plugins], env=env)

    created = flext("data", "pipeline", "create", str(project / "pipeline.yaml"), "--replace")
    assert created.exit_code == 0, created.stderr
    ran = flext("--output", "json", "pipeline", "run", "said", FLEXT_CORRELATION_ID="ci-job-7:step-2")
    assert ran.exit_code == 0, ran.stderr
    run_id = ran.json()["data"]["run_id"]

    log = flext("pipeline", "logs", "said")
    assert log.exit_code == 0, log.stderr
    for process in ("tap-said", "mapper-said", "target-said"):
        assert f"[{process}] sees correlation ci-job-7:step-2" in log.stdout, log.stdout
    exported = tmp_path / "events.jsonl"  # the export holds each event as stored, envelope included
    assert flext("events", "export", "--to", str(exported)).exit_code == 0
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    of_run = [line for line in lines if line["data"].get("run_id") == run_id]
    assert of_run[0]["event_type"] == "pipeline.RunStarted"
    assert {line["data"]["correlation_id"] for line in of_run} == {"ci-job-7:step-2"}

    # No id given (nor a valid one): flext makes one, and the processes see that one.
    again = flext("--output", "json", "pipeline", "run", "said", FLEXT_CORRELATION_ID="not valid\n")
    assert again.exit_code == 0, again.stderr
    second = again.json()["data"]["run_id"]
    assert flext("events", "export", "--to", str(tmp_path / "again.jsonl")).exit_code == 0
    lines = [json.loads(line) for line in (tmp_path / "again.jsonl").read_text().splitlines()]
    (made,) = {line["data"]["correlation_id"] for line in lines if line["data"].get("run_id") == second}
    assert is_valid_correlation_id(made)
    assert made != "ci-job-7:step-2"
    log = flext("pipeline", "logs", "said", "--run", second)
    assert f"[tap-said] sees correlation {made}" in log.stdout, log.stdout


@pytest.mark.slow
def test_a_background_run_carries_the_id_of_the_start_command(
    flext_cli: FlextCliRunner, flext_home: Path, tmp_path: Path
) -> None:
    plugins = flext_home / "plugins"  # the user's plugins: the background job finds them too
    plugins.mkdir(parents=True, exist_ok=True)
    paths = _write_connectors(tmp_path / "bin")
    (plugins / "saying.py").write_text(
        textwrap.dedent(
            f"""
            from flext_sdk import PluginManifest, hookimpl
            from flext_sdk.contracts.singer import ConnectorSpec

            manifest = PluginManifest(name="saying", version="1.0.0")
            PATHS = {{name: path for name, path in {[(name, str(path)) for name, path in paths.items()]!r}}}
            KINDS = {{"tap-said": "tap", "mapper-said": "mapper", "target-said": "target"}}

            @hookimpl(optionalhook=True)
            def flext_singer_connectors():
                return [ConnectorSpec(name=n, kind=KINDS[n], executable=p) for n, p in PATHS.items()]
            """
        )
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.yaml").write_text(_DEFINITION)

    def flext(*args: str, **env: str) -> Any:
        return flext_cli(*args, env=env)

    assert flext("data", "pipeline", "create", str(project / "pipeline.yaml"), "--replace").exit_code == 0
    started = flext("pipeline", "start", "said", FLEXT_CORRELATION_ID="ci-start-3")
    assert started.exit_code == 0, started.stderr
    import time

    deadline = time.monotonic() + 120  # a bound on the wait, not an assertion on time
    of_run: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        assert flext("events", "export", "--to", str(tmp_path / "bg.jsonl")).exit_code == 0
        lines = [json.loads(line) for line in (tmp_path / "bg.jsonl").read_text().splitlines()]
        of_run = [line for line in lines if line["data"].get("run_id")]
        if any(line["event_type"] == "pipeline.RunCompleted" for line in of_run):
            break
        time.sleep(0.5)
    assert of_run, "no run recorded"
    assert of_run[-1]["event_type"] == "pipeline.RunCompleted", of_run
    assert {line["data"]["correlation_id"] for line in of_run} == {"ci-start-3"}
    log = flext("pipeline", "logs", "said")
    assert "[target-said] sees correlation ci-start-3" in log.stdout, log.stdout
