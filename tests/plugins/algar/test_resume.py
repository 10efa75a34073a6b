"""``kill -9`` (and Ctrl-C) at several points of a real ``flext algar migration run``, then run again.

Each run is the real ``flext`` executable on a generated 20,000-entry export,
its events in a SQLite store file this test reads too. The moment to kill is
picked by polling the output directory or the journal (never by sleeping);
after the last run the outputs must be byte for byte those of an
uninterrupted run, and the run must say where it resumed.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flext_plugin_algar.events import PhaseCompleted, RunFailed, RunStarted
from flext_plugin_algar.journal import Journal, is_locked, project_id
from flext_plugin_algar.phases import PHASES
from flext_plugin_algar.sample import write_export

from flext_eventsourcing import EventStores
from flext_sdk import FlextEventStore
from flext_sdk.testing import CliResult, FlextCliRunner, FlextKernelFactory

ENTRIES = 20_000
pytestmark = pytest.mark.slow


def _digests(out: Path) -> dict[str, str]:
    """Every output but the reports (which hold times): LDIF, items, password resets."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.iterdir())
        if path.is_file() and path.suffix in (".ldif", ".jsonl", ".txt")
    }


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "oid-export.ldif"
    write_export(path, entries=ENTRIES, seed=7)
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, export: Path) -> dict[str, str]:
    """The outputs of a run nobody stopped."""
    directory = tmp_path_factory.mktemp("uninterrupted")
    flext_cli = FlextCliRunner(directory / "home", timeout=600)
    project = _project(flext_cli, directory / "migration", export)
    done = flext_cli("algar", "migration", "run", "--project", str(project))
    assert done.exit_code == 0, done
    return _digests(project / "out")


def _project(flext_cli: FlextCliRunner, directory: Path, export: Path) -> Path:
    assert flext_cli("algar", "init", str(directory)).exit_code == 0
    os.link(export, directory / "oid-export.ldif")
    return directory


@dataclass
class Scene:
    """A project, the store its runs write, and how to start them."""

    flext_cli: FlextCliRunner
    project: Path
    database: Path
    store: FlextEventStore

    @property
    def out(self) -> Path:
        return self.project / "out"

    @property
    def env(self) -> dict[str, str]:
        return {"FLEXT_EVENTSTORE_URL": str(self.database)}

    def start(self, *args: str) -> subprocess.Popen[str]:
        log = self.project.parent / f"run-{time.monotonic_ns()}"
        with log.with_suffix(".out").open("w") as out, log.with_suffix(".err").open("w") as err:
            return subprocess.Popen(
                [*self.flext_cli.command, *args, "algar", "migration", "run", "--project", str(self.project)],
                env=self.flext_cli.environment(self.env),
                stdout=out,
                stderr=err,
                text=True,
            )

    def run(self, *args: str) -> CliResult:
        """A run to its end."""
        done = self.flext_cli(
            *args, "algar", "migration", "run", "--project", str(self.project), env=self.env
        )
        assert done.exit_code == 0, done
        return done

    def events(self) -> list[object]:
        identity = project_id(self.out, create=False)
        if identity is None:
            return []
        return [item.event for item in Journal(self.store, identity, self.project).events().unwrap()]

    def completed(self, run_id: str) -> list[str]:
        """The phases ``run_id`` finished, as its journal says."""
        return [e.phase for e in self.events() if isinstance(e, PhaseCompleted) and e.run_id == run_id]

    def last_run(self) -> str:
        return [e for e in self.events() if isinstance(e, RunStarted)][-1].run_id


@pytest.fixture
def scene(
    flext_cli: FlextCliRunner, flext_kernel_factory: FlextKernelFactory, tmp_path: Path, export: Path
) -> Iterator[Scene]:
    kernel = flext_kernel_factory("flext_eventsourcing.plugin", "flext_plugin_eventstore_sqlite.plugin")
    database = tmp_path / "events.db"
    store = kernel.container.resolve(EventStores).open_event_store(str(database)).unwrap()
    try:
        yield Scene(flext_cli, _project(flext_cli, tmp_path / "migration", export), database, store)
    finally:
        store.close()


def _until(process: subprocess.Popen[str], what: str, ready: Callable[[], bool]) -> None:
    """Poll until ``ready``; the run ending first fails the test (the moment was missed)."""
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {what}")
        time.sleep(0.005)


def _kill(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGKILL) -> int:
    process.send_signal(sig)
    return process.wait()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _resume_point(completed: list[str]) -> str:
    done = [phase for phase in PHASES if phase in completed]
    assert done == list(PHASES[: len(done)])
    return (
        "no phase was done"
        if not done
        else f"phase {done[0]} done"
        if len(done) == 1
        else f"phases {done[0]}..{done[-1]} done"
    ) + f", starting at {PHASES[len(done)]}"


def test_killed_during_validate_then_interrupted_after_it(
    scene: Scene, uninterrupted: dict[str, str]
) -> None:
    first = scene.start()
    partial = scene.out / "01-validate.ldif.partial"
    _until(first, "validate wrote 2 MB", lambda: _size(partial) > 2_000_000)
    assert _kill(first) == -signal.SIGKILL
    killed = scene.last_run()
    assert scene.completed(killed) == []
    assert not is_locked(scene.out)
    status = scene.flext_cli(
        "--output", "json", "algar", "migration", "status", "--project", str(scene.project), env=scene.env
    )
    states = {row["phase"]: row["state"] for row in status.json()["data"]}
    assert states == {"validate": "killed", **dict.fromkeys(PHASES[1:], "pending")}

    second = scene.start()
    _until(second, "the second run finished validate", lambda: bool(scene.completed(scene.last_run())[:1]))
    assert _kill(second, signal.SIGINT) == 130  # Ctrl-C: the run records it and exits 130
    interrupted = scene.last_run()
    assert interrupted != killed
    failed = [e for e in scene.events() if isinstance(e, RunFailed) and e.run_id == interrupted]
    assert [(e.code, e.message) for e in failed] == [("INTERRUPTED", "interrupted")]

    said = scene.run()
    point = _resume_point(scene.completed(interrupted))
    assert f"resuming run {interrupted} (interrupted): {point}" in said.stderr
    assert _digests(scene.out) == uninterrupted
    assert not list(scene.out.glob("*.partial"))
    [started] = [e for e in scene.events() if isinstance(e, RunStarted) and e.resumed_from == interrupted]
    assert started.kept == tuple(scene.completed(interrupted))


def test_killed_between_phases_then_during_the_chain(scene: Scene, uninterrupted: dict[str, str]) -> None:
    first = scene.start()
    _until(
        first,
        "validate was recorded done",
        lambda: bool(scene.events()) and bool(scene.completed(scene.last_run())),
    )
    assert _kill(first) == -signal.SIGKILL  # at once: hierarchy has begun, or is about to
    killed = scene.last_run()
    assert scene.completed(killed)[:1] == ["validate"]

    second = scene.start()
    schema = scene.out / "03-schema.ldif.partial"

    def in_the_chain() -> bool:
        run = scene.last_run()
        return run != killed and "hierarchy" in scene.completed(run) and _size(schema) > 1_000_000

    _until(second, "the chain wrote 1 MB of schema", in_the_chain)
    assert _kill(second) == -signal.SIGKILL
    resumed_then_killed = scene.last_run()
    errs = sorted(scene.project.parent.glob("run-*.err"))  # the second run's is the last
    assert f"resuming run {killed} (killed): {_resume_point(scene.completed(killed))}" in errs[-1].read_text()
    assert scene.completed(resumed_then_killed)[-1] == "hierarchy"
    assert (scene.out / "01-validate.ldif").exists()

    said = scene.run()
    point = "phases validate..hierarchy done, starting at schema"
    assert f"resuming run {resumed_then_killed} (killed): {point}" in said.stderr
    assert f"(resumed run {resumed_then_killed} at schema)" in said.stdout
    assert [line.split()[:2] for line in said.stdout.splitlines()[3:5]] == [
        ["validate", "kept"],
        ["hierarchy", "kept"],
    ]
    assert _digests(scene.out) == uninterrupted
    assert not list(scene.out.glob("*.partial"))
    last = scene.last_run()
    logs = scene.flext_cli(
        "--output", "json", "algar", "logs", "--project", str(scene.project), env=scene.env
    )
    assert logs.exit_code == 0, logs
    kept = [(line["phase"], line["message"]) for line in logs.json()["data"] if line["code"] == "PhaseKept"]
    # validate was finished by the first run, hierarchy by the second: both kept through the chain of resumes
    assert [phase for phase, _ in kept] == ["validate", "hierarchy"]
    assert kept[0][1].startswith(f"kept from run {killed}:")
    assert kept[1][1].startswith(f"kept from run {resumed_then_killed}:")
    assert all(line["run_id"] == last for line in logs.json()["data"])
