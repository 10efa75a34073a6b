"""``flext meltano import [DIR]``: a Meltano project's job blocks as FLEXT pipelines, its schedules too.

The project is checked as for a delegated run (``meltano_cli.prepare``).
Each block of each job (``extractor [mappings...] loader``; utilities and
``plugin:command`` steps are left out) becomes one pipeline
(``importer.pipeline_definition``), registered through FLEXT's own CLI,
never by importing the pipeline plugin:

1. each connector it runs that ``flext data taps|targets|mappers list``
   does not show as installed is added with ``flext data <kind> add NAME
   --pip-url PIP_URL`` (Meltano's ``pip_url``, its ``$VAR``s filled from the
   environment);
2. the definition is written to a hidden temporary file in the Meltano
   project directory and registered with ``flext pipeline create --replace``
   (relative paths then resolve where Meltano resolves them, and
   ``${FLEXT_PIPELINE_DIR}`` is the project directory); the file is removed.

3. the project's ``schedules:`` become FLEXT schedules
   (``schedules_cli.import_schedules``: checked before any pipeline is
   registered, added after), one ``schedule NAME ...`` line each on stderr.

With ``--dry-run`` nothing is installed or registered: the definitions are
printed. The result lists each pipeline, its block and job, Meltano's state
id for it, and what the definition could not carry.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

from flext_kernel.result import Failure, FlextResult
from flext_sdk.cli import emit, emit_table, fail, note

if TYPE_CHECKING:
    from flext_plugin_meltano.importer import Connector, ImportedPipeline
    from flext_plugin_meltano.project import MeltanoProject

__all__ = ["flext_command", "meltano_import"]

Flag = Annotated[bool, Parameter(negative="")]


def meltano_import(
    project: Path | None = None, *, environment: str | None = None, dry_run: Flag = False
) -> int:
    """Register the project's job blocks as FLEXT pipelines (one per extractor-to-loader block).

    Args:
        project: The Meltano project directory; default the working directory or its nearest parent.
        environment: The Meltano environment whose configuration is imported; default the project's
            default_environment.
        dry_run: Print the definitions; install and register nothing.

    """
    from flext_plugin_meltano.meltano_cli import prepare

    prepared = prepare(project, environment)
    if isinstance(prepared, int):
        return prepared
    _meltano, meltano_project = prepared
    imported = _pipelines(meltano_project)
    if isinstance(imported, Failure):
        return fail(imported)
    if dry_run:
        return emit([_summary(pipeline) | {"definition": pipeline.definition} for pipeline in imported.value])
    from flext_plugin_meltano.schedules_cli import import_schedules

    checked = import_schedules(meltano_project, environment, dry_run=True)  # a bad cron stops it here
    if isinstance(checked, int):
        return checked
    for pipeline in imported.value:
        installed = _install_connectors(pipeline.connectors, meltano_project)
        if isinstance(installed, Failure):
            return fail(installed)
        registered = _register(pipeline, meltano_project.root)
        if isinstance(registered, Failure):
            return fail(registered)
        for dropped in pipeline.dropped:
            note(f"{pipeline.name}: the extractor's {dropped} is not carried (pipelines have no {dropped})")
    schedules = import_schedules(meltano_project, environment) if checked else []
    if isinstance(schedules, int):
        return schedules
    for row in schedules:
        said = f"{row['outcome']}: flext {row['runs']}" if row["runs"] else f"left out: {row['reason']}"
        note(f"schedule {row['schedule']} ({row['interval']}) {said}")
    rows = [_summary(pipeline) for pipeline in imported.value]
    return emit_table(rows, ["pipeline", "block", "job", "state_id"], title="imported from Meltano")


def _pipelines(project: MeltanoProject) -> FlextResult[list[ImportedPipeline]]:
    from flext_plugin_meltano.importer import pipeline_definition

    blocks = project.blocks(list(project.jobs))
    if isinstance(blocks, Failure):
        return FlextResult.fail(blocks.error or "", blocks.error_code, blocks.error_data)
    pipelines: dict[str, ImportedPipeline] = {}
    for block in blocks.value:
        pipeline = pipeline_definition(project, block)
        pipelines.setdefault(pipeline.name, pipeline)
    if not pipelines:
        from flext_kernel.errors import VALIDATION_ERROR

        return FlextResult.fail(
            f"{project.root / 'meltano.yml'}: jobs: no job has an extractor-to-loader block to import",
            VALIDATION_ERROR,
            {"key": "jobs"},
        )
    return FlextResult.ok(list(pipelines.values()))


def _summary(pipeline: ImportedPipeline) -> dict[str, Any]:
    return {
        "pipeline": pipeline.name,
        "block": pipeline.block,
        "job": pipeline.job,
        "state_id": pipeline.state_id,
        "dropped": list(pipeline.dropped),
    }


def flext_command(*args: str, cwd: Path | None = None) -> FlextResult[str]:
    """Run ``flext args...`` (this installation's); its stdout, or a failure with its ``error:`` line."""
    from flext_plugin_meltano.errors import MELTANO_COMMAND_FAILED

    command = [sys.executable, "-m", "flext_kernel.cli", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)
    if done.returncode == 0:
        return FlextResult.ok(done.stdout)
    said = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    last = (
        said[-1].removeprefix("error: ") if said else (done.stderr.strip().splitlines() or ["no output"])[-1]
    )
    return FlextResult.fail(
        f"flext {' '.join(args[:3])} failed: {last}",
        MELTANO_COMMAND_FAILED,
        {"command": ["flext", *args[:3]], "exit_code": done.returncode},
    )


def _install_connectors(connectors: Sequence[Connector], project: MeltanoProject) -> FlextResult[None]:
    listed: dict[str, dict[str, Any]] = {}
    for connector in connectors:
        if connector.kind not in listed:
            shown = flext_command("--output", "json", "data", connector.kind, "list")
            if isinstance(shown, Failure):
                return FlextResult.fail(shown.error or "", shown.error_code, shown.error_data)
            listed[connector.kind] = {entry["name"]: entry for entry in json.loads(shown.value)["data"]}
        if listed[connector.kind].get(connector.name, {}).get("status") == "installed":
            continue
        arguments = ["data", connector.kind, "add", connector.name]
        shown_arguments = list(arguments)
        if connector.pip_url:
            arguments += ["--pip-url", os.path.expandvars(connector.pip_url)]
            shown_arguments += ["--pip-url", connector.pip_url]  # as written: $VARs (a token) not filled in
        note(f"installing {connector.name} for FLEXT: flext {' '.join(shown_arguments)}")
        added = flext_command(*arguments, cwd=project.root)
        if isinstance(added, Failure):
            return FlextResult.fail(added.error or "", added.error_code, added.error_data)
    return FlextResult.ok(None)


def _register(pipeline: ImportedPipeline, root: Path) -> FlextResult[None]:
    """``flext pipeline create --replace`` from a temporary file in the project directory (removed after)."""
    import yaml

    handle, name = tempfile.mkstemp(prefix=f".flext-import-{pipeline.name}-", suffix=".yaml", dir=root)
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            yaml.safe_dump(pipeline.definition, file, sort_keys=False)
        created = flext_command("pipeline", "create", "--replace", str(path), cwd=root)
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if isinstance(created, Failure):
        return FlextResult.fail(created.error or "", created.error_code, created.error_data)
    return FlextResult.ok(None)
