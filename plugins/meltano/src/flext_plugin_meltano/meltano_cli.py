"""``flext meltano run|invoke|install|state ...``: the real ``meltano``, delegated, each run recorded.

Each command finds the project (``--project DIR``, else the working
directory or its nearest parent holding ``meltano.yml``), makes Meltano's
own environment ready (built on first use), checks ``meltano.yml`` (a bad
key, a missing plugin, a bad ``pip_url`` or an unknown environment is one
``error:`` line naming the file, line and key, exit 2, and Meltano never
starts), then runs ``meltano [--environment E] <command> <args...>`` in the
project. Meltano's output and exit code are the command's own; the run is
recorded as ``MeltanoRunStarted`` and ``MeltanoRunFinished`` in the stream
``meltano-<project directory name>``.

Everything after the command goes to Meltano as written, except flext's
global options (``--output``, ``--json``, ``--debug``, ``--quiet``) and
this command's own ``--project`` and ``--environment``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from cyclopts import Parameter

from flext_kernel.result import Failure
from flext_sdk.cli import fail, note

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore
    from flext_plugin_meltano.project import Block, MeltanoProject

__all__ = ["meltano_install", "meltano_invoke", "meltano_run", "meltano_state"]

Passed = Annotated[str, Parameter(allow_leading_hyphen=True)]
"""An argument handed to Meltano as written (options included)."""


def meltano_run(*args: Passed, project: Path | None = None, environment: str | None = None) -> int:
    """Run jobs or blocks with meltano run (extractor [mappers] loader ...).

    Args:
        args: What meltano run takes: job names, plugin names, options such as --full-refresh.
        project: The Meltano project directory; default the working directory or its nearest parent.
        environment: The Meltano environment; default the project's default_environment.

    """
    return delegate_command("run", args, project, environment)


def meltano_invoke(*args: Passed, project: Path | None = None, environment: str | None = None) -> int:
    """Invoke one plugin's executable with meltano invoke.

    Args:
        args: The plugin, then its arguments.
        project: The Meltano project directory; default the working directory or its nearest parent.
        environment: The Meltano environment; default the project's default_environment.

    """
    return delegate_command("invoke", args, project, environment)


def meltano_install(*args: Passed, project: Path | None = None, environment: str | None = None) -> int:
    """Install the project's plugins (declared with pip_url in meltano.yml) with meltano install.

    Args:
        args: What meltano install takes: plugin names, --clean, ...
        project: The Meltano project directory; default the working directory or its nearest parent.
        environment: The Meltano environment; default the project's default_environment.

    """
    return delegate_command("install", args, project, environment)


def meltano_state(*args: Passed, project: Path | None = None, environment: str | None = None) -> int:
    """Meltano's state (list, get, set, clear, ...), or move it with FLEXT: state export|import.

    Args:
        args: A meltano state subcommand and its arguments; 'export' and 'import' are flext's
            (see flext meltano state export --help).
        project: The Meltano project directory; default the working directory or its nearest parent.
        environment: The Meltano environment; default the project's default_environment.

    """
    if args and args[0] in ("export", "import"):
        from flext_plugin_meltano.state_cli import move_state

        return move_state(args[0], args[1:], project, environment)
    return delegate_command("state", args, project, environment)


def prepare(project_dir: Path | None, environment: str | None) -> tuple[Path, MeltanoProject] | int:
    """The Meltano executable and the checked project, or the exit code of why there is none."""
    from flext_plugin_meltano.project import find_project, load_project
    from flext_plugin_meltano.tool import meltano_environment, meltano_schema

    root = find_project(project_dir)
    if isinstance(root, Failure):
        return fail(root)
    tool = meltano_environment()
    if isinstance(tool, Failure):
        return fail(tool, hint="check that the package index is reachable, then run the command again")
    loaded = load_project(root.value, schema=meltano_schema(tool.value), environment=environment)
    if isinstance(loaded, Failure):
        return fail(loaded)
    return tool.value.bin_dir / "meltano", loaded.value


def delegate_command(
    command: str, args: Sequence[str], project_dir: Path | None, environment: str | None
) -> int:
    """Check, record, run ``meltano <command> <args>``, record; Meltano's exit code."""
    prepared = prepare(project_dir, environment)
    if isinstance(prepared, int):
        return prepared
    meltano, project = prepared
    from flext_eventsourcing import opened_store

    with opened_store(None) as opened:
        if isinstance(opened, int):
            return opened
        _kernel, store = opened
        return _recorded_run(store, meltano, project, command, list(args), environment)


def _recorded_run(
    store: FlextEventStore,
    meltano: Path,
    project: MeltanoProject,
    command: str,
    args: list[str],
    environment: str | None,
) -> int:
    from flext_eventsourcing import ANY
    from flext_plugin_meltano.delegate import Watch, delegate
    from flext_plugin_meltano.events import (
        AGGREGATE_TYPE,
        MeltanoRunFinished,
        MeltanoRunStarted,
        register_events,
        stream_id,
    )
    from flext_plugin_meltano.tool import MELTANO

    register_events(store)
    run_id = str(uuid.uuid4())
    stream = stream_id(project.root.name)
    blocks = _blocks(project, args) if command == "run" else []
    started = MeltanoRunStarted(
        aggregate_id=stream,
        aggregate_type=AGGREGATE_TYPE,
        run_id=run_id,
        project_dir=str(project.root),
        command=command,
        args=tuple(args[:1] if command == "invoke" else args),
        environment=project.environment,
        meltano_version=MELTANO[0],
        blocks=tuple(_label(block) for block in blocks),
        metadata={"plugin": "meltano"},
    )
    recorded = store.append(stream, [started], ANY)
    if recorded.is_failure:  # nothing runs unrecorded
        return fail(recorded, hint="the event store must take the run's events before Meltano starts")
    watch = Watch(loaders=frozenset(block.loader.name for block in blocks))
    prefix = ["--environment", environment] if environment is not None else []
    done = delegate(meltano, project.root, [*prefix, command, *args], watch=watch)
    outcome = "interrupted" if done.interrupted else ("completed" if done.exit_code == 0 else "failed")
    finished = MeltanoRunFinished(
        aggregate_id=stream,
        aggregate_type=AGGREGATE_TYPE,
        causation_id=str(started.event_id),
        run_id=run_id,
        command=command,
        outcome=outcome,
        exit_code=done.exit_code,
        elapsed=done.elapsed,
        blocks_completed=watch.blocks_completed,
        records=watch.records,
        metadata={"plugin": "meltano"},
    )
    if store.append(stream, [finished], ANY).is_failure:
        note(f"warning: meltano ended (exit {done.exit_code}) but the event store did not record it")
    return done.exit_code


def _blocks(project: MeltanoProject, args: Sequence[str]) -> list[Block]:
    """The blocks ``meltano run args`` will run, as far as meltano.yml says (options are skipped)."""
    names = [arg for arg in args if not arg.startswith("-") and _known(project, arg)]
    found = project.blocks(names)
    return list(found.value) if found.is_success else []


def _known(project: MeltanoProject, name: str) -> bool:
    return name in project.jobs or project.step(name)[0] is not None


def _label(block: Block) -> str:
    steps = [block.extractor.name, *(mapping for _plugin, mapping in block.mappers), block.loader.name]
    return " -> ".join(steps)
