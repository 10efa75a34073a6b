"""Where pipelines live: the project directory and the definitions registered in it.

The project is the nearest directory, from the current one upwards, holding a
``flext.yaml``; without one, the user's own project in the flext data
directory. Registered definitions are copies in ``<project>/pipelines/``,
each remembering the directory of the file it came from (``base_dir``), so
its relative paths (data files, the dbt project) keep meaning what they meant.
The copies are written as JSON, which is valid YAML, because every run reads
one and JSON needs no YAML parser (see ``definition``).

Names and run ids become file names, so every command checks them first,
with ``checked_name`` and ``checked_run_id`` (a name is what
``definition.NAME_PATTERN`` allows, at most ``NAME_MAX_LENGTH`` characters;
a run id is what ``runner.new_run_id`` makes), and every file is opened
through ``contained``, which refuses a path that resolves outside its
directory (a symbolic link pointing elsewhere).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

from flext_kernel.errors import ALREADY_REGISTERED, NOT_FOUND, VALIDATION_ERROR
from flext_kernel.paths import data_dir
from flext_plugin_pipeline.definition import (
    MAX_DEFINITION_BYTES,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    PipelineDefinition,
    load_definition,
)
from flext_plugin_pipeline.files import private_directory, write_private
from flext_sdk import FlextResult

__all__ = [
    "checked_name",
    "checked_run_id",
    "contained",
    "definitions",
    "find",
    "is_registered",
    "project_dir",
    "register",
    "run_dir",
    "unregister",
]

PROJECT_FILE = "flext.yaml"
_NAME: Final = re.compile(NAME_PATTERN.removesuffix("$") + r"\Z")
_RUN_ID: Final = re.compile(r"[0-9]{8}T[0-9]{6}(?:\.[0-9]{3})?-[0-9a-f]{2,16}\Z")
"""``20261207T071905.970-b887``: the start time (milliseconds since they were added) and a few hex digits."""


def checked_name(name: str) -> FlextResult[str]:
    """``name`` when it can name a pipeline; else why not (``VALIDATION_ERROR``, exit 2).

    Every command checks the name it is given with this before it looks
    anything up: a name becomes a file name (``pipelines/NAME.yaml``, the
    run directory ``pipelines/NAME/``), so ``../x``, ``/etc/x``, a NUL or a
    name too long for a file must never reach a path.
    """
    if len(name) <= NAME_MAX_LENGTH and _NAME.match(name):
        return FlextResult.ok(name)
    shown = name if len(name) <= 80 else f"{name[:77]}..."
    return FlextResult.fail(
        f"{shown!r} is not a pipeline name: a name is lower-case letters, digits, '-' and '_', "
        f"starting with a letter or digit, at most {NAME_MAX_LENGTH} characters",
        error_code=VALIDATION_ERROR,
        error_data={"name": shown},
    )


def checked_run_id(run_id: str) -> FlextResult[str]:
    """``run_id`` when it can be a run's id (as ``flext pipeline history`` shows them); else why not."""
    if _RUN_ID.match(run_id):
        return FlextResult.ok(run_id)
    shown = run_id if len(run_id) <= 80 else f"{run_id[:77]}..."
    return FlextResult.fail(
        f"{shown!r} is not a run id: a run id looks like 20261207T071905.970-b887 "
        "(the first column of 'flext pipeline history NAME')",
        error_code=VALIDATION_ERROR,
        error_data={"run_id": shown},
    )


def contained(folder: Path, leaf: str) -> FlextResult[Path]:
    """``folder / leaf`` when it resolves to a file directly in ``folder``; a link elsewhere is refused."""
    path = folder / leaf
    if path.resolve().parent != folder.resolve() or path.name != leaf:
        return FlextResult.fail(
            f"{path} leads outside {folder} (a symbolic link?): flext reads only its own files there",
            error_code=VALIDATION_ERROR,
            error_data={"path": str(path)},
        )
    return FlextResult.ok(path)


def project_dir(start: Path | None = None) -> Path:
    """The project directory for ``start`` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    return data_dir() / "project"


def _pipelines() -> Path:
    return project_dir() / "pipelines"


def run_dir(name: str) -> Path:
    """Per-pipeline runtime files: run lock, runner record, logs (under the data dir, not the project).

    Raises:
        ValueError: ``name`` is not a pipeline name (a command must check it first, with ``checked_name``).

    """
    if checked_name(name).is_failure:
        raise ValueError(f"not a pipeline name: {name!r}")
    return data_dir() / "pipelines" / name


def _definition_path(name: str) -> FlextResult[Path]:
    """Where the definition called ``name`` is registered (checked name, and no link leading away)."""
    return checked_name(name).flat_map(lambda valid: contained(_pipelines(), f"{valid}.yaml"))


def register(
    definition: PipelineDefinition, source: Path, *, replace: bool = False, existing: bool = False
) -> FlextResult[PipelineDefinition]:
    """Store a copy of ``definition`` (validated, read from ``source``) in the project.

    ``replace`` lets it replace a registered one of the same name;
    ``existing`` requires one (an update of a pipeline that is not there fails).
    The copy is what was validated, never the file read again.
    """
    definition = definition.model_copy(update={"base_dir": str(source.resolve().parent)})
    where = _definition_path(definition.name)
    if where.is_failure:
        return FlextResult.fail(where.error or "", where.error_code, where.error_data)
    destination = where.value
    if existing and not destination.exists():
        return FlextResult.fail(
            f"no pipeline named {definition.name!r} in {project_dir()} to update: "
            f"register it with 'flext pipeline create {source}'",
            error_code=NOT_FOUND,
        )
    if destination.exists() and not (replace or existing):
        return FlextResult.fail(
            f"pipeline {definition.name!r} is already registered ({destination}); "
            f"update it with 'flext pipeline update {source}'",
            error_code=ALREADY_REGISTERED,
        )
    body = json.dumps(definition.model_dump(mode="json", exclude_defaults=True), indent=2) + "\n"
    if len(body.encode("utf-8")) > MAX_DEFINITION_BYTES:  # it could not be read back
        return FlextResult.fail(
            f"{source}: the registered copy of {definition.name!r} would be larger than "
            f"{MAX_DEFINITION_BYTES} bytes; shorten the definition",
            error_code=VALIDATION_ERROR,
            error_data={"file": str(source)},
        )
    write_private(private_directory(destination.parent) / destination.name, body)  # may hold a password
    return FlextResult.ok(definition)


def definitions() -> list[PipelineDefinition]:
    """Every valid registered definition, by name (a broken file is skipped; ``find`` reports it)."""
    folder = _pipelines()
    names = sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []
    found = [find(name) for name in names if checked_name(name).is_success]
    return [result.value for result in found if result.is_success]


def is_registered(name: str) -> bool:
    """Whether the project has a definition called ``name`` (valid or not)."""
    path = _definition_path(name)
    return path.is_success and path.value.is_file()


def find(name: str) -> FlextResult[PipelineDefinition]:
    """The registered definition called ``name``; a name that cannot be one is a ``VALIDATION_ERROR``."""
    path = _definition_path(name)
    if path.is_failure:
        return FlextResult.fail(path.error or "", path.error_code, path.error_data)
    if not path.value.is_file():
        return FlextResult.fail(
            f"no pipeline named {name!r} in {project_dir()}: register one with 'flext pipeline create FILE'",
            error_code=NOT_FOUND,
        )
    loaded = load_definition(path.value)
    if loaded.is_success and loaded.value.name != name:
        return FlextResult.fail(
            f"{path.value} holds pipeline {loaded.value.name!r}, not {name!r}: "
            f"register it again with 'flext pipeline create FILE'",
            error_code=VALIDATION_ERROR,
            error_data={"file": str(path.value)},
        )
    return loaded


def unregister(name: str) -> FlextResult[PipelineDefinition]:
    """Delete the registered definition called ``name``; the result is what was registered.

    A definition that no longer validates is removed too (the result is then
    a minimal one naming it): removing is how a user gets rid of it.
    """
    path = _definition_path(name)
    if path.is_failure or not path.value.is_file():
        return find(name)
    found = load_definition(path.value)
    path.value.unlink()
    return found if found.is_success else FlextResult.ok(PipelineDefinition.model_construct(name=name))
