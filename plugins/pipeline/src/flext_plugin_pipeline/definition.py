"""Pipeline definitions: the YAML a user writes, validated, with errors that point at the line.

A definition names a tap, a target, optional mappers and an optional dbt
transform, each with its config. Config values may say ``${VAR}`` or
``${VAR:-default}``: they are filled from the environment when the pipeline
runs (never when it is registered, so secrets never land in the stored
copy), and every filled value is masked in the run's logs.

A definition that fails validation is reported whole: every error, each
with its file, line, key and message, in one failure (``error_data["errors"]``
lists them); an unknown key names the nearest known one (``nmae`` -> ``name``).

Registered copies are stored as JSON, which is YAML too: reading one takes
``json.loads`` alone, and PyYAML is imported only for files people wrote
(with its C loader when it was built with one). Line numbers for errors come
from composing the YAML again, which only a definition that fails
validation pays for.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import typing
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
        return _invalid(exc, text, source)


def _invalid(exc: ValidationError, text: str, source: str) -> FlextResult[PipelineDefinition]:
    """Every error of ``exc``, by line: one message joining them all, and each in ``error_data``."""
    root = _compose(text)
    problems: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False, include_input=False):
        location = tuple(error["loc"])
        path = [str(part) for part in location]
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = _unknown_key(str(location[-1]), _known_keys(location[:-1]))
        key = ".".join(path) or "<root>"
        problems.append({"file": source, "line": _line_of(root, path), "key": key, "message": message})
    problems.sort(key=lambda problem: problem["line"])
    first = problems[0]
    return FlextResult.fail(
        "; ".join(f"{p['file']}:{p['line']}: {p['key']}: {p['message']}" for p in problems),
        error_code=VALIDATION_ERROR,
        error_data={"file": source, "line": first["line"], "field": first["key"], "errors": problems},
    )


_INTERNAL_KEYS = frozenset({"base_dir"})
"""Fields flext sets itself; never suggested."""


def _known_keys(location: tuple[int | str, ...]) -> list[str]:
    """The keys the definition allows in the mapping at ``location`` (empty if free-form, like a config)."""
    model: type[BaseModel] | None = PipelineDefinition
    for part in location:
        if model is None:
            return []
        if isinstance(part, int):  # an item of a list: the list's model was already taken
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
    if model is None:
        return []
    return [name for name in model.model_fields if name not in _INTERNAL_KEYS]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds: itself, or inside ``list[...]`` or ``... | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _unknown_key(key: str, known: list[str]) -> str:
    """What to say of an unknown ``key``: the nearest known key, or the known ones."""
    nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if nearest:
        return f"unknown key (did you mean '{nearest[0]}'?)"
    return f"unknown key (expected one of: {', '.join(known)})" if known else "unknown key"


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
    """1-based line of the deepest key or item on ``location`` (the parent's when the field is missing)."""
    import yaml

    line = 1 if node is None else node.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = next(((key, value) for key, value in node.value if key.value == part), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]  # the key's line: where the user wrote it
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line
