"""A migration run recorded as events: what is appended, how the runs fold back, what a new run keeps.

The journal is the real one on real stores (in memory in-process, the SQLite
file the ``flext`` subprocesses write); the phases are the real ones on the
sample export. A killed run is one whose events stop without ``RunCompleted``
or ``RunFailed``: in-process that is a ``JournaledRun`` left part way
(``test_resume`` kills real processes).
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flext_plugin_algar.events import (
    EVENT_CLASSES,
    OWNER,
    PhaseCompleted,
    PhaseStarted,
    RunCompleted,
    RunStarted,
    stream_of,
)
from flext_plugin_algar.journal import (
    Journal,
    JournaledRun,
    RunLock,
    file_marks,
    plan_resume,
    project_id,
    run_inputs,
)
from flext_plugin_algar.phases import PHASES, Migration
from flext_plugin_algar.project import init_project, load_project, load_rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_eventsourcing import EventStores, InMemoryEventStore
from flext_sdk import FlextEventStore
from flext_sdk.contracts.ldif import LdifReader
from flext_sdk.testing import FlextCliRunner, FlextKernelFactory

EXAMPLE = Path(__file__).parents[3] / "plugins/algar/examples/oid-export.ldif"
SECRET = "s3cr3t-never-in-an-event"


def _migration(reader: LdifReader, directory: Path) -> Migration:
    if not (directory / "algar.yaml").exists():
        init_project(directory).unwrap()
        shutil.copy(EXAMPLE, directory / "oid-export.ldif")
    project = load_project(directory).unwrap()
    return Migration.of(project, load_rules(project).unwrap(), reader).unwrap()


def _journal(store: FlextEventStore, migration: Migration) -> Journal:
    migration.out.mkdir(parents=True, exist_ok=True)
    identity = project_id(migration.out, create=True)
    assert identity is not None
    return Journal(store, identity, migration.project.directory)


def _run(journal: Journal, migration: Migration, *, stop_after: str | None = None) -> JournaledRun:
    """A run of every phase; with ``stop_after`` it is left (as a kill leaves it) once that phase is done."""
    history = journal.history(running=False).unwrap()
    with JournaledRun(migration, journal, PHASES) as run:
        run.start(history).unwrap()
        for result in run.phases():
            assert result.unwrap()["phase"]
            if result.value["phase"] == stop_after:
                break
    return run


def test_a_run_is_events_each_caused_by_the_one_before(ldif_reader: LdifReader, tmp_path: Path) -> None:
    migration = _migration(ldif_reader, tmp_path / "migration")
    store = InMemoryEventStore()
    journal = _journal(store, migration)
    run = _run(journal, migration)

    assert journal.stream == stream_of((migration.out / ".algar-project").read_text().strip())
    recorded = journal.events().unwrap()
    events = [item.event for item in recorded]
    kinds = [type(event).__name__ for event in events]
    assert kinds == [
        "RunStarted",
        "PhaseStarted", "PhaseCompleted",  # validate
        "PhaseStarted", "PhaseCompleted",  # hierarchy
        *["PhaseStarted"] * 5, *["PhaseCompleted"] * 5,  # schema..output, chained over one read
        "RunCompleted",
    ]  # fmt: skip
    assert all(event.correlation_id == run.run_id for event in events)
    assert events[0].causation_id is None
    assert [event.causation_id for event in events[1:]] == [str(event.event_id) for event in events[:-1]]
    completed = [event for event in events if isinstance(event, PhaseCompleted)]
    assert [event.phase for event in completed] == list(PHASES)
    for event in completed:
        output = Path(event.output)
        mark = file_marks(migration.out, event.phase)[output.name]
        assert (event.size, event.sha256) == (mark.size, mark.sha256)
        assert output.stat().st_size == event.size
        assert set(event.files) >= {output.name, output.with_suffix(".items.jsonl").name}
    users = next(event for event in completed if event.phase == "users")
    assert "04-users.password-resets.txt" in users.files
    assert completed[0].counts["in"] == 61
    assert isinstance(events[-1], RunCompleted)
    assert events[-1].ran == PHASES
    [view] = journal.history(running=False).unwrap()
    assert (view.status, list(view.completed)) == ("completed", list(PHASES))


def test_a_run_left_part_way_is_killed_or_running_as_the_lock_says(
    ldif_reader: LdifReader, tmp_path: Path
) -> None:
    migration = _migration(ldif_reader, tmp_path / "migration")
    journal = _journal(InMemoryEventStore(), migration)
    _run(journal, migration, stop_after="hierarchy")
    [killed] = journal.history(running=False).unwrap()
    assert killed.status == "killed"
    assert list(killed.completed) == ["validate", "hierarchy"]
    assert killed.started == ["validate", "hierarchy"]  # left before the chain began
    [running] = journal.history(running=True).unwrap()
    assert running.status == "running"


def test_what_a_new_run_keeps_from_a_killed_one(ldif_reader: LdifReader, tmp_path: Path) -> None:
    migration = _migration(ldif_reader, tmp_path / "migration")
    journal = _journal(InMemoryEventStore(), migration)
    _run(journal, migration, stop_after="hierarchy")
    second = _run(journal, migration)  # resumes the first
    assert second.resume is not None
    assert second.resume.describe().endswith(": phases validate..hierarchy done, starting at schema")
    assert second.kept == ("validate", "hierarchy")
    assert second.ran == ["schema", "users", "groups", "acl", "output"]
    third = _run(journal, migration)  # the second completed: nothing to resume
    assert (third.resume, third.note) == (None, None)
    assert third.ran == list(PHASES)


def test_a_changed_export_or_rules_file_starts_over(ldif_reader: LdifReader, tmp_path: Path) -> None:
    migration = _migration(ldif_reader, tmp_path / "migration")
    journal = _journal(InMemoryEventStore(), migration)
    killed = _run(journal, migration, stop_after="hierarchy")
    (migration.project.directory / "rules.yaml").write_text(
        "exclude:\n  - under: ou=Desligados,cn=Users,dc=algar,dc=com,dc=br\n    reason: gone\n",
        encoding="utf-8",
    )
    changed = _migration(ldif_reader, migration.project.directory)
    again = _run(journal, changed)
    assert again.resume is None
    assert again.note == (
        f"run {killed.run_id} did not end (killed), but the export, the settings or the rules changed since: "
        "starting over"
    )
    assert again.ran == list(PHASES)


def test_an_interrupted_run_is_resumed_and_a_failed_one_is_not(
    ldif_reader: LdifReader, tmp_path: Path
) -> None:
    migration = _migration(ldif_reader, tmp_path / "migration")
    journal = _journal(InMemoryEventStore(), migration)

    def interrupted_after_validate() -> None:
        with JournaledRun(migration, journal, PHASES) as run:
            run.start([]).unwrap()
            for result in run.phases():
                if result.unwrap()["phase"] == "validate":
                    raise KeyboardInterrupt  # what Ctrl-C raises in the run's process

    with pytest.raises(KeyboardInterrupt):
        interrupted_after_validate()
    [interrupted] = journal.history(running=False).unwrap()
    assert (interrupted.status, interrupted.code) == ("interrupted", "INTERRUPTED")
    resumed = _run(journal, migration)
    assert resumed.resume is not None
    assert resumed.resume.describe() == (
        f"resuming run {interrupted.run_id} (interrupted): phase validate done, starting at hierarchy"
    )

    alone = JournaledRun(migration, journal, ("users",))
    with alone:
        alone.start(journal.history(running=False).unwrap()).unwrap()
        (migration.out / "03-schema.ldif").unlink()
        [failure] = list(alone.phases())
    assert failure.error_code == "NOT_FOUND"
    after = _run(journal, migration)
    assert after.resume is None  # the last run failed: nothing to resume
    assert journal.history(running=False).unwrap()[-2].status == "failed"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    finished=st.integers(min_value=0, max_value=len(PHASES)),
    tampered=st.sets(st.sampled_from(PHASES)),
    how=st.sampled_from(["append", "delete", "rewrite"]),
)
def test_kept_is_the_longest_run_of_finished_phases_whose_files_are_unchanged(
    done_project: Path, tmp_path_factory: pytest.TempPathFactory, ldif_reader: LdifReader,
    finished: int, tampered: set[str], how: str,
) -> None:  # fmt: skip
    directory = tmp_path_factory.mktemp("copy") / "migration"
    shutil.copytree(done_project, directory)
    migration = _migration(ldif_reader, directory)
    store = InMemoryEventStore()
    journal = _journal(store, migration)
    run_id = "killed-run"
    journal.record(RunStarted, run_id, phases=PHASES, inputs=run_inputs(migration), pid=1, host="h").unwrap()
    for phase in PHASES[:finished]:
        journal.record(PhaseStarted, run_id, phase=phase, input="-").unwrap()
        marks = file_marks(migration.out, phase)
        output = f"{PHASES.index(phase) + 1:02d}-{phase}.ldif"
        journal.record(
            PhaseCompleted, run_id, phase=phase, counts={}, problems={}, seconds=0.0, output=output,
            size=marks[output].size, sha256=marks[output].sha256, files=marks,
        ).unwrap()  # fmt: skip
    for phase in tampered:
        path = migration.out / f"{PHASES.index(phase) + 1:02d}-{phase}.items.jsonl"
        if how == "append":
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n")
        elif how == "delete":
            path.unlink()
        else:  # the same size, other bytes
            data = path.read_bytes()
            path.write_bytes(bytes(reversed(data)) if len(set(data)) > 1 else data + b"x")
    [last] = journal.history(running=False).unwrap()
    resume, note = plan_resume(last, PHASES, run_inputs(migration), migration.out)

    expected: list[str] = []
    for phase in PHASES[:finished]:
        if phase in tampered:
            break
        expected.append(phase)
    assert note is None
    assert resume is not None
    assert resume.kept == tuple(expected)
    assert resume.start == (PHASES[len(expected)] if len(expected) < len(PHASES) else None)


@pytest.fixture(scope="module")
def done_project(tmp_path_factory: pytest.TempPathFactory, ldif_reader: LdifReader) -> Path:
    """A project whose phases all ran (no journal)."""
    directory = tmp_path_factory.mktemp("done") / "migration"
    migration = _migration(ldif_reader, directory)
    run = JournaledRun(migration, _journal(InMemoryEventStore(), migration), PHASES)
    run.start([]).unwrap()
    assert [result.unwrap()["phase"] for result in run.phases()] == list(PHASES)
    (migration.out / ".algar-project").unlink()
    return directory


# -- through the flext executable ---------------------------------------------------------------------


def _project(flext_cli: FlextCliRunner, directory: Path) -> Path:
    assert flext_cli("algar", "init", str(directory)).exit_code == 0
    shutil.copy(EXAMPLE, directory / "oid-export.ldif")
    return directory


def test_flext_events_show_reads_a_run_and_no_secret_is_recorded(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    database = tmp_path / "events.db"
    env = {"FLEXT_EVENTSTORE_URL": str(database), "OUD_BIND_PASSWORD": SECRET}
    run = flext_cli("--output", "json", "algar", "migration", "run", "--project", str(project), env=env)
    assert run.exit_code == 0, run
    run_id = run.json()["data"]["run_id"]
    assert run.json()["data"]["resumed"] is None
    stream = stream_of((project / "out/.algar-project").read_text(encoding="utf-8").strip())
    shown = flext_cli("--output", "json", "events", "show", stream, env=env)
    assert shown.exit_code == 0, shown
    rows = shown.json()["data"]
    assert [row["type"] for row in rows][:3] == [
        "algar.RunStarted",
        "algar.PhaseStarted",
        "algar.PhaseCompleted",
    ]
    assert rows[-1]["type"] == "algar.RunCompleted"
    assert {row["payload"]["run_id"] for row in rows} == {run_id}
    assert SECRET.encode() not in database.read_bytes()
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or SECRET.encode() not in wal.read_bytes()


def test_one_run_at_a_time(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    (project / "out").mkdir()
    with RunLock(project / "out") as lock:
        lock.acquire().unwrap()
        run = flext_cli("algar", "migration", "run", "--project", str(project))
    assert run.exit_code == 1, run
    assert "another run of this project is going on (process " in run.stderr
    assert "(CONCURRENCY_CONFLICT)" in run.stderr
    assert not (project / "out/01-validate.ldif").exists()


def test_without_event_sourcing_run_names_it_and_status_still_reads_the_reports(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    assert flext_cli("algar", "migration", "run", "--project", str(project)).exit_code == 0
    disabled = flext_cli("plugin", "disable", "eventsourcing")
    assert disabled.exit_code == 0, disabled
    run = flext_cli("algar", "migration", "run", "--project", str(project))
    assert run.exit_code != 0
    assert "event sourcing is unavailable: plugin 'eventsourcing' is disabled (PLUGIN_DISABLED)" in run.stderr
    assert "flext plugin enable eventsourcing" in run.stderr
    status = flext_cli("--output", "json", "algar", "migration", "status", "--project", str(project))
    assert status.exit_code == 0, status
    assert [row["state"] for row in status.json()["data"]] == ["done"] * len(PHASES)


# -- hot reload -------------------------------------------------------------------------------------------


@pytest.fixture
def modules_put_back() -> Iterator[None]:
    """Put the plugin modules a reload replaced back, for the tests that imported the old ones."""
    saved = {name: module for name, module in sys.modules.items() if name.startswith("flext_plugin_")}
    fronts = {
        name: dict(vars(module))
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in ("flext_sdk", "flext_kernel") and isinstance(module, ModuleType)
    }
    yield
    for name in [name for name in sys.modules if name.startswith("flext_plugin_")]:
        del sys.modules[name]
    sys.modules.update(saved)
    for name, before in fronts.items():
        vars(sys.modules[name]).update(before)


def test_reloading_algar_takes_its_event_classes_out_of_the_codec_and_the_new_ones_register(
    flext_kernel_factory: FlextKernelFactory, tmp_path: Path, modules_put_back: None
) -> None:
    from flext_sdk.authoring.reload import reload_plugin

    kernel = flext_kernel_factory(
        "flext_eventsourcing.plugin", "flext_plugin_eventstore_sqlite.plugin", "flext_plugin_algar.plugin"
    )
    store = kernel.container.resolve(EventStores).open_event_store(str(tmp_path / "events.db")).unwrap()
    try:
        importlib.import_module("flext_plugin_algar.events").register_events(store)
        assert store.codec.event_class("algar.RunStarted") is RunStarted
        old: Any = sys.modules["flext_plugin_algar.events"]

        reload_plugin(kernel, "algar").unwrap()

        assert store.codec.event_class("algar.RunStarted") is None  # unplugging removed owner algar's
        new = importlib.import_module("flext_plugin_algar.events")
        assert new is not old
        new.register_events(store)  # the same names, new classes: no ALREADY_REGISTERED
        assert store.codec.event_class("algar.RunStarted") is new.RunStarted
        assert {store.codec.event_class(cls.message_type) for cls in new.EVENT_CLASSES} == set(
            new.EVENT_CLASSES
        )
    finally:
        store.close()
    assert OWNER == "algar"
    assert len(EVENT_CLASSES) == 6


def test_a_live_source_snapshot_is_a_phase_of_the_run_and_keeps_no_password(
    ldif_reader: LdifReader, tmp_path: Path
) -> None:
    directory = tmp_path / "live"
    init_project(directory).unwrap()
    (directory / "bind.secret").write_text(SECRET + "\n", encoding="utf-8")
    settings = (directory / "algar.yaml").read_text(encoding="utf-8")
    with_password = settings.replace(
        "  ldif: oid-export.ldif\n", f"  url: ldap://reader:{SECRET}@127.0.0.1:9\n"
    )
    (directory / "algar.yaml").write_text(with_password, encoding="utf-8")
    refused = load_project(directory)  # a password in the URL is refused, and not echoed
    assert refused.is_failure
    assert "holds no credentials" in (refused.error or "")
    assert SECRET not in (refused.error or "")
    live = (
        "  url: ldap://127.0.0.1:9\n  base_dn: dc=algar,dc=com,dc=br\n"
        "  bind_dn: uid=reader,dc=algar,dc=com,dc=br\n  bind_password: file:bind.secret\n"
    )
    (directory / "algar.yaml").write_text(
        settings.replace("  ldif: oid-export.ldif\n", live), encoding="utf-8"
    )
    (directory / "out").mkdir()
    shutil.copy(EXAMPLE, directory / "out/00-source.ldif")  # a snapshot taken before: reused, no server read
    migration = _migration(ldif_reader, directory)
    store = InMemoryEventStore()
    journal = _journal(store, migration)

    killed = _run(journal, migration, stop_after="validate")
    assert killed.ran == ["source", "validate"]
    events = [item.event for item in journal.events().unwrap()]
    started = [(e.phase, e.input) for e in events if isinstance(e, PhaseStarted)]
    assert started[0] == ("source", "ldap://127.0.0.1:9")
    source = next(e for e in events if isinstance(e, PhaseCompleted) and e.phase == "source")
    assert "00-source.ldif" in source.files
    assert source.counts["out"] == 61

    resumed = _run(journal, migration)
    assert resumed.resume is not None
    assert resumed.kept == ("validate",)
    assert resumed.ran == ["hierarchy", "schema", "users", "groups", "acl", "output"]

    refreshed = JournaledRun(migration, journal, PHASES, refresh_source=True)
    with refreshed:
        refreshed.start(journal.history(running=False).unwrap()).unwrap()
        [failure] = list(refreshed.phases())  # nothing listens on port 9
    assert failure.is_failure
    last = journal.history(running=False).unwrap()[-1]
    assert (last.status, last.failed_phase) == ("failed", "source")
    assert last.error is not None
    assert "ldap://127.0.0.1:9" in last.error  # the reader's message names the URL
    assert all(SECRET not in item.data for item in journal.events().unwrap())


def test_the_json_report_of_a_resumed_run_says_where_it_resumed(
    flext_cli: FlextCliRunner,
    flext_kernel_factory: FlextKernelFactory,
    ldif_reader: LdifReader,
    tmp_path: Path,
) -> None:
    project = _project(flext_cli, tmp_path / "migration")
    database = tmp_path / "events.db"
    kernel = flext_kernel_factory("flext_eventsourcing.plugin", "flext_plugin_eventstore_sqlite.plugin")
    store = kernel.container.resolve(EventStores).open_event_store(str(database)).unwrap()
    try:
        migration = _migration(ldif_reader, project)
        killed = _run(_journal(store, migration), migration, stop_after="hierarchy")
    finally:
        store.close()
    (project / "out/03-schema.ldif.partial").write_text("dn: half-writ", encoding="utf-8")

    run = flext_cli(
        "--output", "json", "algar", "migration", "run", "--project", str(project),
        env={"FLEXT_EVENTSTORE_URL": str(database)},
    )  # fmt: skip
    assert run.exit_code == 0, run
    data = run.json()["data"]
    assert data["resumed"] == {
        "run_id": killed.run_id,
        "state": "killed",
        "kept": ["validate", "hierarchy"],
        "starting_at": "schema",
    }
    assert [(p["phase"], p["kept_from"]) for p in data["phases"]] == [
        ("validate", killed.run_id), ("hierarchy", killed.run_id),
        *((phase, None) for phase in PHASES[2:]),
    ]  # fmt: skip
    assert data["phases"][0]["counts"]["in"] == 61
    assert not (project / "out/03-schema.ldif.partial").exists()
    assert (project / "out/03-schema.ldif").read_text(encoding="utf-8").startswith("dn: ")
