"""The singer plugin's ``SingerEngine`` service and the ``flext_singer_connectors`` hook, in a kernel.

Connectors here come from a test plugin that answers the hook with the
counting tap and file target of ``singer_programs`` (absolute executables),
so a run goes through exactly the path a pipeline takes: the container, the
hook, the engine. Their names are their own (not tap-numbers), so tool
environments the pipeline tests installed do not stand in for them.
"""

from __future__ import annotations

import json
import threading
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
    # tap-ldif is in the catalog and comes with the ldif plugin, which this kernel does not have.
    assert "run 'flext data taps add tap-ldif'" in (_engine(kernel).resolve("tap-ldif", "tap").error or "")


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
