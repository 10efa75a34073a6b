"""The singer plugin's ``SingerEngine`` service and the ``flext_singer_connectors`` hook, in a kernel.

Connectors here come from a test plugin that answers the hook with the
counting tap and file target of ``singer_programs`` (absolute executables),
so a run goes through exactly the path a pipeline takes: the container, the
hook, the engine. Their names are their own (not tap-numbers), so tool
environments the pipeline tests installed do not stand in for them.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from flext_sdk import FlextKernel, PluginManifest, hookimpl
from flext_sdk.contracts import hint_of, require_service
from flext_sdk.contracts.singer import ConnectorSpec, ConnectorStep, SingerEngine, SingerJob, SingerRun


class _Connectors:
    """A plugin that ships two Singer programs (as a connector plugin's plugin.py does)."""

    manifest = PluginManifest(name="numbers", version="2.5.0")

    def __init__(self, tap: Path, target: Path) -> None:
        self.tap, self.target = tap, target

    @hookimpl(optionalhook=True)
    def flext_singer_connectors(self) -> list[ConnectorSpec]:
        return [
            ConnectorSpec(name="tap-counting", kind="tap", executable=str(self.tap), capabilities=("state",)),
            ConnectorSpec(name="target-rows", kind="target", executable=str(self.target)),
            ConnectorSpec(name="tap-gone", kind="tap", executable="/nonexistent/tap-gone"),
        ]


@pytest.fixture
def kernel(flext_kernel_factory, counting_tap: Path, file_target: Path) -> FlextKernel:
    return flext_kernel_factory("flext_plugin_singer.plugin", _Connectors(counting_tap, file_target))


def _engine(kernel: FlextKernel) -> SingerEngine:
    return require_service(kernel, SingerEngine, why="the test runs Singer").unwrap()


def test_the_engine_is_a_container_service_owned_by_singer(kernel: FlextKernel) -> None:
    engine = _engine(kernel)
    assert isinstance(engine, SingerEngine)
    assert engine is kernel.container.resolve(SingerEngine)  # one per kernel
    kernel.remove_contributions("singer")
    gone = require_service(kernel, SingerEngine, why="a pipeline runs Singer connectors")
    assert gone.error_code == "NO_HANDLER"
    assert "plugin 'singer' is active but provides no SingerEngine" in (gone.error or "")


def test_plugins_contribute_connectors_completed_from_their_record(kernel: FlextKernel, counting_tap) -> None:
    taps = {spec.name: spec for spec in _engine(kernel).connectors("tap")}
    assert "tap-gone" not in taps  # its executable does not exist: not installed
    tap = taps["tap-counting"]
    assert (tap.source, tap.plugin, tap.version) == ("plugin", "numbers", "2.5.0")
    assert tap.location == str(counting_tap)
    assert "target-rows" in {spec.name for spec in _engine(kernel).connectors("target")}
    assert _engine(kernel).resolve("tap-counting", "tap").unwrap() == tap


def test_resolving_what_nobody_provides_says_how_to_install_it(kernel: FlextKernel) -> None:
    missing = _engine(kernel).resolve("tap-ghost", "tap")
    assert missing.error_code == "NOT_FOUND"
    assert "run 'flext data taps add tap-ghost --pip-url SPEC'" in (missing.error or "")
    assert _engine(kernel).resolve("target-rows", "tap").error_code == "NOT_FOUND"  # wrong kind
    # tap-ldif comes with the ldif plugin, which this kernel does not have: it is not on PyPI, so
    # the hint installs the plugin from this checkout rather than 'flext data taps add tap-ldif'.
    ldif = _engine(kernel).resolve("tap-ldif", "tap")
    assert (ldif.error_code, ldif.error) == (
        "NOT_FOUND",
        "tap 'tap-ldif' comes with a plugin, but plugin 'ldif' is not installed",
    )
    plugin_dir = Path(__file__).resolve().parents[3] / "plugins" / "ldif"
    assert ldif.error_data["hint"] == f"install it with 'flext plugin install {plugin_dir}'"


def test_a_connector_whose_plugin_is_disabled_fails_with_plugin_disabled(flext_home) -> None:
    from flext_kernel.plugins.discovery import Candidate

    candidates = [
        Candidate(name="singer", target="flext_plugin_singer.plugin", source="builtin"),
        Candidate(name="ldif", target="flext_plugin_ldif.plugin", source="builtin"),
    ]
    with FlextKernel.boot(candidates=candidates, disabled={"ldif"}).unwrap() as kernel:
        engine = _engine(kernel)
        assert "tap-ldif" not in {spec.name for spec in engine.connectors()}
        failed = engine.resolve("tap-ldif", "tap")
        assert failed.error_code == "PLUGIN_DISABLED"
        assert hint_of(failed) == "enable it with 'flext plugin enable ldif'"
    with FlextKernel.boot(candidates=candidates).unwrap() as kernel:
        assert _engine(kernel).resolve("tap-ldif", "tap").unwrap().plugin == "ldif"


def test_a_connector_plugin_loads_without_singer(flext_kernel_factory) -> None:
    # The hook is optional: with singer absent, ldif and sqlite still load (their commands work).
    kernel = flext_kernel_factory("flext_plugin_ldif.plugin", "flext_plugin_sqlite.plugin")
    assert {record.state.value for record in kernel.plugins.records.values()} == {"active"}
    assert kernel.container.get(SingerEngine).is_failure


def _job(tmp_path: Path, records: int, **tap: Any) -> SingerJob:
    return SingerJob(
        tap=ConnectorStep(name="tap-counting", config={"records": records, "state_every": 100, **tap}),
        target=ConnectorStep(name="target-rows", config={"path": str(tmp_path / "rows.json")}),
        cwd=tmp_path,
    )


def test_a_run_started_through_the_service_reports_counts_states_and_its_result(
    kernel: FlextKernel, tmp_path: Path
) -> None:
    states: list[dict[str, Any]] = []
    lines: list[tuple[str, str]] = []
    started = _engine(kernel).start(
        _job(tmp_path, 500, password="hunter22"),
        on_state=states.append,
        log=lambda name, line: lines.append((name, line)),
        redact=lambda line: line.replace("hunter22", "***"),
    )
    run = started.unwrap()
    assert isinstance(run, SingerRun)
    result = run.wait(30)
    assert result is not None
    assert (result.outcome, result.records, result.error) == ("completed", {"numbers": 500}, None)
    assert result.last_state == states[-1] == {"bookmarks": {"numbers": {"last": 500}}}
    assert len(states) == 6  # every 100, then the final one
    assert run.records == {"numbers": 500}
    assert isinstance(run.process_group, int)
    assert ("tap-counting", "tap starting at 0 with password ***") in lines
    assert json.loads((tmp_path / "rows.json").read_text()) == list(range(1, 501))


def test_a_run_resumes_from_a_state_and_stops_gracefully(kernel: FlextKernel, tmp_path: Path) -> None:
    job = _job(tmp_path, 200).model_copy(update={"state": {"bookmarks": {"numbers": {"last": 150}}}})
    resumed = _engine(kernel).start(job).unwrap().wait(30)
    assert resumed is not None
    assert resumed.records == {"numbers": 50}

    stop = threading.Event()
    run = _engine(kernel).start(_job(tmp_path, 10_000, delay=0.01), stop=stop).unwrap()
    assert run.wait(0.3) is None  # still going
    stop.set()
    stopped = run.wait(30)
    assert stopped is not None
    assert stopped.outcome == "stopped"


def test_a_job_that_cannot_start_is_a_failed_result_not_a_run(kernel: FlextKernel, tmp_path: Path) -> None:
    job = _job(tmp_path, 1).model_copy(update={"target": ConnectorStep(name="target-ghost")})
    failed = _engine(kernel).start(job)
    assert failed.error_code == "NOT_FOUND"
    assert "target 'target-ghost' is not installed" in (failed.error or "")


# Stopping: a run can be stopped, and none outlives the plugin or the kernel.


def _group_gone(group: int | None) -> bool:
    """True if no process of ``group`` is alive.

    Read from /proc rather than asked with ``killpg(group, 0)``: a connector's
    own child, orphaned and killed, stays a zombie member of the group until
    PID 1 reaps it, and not every container's PID 1 does so promptly.
    """
    assert group is not None
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        return False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone while we looked
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            return False
    return True


def _going(kernel: FlextKernel, tmp_path: Path, **job: Any) -> SingerRun:
    """A run that would take minutes (10,000 records, 10 ms each), once its processes are up."""
    run = _engine(kernel).start(_job(tmp_path, 10_000, delay=0.01).model_copy(update=job)).unwrap()
    deadline = time.monotonic() + 30
    while (run.process_group is None or not run.records) and time.monotonic() < deadline:
        assert run.wait(0.05) is None
    return run


def test_a_run_started_without_a_stop_event_stops_through_its_stop_method(
    kernel: FlextKernel, tmp_path: Path
) -> None:
    run = _going(kernel, tmp_path)
    run.stop()
    result = run.wait(30)
    assert result is not None
    assert result.outcome == "stopped"
    assert 0 < result.records["numbers"] < 10_000
    assert _group_gone(run.process_group)


def test_closing_the_kernel_during_a_run_stops_it_and_leaves_no_process(
    kernel: FlextKernel, tmp_path: Path
) -> None:
    engine = _engine(kernel)
    run = _going(kernel, tmp_path)
    kernel.close()  # the container closes the service it built, which ends its runs before returning
    result = run.wait(0)
    assert result is not None
    assert result.outcome == "stopped"
    assert _group_gone(run.process_group)
    late = engine.start(_job(tmp_path, 1))  # a reference kept past the close starts nothing
    assert late.error_code == "NO_HANDLER"
    assert "closed" in (late.error or "")


def test_removing_the_singer_plugin_stops_its_runs(kernel: FlextKernel, tmp_path: Path) -> None:
    run = _going(kernel, tmp_path)
    kernel.remove_contributions("singer")  # what unloading, reloading or disabling singer does
    result = run.wait(0)
    assert result is not None
    assert result.outcome == "stopped"
    assert _group_gone(run.process_group)


# A tap that ignores SIGTERM and leaves a child holding its stdout: the engine kills the tap after the
# stop timeout, but the child keeps the pipe open, so only killing the whole process group ends the run.
_STUBBORN_TAP = r"""
import json, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
sys.stdout.write(json.dumps({"type": "SCHEMA", "stream": "numbers", "key_properties": ["n"],
                             "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}) + "\n")
sys.stdout.write('{"type":"RECORD","stream":"numbers","record":{"n":1}}\n')
sys.stdout.flush()
time.sleep(120)
"""


class _Stubborn:
    manifest = PluginManifest(name="stubborn", version="1.0.0")

    def __init__(self, tap: Path) -> None:
        self.tap = tap

    @hookimpl(optionalhook=True)
    def flext_singer_connectors(self) -> list[ConnectorSpec]:
        return [ConnectorSpec(name="tap-stubborn", kind="tap", executable=str(self.tap))]


def test_close_kills_the_process_group_of_a_run_the_engine_cannot_end(
    flext_kernel_factory, counting_tap: Path, file_target: Path, tmp_path: Path
) -> None:
    tap = tmp_path / "tap-stubborn"
    tap.write_text(f"#!{sys.executable}\n{_STUBBORN_TAP}")
    tap.chmod(0o755)
    kernel = flext_kernel_factory(
        "flext_plugin_singer.plugin", _Connectors(counting_tap, file_target), _Stubborn(tap)
    )
    job = _job(tmp_path, 1).model_copy(
        update={"tap": ConnectorStep(name="tap-stubborn"), "stop_timeout": 0.5}
    )
    run = _engine(kernel).start(job).unwrap()
    deadline = time.monotonic() + 30
    while not run.records and time.monotonic() < deadline:
        assert run.wait(0.05) is None
    began = time.monotonic()
    kernel.close()
    assert time.monotonic() - began < 10  # stop timeout, a moment for the engine, then the group's kill
    result = run.wait(0)
    assert result is not None
    assert _group_gone(run.process_group)


# Resolving once: a step may carry the connector its caller resolved.


def test_a_step_carrying_its_spec_runs_that_connector_without_resolving_again(
    kernel: FlextKernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(kernel)
    tap, target = (
        engine.resolve("tap-counting", "tap").unwrap(),
        engine.resolve("target-rows", "target").unwrap(),
    )
    job = _job(tmp_path, 20)
    job = job.model_copy(
        update={
            "tap": job.tap.model_copy(update={"spec": tap}),
            "target": job.target.model_copy(update={"spec": target}),
        }
    )

    def no_resolving(name: str, kind: str) -> Any:
        raise AssertionError(f"{kind} {name} resolved again")

    monkeypatch.setattr(engine, "resolve", no_resolving)
    result = engine.start(job).unwrap().wait(30)
    assert result is not None
    assert (result.outcome, result.records) == ("completed", {"numbers": 20})

    wrong = job.model_copy(update={"target": job.target.model_copy(update={"spec": tap})})
    refused = engine.start(wrong)
    assert refused.error_code == "VALIDATION_ERROR"
    assert "target step 'target-rows' carries a spec that is not an installed target" in (refused.error or "")


# A failure to start leaves nothing behind.


@pytest.mark.parametrize("broken", ["engine", "thread"])
def test_a_run_that_fails_to_start_removes_its_private_directory(
    kernel: FlextKernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    from flext_plugin_singer import service

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("can't start new thread")

    engine = _engine(kernel)
    target, name = (service, "Engine") if broken == "engine" else (threading.Thread, "start")
    with monkeypatch.context() as patched:
        patched.setattr(target, name, refuse)
        with pytest.raises(RuntimeError, match="can't start new thread") as raised:
            engine.start(_job(tmp_path, 1))
    assert raised.value is not None  # the traceback (and its frames) is still alive: no GC clean-up
    assert list(temp.iterdir()) == []
    assert engine._runs == set()  # type: ignore[attr-defined]  # nothing left for close() to wait on


# A connector a plugin offers but that cannot run: the error names the plugin and what is wrong.


class _Broken:
    manifest = PluginManifest(name="brokenconn", version="0.3.0")

    @hookimpl(optionalhook=True)
    def flext_singer_connectors(self) -> list[Any]:
        return [
            ConnectorSpec(name="tap-nobin", kind="tap", executable="tap-nobin-not-installed"),
            {"name": "target-typo", "kind": "target", "executable": "x", "capabilitys": ["state"]},
        ]


def test_a_connector_a_plugin_offers_but_cannot_run_names_the_plugin_and_the_problem(
    flext_kernel_factory,
) -> None:
    kernel = flext_kernel_factory("flext_plugin_singer.plugin", _Broken())
    engine = _engine(kernel)
    offered = {spec.name for spec in engine.connectors()}
    assert not offered & {"tap-nobin", "target-typo"}  # neither is installed as far as a pipeline goes
    missing = engine.resolve("tap-nobin", "tap")
    assert missing.error_code == "NOT_FOUND"
    assert missing.error == (
        "tap 'tap-nobin' comes with plugin 'brokenconn', but its executable is missing "
        f"({Path(sys.executable).parent / 'tap-nobin-not-installed'})"
    )
    assert "flext data taps add" not in (missing.error or "")
    assert hint_of(missing) == "reinstall plugin 'brokenconn': it should install 'tap-nobin-not-installed'"
    assert missing.error_data["plugin"] == "brokenconn"
    invalid = engine.resolve("target-typo", "target")
    assert invalid.error_code == "VALIDATION_ERROR"
    assert invalid.error == (
        "target 'target-typo' comes with plugin 'brokenconn', but the plugin declares it wrongly: "
        "capabilitys: Extra inputs are not permitted"
    )
    assert "flext data targets add" not in (invalid.error or "")
    assert engine.resolve("tap-nobin", "target").error_code == "NOT_FOUND"  # another kind: not this one
    assert "flext data targets add tap-nobin" in (engine.resolve("tap-nobin", "target").error or "")
