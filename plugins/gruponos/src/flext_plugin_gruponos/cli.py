"""``flext gruponos ...``: init, pipeline deploy, status, logs, reload (each imported only when it runs).

Every command takes ``--project`` (the directory holding ``gruponos.yaml``,
default the current one) and prints ``{"ok": ..., "data": ...}`` under
``--output json``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flext_sdk.cli import emit, emit_table, fail, note

if TYPE_CHECKING:
    from flext_plugin_gruponos.config import GrupoNosConfig
    from flext_plugin_gruponos.deploy import Flext
    from flext_sdk import FlextEventStore, FlextKernel

__all__ = ["deploy", "init", "logs", "reload", "status"]


def init(directory: Path, /) -> int:
    """Start a GrupoNos deployment in DIRECTORY: a commented gruponos.yaml (never overwritten).

    Args:
        directory: The project directory (created if missing).

    """
    from flext_plugin_gruponos.config import init_project

    done = init_project(directory)
    if done.is_failure:
        return fail(done)
    note("edit gruponos.yaml (wms, target, schedule), then run 'flext gruponos pipeline deploy'")
    return emit({"files": [str(path) for path in done.value]}, human="\n".join(map(str, done.value)))


@contextmanager
def _deployment(
    project: Path, store: str | None
) -> Iterator[tuple[GrupoNosConfig, Flext, FlextKernel, FlextEventStore] | int]:
    from flext_eventsourcing import opened_store
    from flext_plugin_gruponos.config import load_config
    from flext_plugin_gruponos.deploy import Flext, register_events

    loaded = load_config(project)
    if loaded.is_failure:
        yield fail(loaded)
        return
    with opened_store(store) as opened:
        if isinstance(opened, int):
            yield opened
            return
        kernel, events = opened
        register_events(events)
        yield loaded.value, Flext(project.resolve(), store=store), kernel, events


def deploy(*, project: Path = Path(), dry_run: bool = False, store: str | None = None) -> int:
    """Create or update the pipeline and its incremental and reload schedules from gruponos.yaml.

    Deploying again changes only what gruponos.yaml changed; each deploy is recorded (who, what, a diff).

    Args:
        project: The project directory (holding gruponos.yaml).
        dry_run: Show what would change and the diff; change nothing.
        store: The event store (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_gruponos.deploy import deploy as run_deploy
    from flext_plugin_gruponos.deploy import required_variables

    with _deployment(project, store) as opened:
        if isinstance(opened, int):
            return opened
        config, flext, _, events = opened
        done = run_deploy(config, flext, events, dry_run=dry_run)
    if done.is_failure:
        return fail(done)
    missing = required_variables(config)
    if missing:
        note(f"the pipeline reads {', '.join(missing)} when it runs: set them where the scheduler runs")
    changes = done.value["changes"]
    unchanged = "nothing to change: the pipeline and its schedules match gruponos.yaml"
    human = "\n".join(changes) if changes else unchanged
    if dry_run and done.value["diff"]:
        human += "\n" + done.value["diff"]
    return emit(done.value, human=human)


def status(*, project: Path = Path(), store: str | None = None, no_wms: bool = False) -> int:
    """Show per entity: the last run, its rows, failures since the last success, and the lag behind the WMS.

    Args:
        project: The project directory (holding gruponos.yaml).
        store: The event store (a SQLite path or postgresql:// URL).
        no_wms: Do not ask the WMS for its newest change (no lag column).

    """
    from flext_plugin_gruponos.status import COLUMNS, entity_status

    with _deployment(project, store) as opened:
        if isinstance(opened, int):
            return opened
        config, flext, kernel, events = opened
        rows = entity_status(config, flext, kernel, events, ask_wms=not no_wms)
    if rows.is_failure:
        return fail(rows)
    for row in rows.value:
        if row["error"]:
            note(f"{row['entity']}: {row['error']}")
    return emit_table(rows.value, list(COLUMNS), title=f"GrupoNos {config.name}")


def logs(*, project: Path = Path(), follow: bool = False) -> int:
    """Print the log of the pipeline's latest run (incremental or reload).

    Args:
        project: The project directory (holding gruponos.yaml).
        follow: Keep printing while the run goes.

    """
    from flext_plugin_gruponos.config import load_config
    from flext_plugin_gruponos.deploy import Flext

    loaded = load_config(project)
    if loaded.is_failure:
        return fail(loaded)
    argv = [*Flext(project).command, "pipeline", "logs", loaded.value.pipeline]
    argv += ["--follow"] if follow else []
    return subprocess.run(argv, cwd=project, check=False, env=os.environ.copy()).returncode


def reload(*, project: Path = Path(), store: str | None = None) -> int:
    """Reload everything from the WMS now: a full refresh of the pipeline, in the foreground.

    Every row is read and upserted again (rows purged in the WMS stay: docs/gruponos.md); the next
    incremental run starts from the reload's state.

    Args:
        project: The project directory (holding gruponos.yaml).
        store: The event store (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_gruponos.config import load_config
    from flext_plugin_gruponos.deploy import Flext

    loaded = load_config(project)
    if loaded.is_failure:
        return fail(loaded)
    argv = [*Flext(project).command, "pipeline", "run", loaded.value.pipeline, "--full-refresh"]
    argv += ["--store", store] if store else []
    return subprocess.run(argv, cwd=project, check=False).returncode
