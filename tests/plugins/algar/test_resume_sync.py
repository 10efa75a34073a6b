"""A sync killed with ``kill -9`` between batches, then run again: it resumes after the last recorded batch.

The sync is ``cli.recorded_sync`` (what ``flext algar migration sync`` is to
call) in a real child process against a real slapd (the stand-in target of
the sync tests); the child kills itself with SIGKILL when ``on_batch`` hears
of its second batch, which the journal has recorded by then. What the
server applied is read from its audit log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flext_plugin_algar.events import RunStarted, SyncBatchApplied
from flext_plugin_algar.journal import Journal, project_id
from flext_plugin_algar.sync import output_ldif
from flext_plugin_algar.verify import run_verify

from flext_eventsourcing import EventStores
from flext_sdk.contracts.ldif import LdifReader, LdifRecord
from flext_sdk.testing import FlextCliRunner, FlextKernelFactory
from flext_sdk.testing.ldap_server import LdapServer

# tests/ is no package to mypy (pytest imports it, in importlib mode): the sync tests' own helpers
from ._directory_fixtures import (  # type: ignore[import-not-found]
    audit,
    audit_changes,
    migrated,
    serve_target,
    write_project,
)

CHILD = """
import json, os, signal, sys
from pathlib import Path
from flext_plugin_algar.cli import recorded_sync
from flext_plugin_algar.phases import Migration
from flext_plugin_algar.project import load_project, load_rules
from flext_sdk.cli import boot_kernel
from flext_sdk.contracts import require_service
from flext_sdk.contracts.ldif import LdifReader

directory, kill_after = Path(sys.argv[1]), int(sys.argv[2])
seen = []

def on_batch(progress):
    seen.append(progress)
    if len(seen) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)

with boot_kernel().unwrap() as kernel:
    project = load_project(directory).unwrap()
    reader = require_service(kernel, LdifReader, why="test").unwrap()
    migration = Migration.of(project, load_rules(project).unwrap(), reader).unwrap()
    result = recorded_sync(kernel, migration, on_batch=on_batch)
    assert not isinstance(result, int), result
    print(json.dumps(result.unwrap(), default=str))
"""


@pytest.fixture(scope="module")
def oud_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    yield from serve_target(tmp_path_factory)


def _sync(
    flext_cli: FlextCliRunner, project: Path, database: Path, kill_after: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(project), str(kill_after)],
        env=flext_cli.environment({"FLEXT_EVENTSTORE_URL": str(database)}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_sync_killed_between_batches_resumes_after_the_last_recorded_one(
    oud_target: LdapServer,
    ldif_reader: LdifReader,
    flext_cli: FlextCliRunner,
    flext_kernel_factory: FlextKernelFactory,
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    suffix = write_project(project, oud_target, batch_size=10)
    migration = migrated(project, ldif_reader)
    entries = [item for item in ldif_reader.read(output_ldif(migration)) if isinstance(item, LdifRecord)]
    database = tmp_path / "events.db"

    killed = _sync(flext_cli, project, database, kill_after=2)
    assert killed.returncode == -9, killed.stderr

    kernel = flext_kernel_factory("flext_eventsourcing.plugin", "flext_plugin_eventstore_sqlite.plugin")
    store = kernel.container.resolve(EventStores).open_event_store(str(database)).unwrap()
    try:
        identity = project_id(migration.out, create=False)
        assert identity is not None
        journal = Journal(store, identity, project)
        [first] = journal.history(running=False).unwrap()
        assert (first.phases, first.status) == (("sync",), "killed")
        assert first.sync is not None
        assert (first.sync.position, first.sync.last_dn) == (20, entries[19].dn)

        resumed = _sync(flext_cli, project, database, kill_after=0)
        assert resumed.returncode == 0, resumed.stderr
        assert (
            f"resuming sync run {first.run_id} (killed): entries 1-20 are on the target "
            f"(last: {entries[19].dn}), starting at entry 21"
        ) in resumed.stderr
        report = json.loads(resumed.stdout)
        assert report["resumed_from"] == 20
        assert report["counts"]["added"] == len(entries)  # both runs' (the audit log below: each once)

        events = [item.event for item in journal.events().unwrap()]
        [started] = [e for e in events if isinstance(e, RunStarted) and e.run_id != first.run_id]
        assert started.resumed_from == first.run_id
        positions = [e.position for e in events if isinstance(e, SyncBatchApplied)]
        assert positions == [*range(10, len(entries), 10), len(entries)]  # 10 and 20 by the killed run
        second = journal.history(running=False).unwrap()[-1]
        assert second.status == "completed"
    finally:
        store.close()

    adds = [dn for kind, dn in audit_changes(audit(oud_target)) if kind == "add" and dn.endswith(suffix)]
    assert sorted(adds) == sorted(record.dn for record in entries)  # each entry added exactly once
    assert run_verify(migration).value["clean"]

    status = flext_cli(
        "--output", "json", "algar", "migration", "status", "--project", str(project),
        env={"FLEXT_EVENTSTORE_URL": str(database)},
    )  # fmt: skip
    assert status.exit_code == 0, status
    sync_row = status.json()["data"][-1]
    assert (sync_row["phase"], sync_row["state"], sync_row["position"]) == ("sync", "done", len(entries))
