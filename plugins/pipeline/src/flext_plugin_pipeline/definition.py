"""Pipeline definitions: the YAML a user writes, validated, with errors that point at the line.

A definition names a tap, a target, optional mappers and an optional dbt
transform, each with its config. Config values may say ``${VAR}`` or
``${VAR:-default}``: they are filled from the environment when the pipeline
runs (never when it is registered, so secrets never land in the stored
copy), and every filled value is masked in the run's logs.

Registered copies are stored as JSON, which is YAML too: reading one takes
``json.loads`` alone, and PyYAML is imported only for files people wrote
(with its C loader when it was built with one). Line numbers for errors come
from composing the YAML again, which only a definition that fails
validation pays for.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flext_kernel.errors import VALIDATION_ERROR
from flext_sdk import FlextResult
from flext_sdk.contracts.dbt import DbtCommand

if TYPE_CHECKING:
    import yaml

__all__ = [
    "DbtStep",
    "PipelineDefinition",
    "RetryPolicy",
    "SingerStep",
    "interpolate",
    "load_definition",
    "parse_definition",
]

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SingerStep(_Strict):
    """A tap, target or mapper and its config."""

    name: str = Field(min_length=1)
    """What ``flext data taps list`` calls it."""
    config: dict[str, Any] = Field(default_factory=dict)


class ExtractStep(SingerStep):
    """The tap, plus which streams and properties to extract."""

    select: list[str] = Field(default_factory=list)
    """Patterns like ``users.*``, ``groups.cn``, ``!other.*``; empty means the tap's defaults."""


class DbtStep(_Strict):
    """A dbt project run after the load, on what was loaded."""

    project: str
    """The dbt project directory (relative to the definition file)."""
    command: DbtCommand = "build"
    """The dbt command: usually ``build``, ``run`` or ``test`` (any of the dbt contract's ``DbtCommand``)."""
    select: list[str] = Field(default_factory=list)
    target: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    """Environment for dbt (``${VAR}`` allowed), e.g. where the warehouse file is."""


class RetryPolicy(_Strict):
    """Retries of a failed run: ``attempts`` in all, waiting ``backoff * multiplier**n`` seconds between."""

    attempts: int = Field(default=1, ge=1, le=20)
    backoff: float = Field(default=5.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_backoff: float = Field(default=300.0, ge=0)

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after the ``failed_attempts``-th failure."""
        return min(self.backoff * self.multiplier ** (failed_attempts - 1), self.max_backoff)


class PipelineDefinition(_Strict):
    """One pipeline: extract with a tap, load with a target, optionally map and transform."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    extract: ExtractStep
    load: SingerStep
    mappers: list[SingerStep] = Field(default_factory=list)
    transform: DbtStep | None = None
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    stop_timeout: float = Field(default=30.0, gt=0)
    """Seconds a graceful stop may take before processes are killed."""
    base_dir: str | None = None
    """Directory relative paths are resolved against (set at registration: the definition's directory)."""


def interpolate(value: Any, environ: dict[str, str] | None = None) -> tuple[Any, set[str]]:
    """Fill ``${VAR}`` references in ``value`` (recursively); return it and the values filled in.

    A missing variable without a default raises ``KeyError`` naming it.
    """
    env = os.environ if environ is None else environ
    secrets: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            filled = env[name]
        elif default is not None:
            filled = default
        else:
            raise KeyError(name)
        if filled:
            secrets.add(filled)
        return filled

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _VARIABLE.sub(fill, item)
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        return item

    return walk(value), secrets


def load_definition(path: Path) -> FlextResult[PipelineDefinition]:
    """Read and validate the definition at ``path``; a failure names the file and line of the bad field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return FlextResult.fail(f"cannot read {path}: {exc.strerror}", error_code=VALIDATION_ERROR)
    return parse_definition(text, str(path))


def parse_definition(text: str, source: str) -> FlextResult[PipelineDefinition]:
    """Validate definition ``text``; ``source`` names it in errors."""
    loaded = _load(text, source)
    if loaded.is_failure:
        return FlextResult.fail(loaded.error or "", error_code=loaded.error_code)
    data = loaded.value
    if not isinstance(data, dict):
        return FlextResult.fail(
            f"{source}:1: a pipeline definition is a mapping with name, extract and load",
            error_code=VALIDATION_ERROR,
        )
    try:
        return FlextResult.ok(PipelineDefinition.model_validate(data))
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        location = [str(part) for part in error["loc"]]
        line = _line_of(_compose(text), location)
        field = ".".join(location) or "<root>"
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more)" if more else ""
        return FlextResult.fail(
            f"{source}:{line}: {field}: {error['msg']}{suffix}",
            error_code=VALIDATION_ERROR,
            error_data={"file": source, "line": line, "field": field},
        )


def _load(text: str, source: str) -> FlextResult[Any]:
    """The document in ``text``: JSON when it is JSON (every registered copy), else YAML."""
    try:
        return FlextResult.ok(json.loads(text))
    except ValueError:
        pass
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader, when PyYAML has it
    try:
        return FlextResult.ok(yaml.load(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        return FlextResult.fail(f"{where}: not valid YAML: {problem}", error_code=VALIDATION_ERROR)


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (JSON is YAML), for the line numbers of a validation error."""
    import yaml

    return yaml.compose(text, Loader=yaml.SafeLoader)


def _line_of(node: yaml.Node | None, location: list[str]) -> int:
    """1-based line of the deepest YAML node on ``location`` (the parent's when the field is missing)."""
    import yaml

    line = 1 if node is None else node.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = next((value for key, value in node.value if key.value == part), None)
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            break
        line = node.start_mark.line + 1
    return line
