"""Where pipelines live: the project directory and the definitions registered in it.

The project is the nearest directory, from the current one upwards, holding a
``flext.yaml``; without one, the user's own project in the flext data
directory. Registered definitions are copies in ``<project>/pipelines/``,
each remembering the directory of the file it came from (``base_dir``), so
its relative paths (data files, the dbt project) keep meaning what they meant.
The copies are written as JSON, which is valid YAML, because every run reads
one and JSON needs no YAML parser (see ``definition``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flext_kernel.errors import ALREADY_REGISTERED, NOT_FOUND, VALIDATION_ERROR
from flext_kernel.paths import data_dir
from flext_plugin_pipeline.definition import MAX_DEFINITION_BYTES, PipelineDefinition, load_definition
from flext_sdk import FlextResult

__all__ = ["definitions", "find", "is_registered", "project_dir", "register", "run_dir", "unregister"]

PROJECT_FILE = "flext.yaml"


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
    """Per-pipeline runtime files: run lock, runner record, logs (under the data dir, not the project)."""
    return data_dir() / "pipelines" / name


def register(
    definition: PipelineDefinition, source: Path, *, replace: bool = False, existing: bool = False
) -> FlextResult[PipelineDefinition]:
    """Store a copy of ``definition`` (validated, read from ``source``) in the project.

    ``replace`` lets it replace a registered one of the same name;
    ``existing`` requires one (an update of a pipeline that is not there fails).
    The copy is what was validated, never the file read again.
    """
    definition = definition.model_copy(update={"base_dir": str(source.resolve().parent)})
    destination = _pipelines() / f"{definition.name}.yaml"
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
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_suffix(".tmp")
    temporary.write_text(body, encoding="utf-8")
    os.replace(temporary, destination)
    return FlextResult.ok(definition)


def definitions() -> list[PipelineDefinition]:
    """Every valid registered definition, by name (a broken file is skipped; ``find`` reports it)."""
    folder = _pipelines()
    found = [load_definition(path) for path in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    return [result.value for result in found if result.is_success]


def is_registered(name: str) -> bool:
    """Whether the project has a definition called ``name`` (valid or not)."""
    return (_pipelines() / f"{name}.yaml").is_file()


def find(name: str) -> FlextResult[PipelineDefinition]:
    """The registered definition called ``name``."""
    path = _pipelines() / f"{name}.yaml"
    if not path.is_file():
        return FlextResult.fail(
            f"no pipeline named {name!r} in {project_dir()}: register one with 'flext pipeline create FILE'",
            error_code=NOT_FOUND,
        )
    return load_definition(path)


def unregister(name: str) -> FlextResult[PipelineDefinition]:
    """Delete the registered definition called ``name``; the result is what was registered.

    A definition that no longer validates is removed too (the result is then
    a minimal one naming it): removing is how a user gets rid of it.
    """
    path = _pipelines() / f"{name}.yaml"
    if not path.is_file():
        return find(name)
    found = load_definition(path)
    path.unlink()
    return found if found.is_success else FlextResult.ok(PipelineDefinition.model_construct(name=name))
