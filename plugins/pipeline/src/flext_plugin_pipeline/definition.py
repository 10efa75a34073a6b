"""Pipeline definitions: the YAML a user writes, validated, with errors that point at the line.

A definition names a tap, a target, optional mappers and an optional dbt
transform, each with its config. Config values may say ``${VAR}`` or
``${VAR:-default}``: they are filled from the environment when the pipeline
runs (never when it is registered, so secrets never land in the stored
copy), and every filled value is masked in the run's logs.

A definition that fails validation is reported whole: every error, each
with its file, line, key and message, in one failure (``error_data["errors"]``
lists them); an unknown key names the nearest known one (``nmae`` -> ``name``).

Files people wrote are read with ``flext_sdk.yaml_files``: at most
``MAX_DEFINITION_BYTES``, UTF-8, aliases expanding to at most
``MAX_DEFINITION_VALUES`` values and ``MAX_DEFINITION_BYTES`` characters
(the registered copy is the expanded document, so an alias bomb must never
become one), no recursive alias, no duplicate key; each refusal is a
``VALIDATION_ERROR`` naming the file and line. Registered copies are stored
as JSON, which is YAML too: reading one takes ``json.loads`` alone (PyYAML is
not imported), and only a copy that fails validation is composed again for
its line numbers. A copy that is not plain JSON (edited by hand, or with a
duplicate key) is read as YAML, with the same limits.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flext_kernel.errors import VALIDATION_ERROR
from flext_sdk import FlextResult
from flext_sdk.contracts.dbt import DbtCommand

if TYPE_CHECKING:
    import yaml

    from flext_sdk.yaml_files import YamlDocument

__all__ = [
    "MAX_DEFINITION_BYTES",
    "MAX_DEFINITION_VALUES",
    "NAME_MAX_LENGTH",
    "NAME_PATTERN",
    "DbtStep",
    "PipelineDefinition",
    "RetryPolicy",
    "SingerStep",
    "interpolate",
    "load_definition",
    "parse_definition",
]

NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]*$"
"""What a pipeline name looks like: it names files (``NAME.yaml``, ``pipelines/NAME/``), so no ``/``."""
NAME_MAX_LENGTH: Final = 64
"""The longest pipeline name."""
MAX_DEFINITION_BYTES: Final = 1 << 20
"""The largest definition file read, and the most text a definition may expand to through its aliases."""
MAX_DEFINITION_VALUES: Final = 10_000
"""The most values a definition may hold once its aliases are expanded (a real one holds tens)."""
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

    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX_LENGTH)
    description: str = ""
    extract: ExtractStep
    load: SingerStep
    mappers: list[SingerStep] = Field(default_factory=list)
    transform: DbtStep | None = None
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    stop_timeout: float = Field(default=30.0, gt=0)
    """Seconds a graceful stop may take before processes are killed."""
    full_refresh: bool = False
    """Every run ignores the saved state and extracts everything, as ``run --full-refresh`` does: a
    reload pipeline next to an incremental one over the same source and target."""
    base_dir: str | None = None
    """Directory relative paths are resolved against (set at registration: the definition's directory)."""


def interpolate(
    value: Any, environ: dict[str, str] | None = None, *, strict: bool = True
) -> tuple[Any, set[str]]:
    """Fill ``${VAR}`` references in ``value`` (recursively); return it and the values filled in.

    A missing variable without a default raises ``KeyError`` naming it; with
    ``strict=False`` it is left as written.
    """
    env = os.environ if environ is None else environ
    secrets: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            filled = env[name]
        elif default is not None:
            filled = default
        elif not strict:
            return match.group(0)
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
    """Read and validate the definition at ``path``; a failure names the file and line of the bad field.

    A registered copy (JSON) is read with ``json.loads`` alone; anything else
    goes through ``flext_sdk.yaml_files``, which bounds the file's size and
    its aliases' expansion and refuses non-UTF-8 bytes, recursive aliases and
    duplicate keys, naming the line.
    """
    source = str(path)
    fast = _registered_json(path)
    if fast is not None:
        text, data = fast
        return _validated(data, source, lambda: _root_of(text, source))
    from flext_sdk.yaml_files import read_yaml

    read = read_yaml(path, max_bytes=MAX_DEFINITION_BYTES, max_values=MAX_DEFINITION_VALUES)
    if read.is_failure:
        return FlextResult.fail(read.error or "", VALIDATION_ERROR, read.error_data)
    return _validated_document(read.value)


def parse_definition(text: str, source: str) -> FlextResult[PipelineDefinition]:
    """Validate definition ``text`` (JSON or YAML); ``source`` names it in errors."""
    data = _strict_json(text)
    if data is not _NOT_JSON:
        return _validated(data, source, lambda: _root_of(text, source))
    from flext_sdk.yaml_files import parse_yaml

    parsed = parse_yaml(text, source, max_values=MAX_DEFINITION_VALUES)
    if parsed.is_failure:
        return FlextResult.fail(parsed.error or "", VALIDATION_ERROR, parsed.error_data)
    return _validated_document(parsed.value)


_NOT_JSON: Any = object()
"""What ``_strict_json`` returns for text that is not plain JSON."""


def _registered_json(path: Path) -> tuple[str, Any] | None:
    """``(text, data)`` of a file that is small, UTF-8 and plain JSON (a registered copy); else None."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_DEFINITION_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_DEFINITION_BYTES:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    data = _strict_json(text)
    return None if data is _NOT_JSON else (text, data)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise _DuplicateKey
    return mapping


def _strict_json(text: str) -> Any:
    """The JSON document ``text`` holds, or ``_NOT_JSON`` (YAML, a duplicate key, broken: YAML says where)."""
    if not text.lstrip().startswith("{"):
        return _NOT_JSON
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _root_of(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text``, for the line numbers of a validation error (JSON is YAML)."""
    from flext_sdk.yaml_files import parse_yaml

    parsed = parse_yaml(text, source, max_values=MAX_DEFINITION_VALUES)
    return parsed.value.root if parsed.is_success else None


def _validated_document(document: YamlDocument) -> FlextResult[PipelineDefinition]:
    """Validate a parsed YAML document, refusing one whose aliases expand past the size of a definition."""
    if document.root is not None:
        grown = _expanded_past(document.root, MAX_DEFINITION_BYTES)
        if grown is not None:
            return FlextResult.fail(
                f"{document.source}:{grown}: the definition grows past {MAX_DEFINITION_BYTES} bytes "
                "once its aliases are expanded; write the values out or shorten them",
                VALIDATION_ERROR,
                {"file": document.source, "line": grown},
            )
    return _validated(document.data, document.source, lambda: document.root)


def _validated(
    data: Any, source: str, root: Callable[[], yaml.Node | None]
) -> FlextResult[PipelineDefinition]:
    """``data`` as a definition; ``root`` gives the node tree for line numbers, only when it is invalid."""
    if not isinstance(data, dict):
        return FlextResult.fail(
            f"{source}:1: a pipeline definition is a mapping with name, extract and load",
            error_code=VALIDATION_ERROR,
            error_data={"file": source, "line": 1},
        )
    try:
        return FlextResult.ok(PipelineDefinition.model_validate(data))
    except ValidationError as exc:
        return _invalid(exc, root(), source)


def _expanded_past(root: yaml.Node, limit: int) -> int | None:
    """The line of the first node whose expanded text (aliases written out) exceeds ``limit`` characters.

    ``parse_yaml`` bounds how many values a document expands to, not how long
    they are: one long string aliased a thousand times is a few kilobytes of
    file and gigabytes of registered copy. Each shared node is sized once, so
    this costs the size of the file; recursive aliases were refused before.
    """
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if children and not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        own = len(node.value) if isinstance(node, yaml.ScalarNode) else 2
        size = own + sum(sizes[id(child)] + 2 for child in children)
        if size > limit:
            return node.start_mark.line + 1
        sizes[id(node)] = size
    return None


def _invalid(exc: ValidationError, root: yaml.Node | None, source: str) -> FlextResult[PipelineDefinition]:
    """Every error of ``exc``, by line: one message joining them all, and each in ``error_data``."""
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
