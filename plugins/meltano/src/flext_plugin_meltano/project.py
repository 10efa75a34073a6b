"""A Meltano project as flext reads it: ``meltano.yml`` (and its ``include_paths``), checked, never changed.

``load_project`` reads the files with ``flext_sdk.yaml_files`` (bounded,
line numbers kept) and checks them in two passes, each failure one line
naming the file, line and key:

1. against the JSON schema of ``meltano.yml`` that the pinned Meltano ships
   (``tool.meltano_schema``), so a key Meltano would refuse is refused here
   with the same rules;
2. against what the schema cannot say: an ``inherit_from``, a mapping or a
   job task naming a plugin the project does not declare; a ``pip_url`` pip
   cannot read (a requirement that does not parse, a local path that does not
   exist); a plugin that only Meltano Hub could define (no ``namespace``, no
   ``pip_url``: the Hub is not reachable); an environment that does not exist.

The result keeps the values as written: ``$VAR`` references are not filled in
(see ``variables``), and ``.env`` is read for its variable *names* only.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult

__all__ = [
    "PLUGIN_KINDS",
    "Block",
    "MeltanoProject",
    "Plugin",
    "find_project",
    "load_project",
]

PROJECT_FILE: Final = "meltano.yml"
PLUGIN_KINDS: Final = (
    "extractors",
    "loaders",
    "mappers",
    "utilities",
    "transformers",
    "transforms",
    "orchestrators",
    "files",
)
"""The plugin types of ``meltano.yml``'s ``plugins``."""
_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected")


@dataclass(frozen=True)
class Plugin:
    """One plugin as declared, with its ``inherit_from`` chain and environment overlay applied."""

    kind: str
    """``extractors``, ``loaders``, ``mappers``, ..."""
    name: str
    """Its name in ``meltano.yml`` (``tap-ldif--contractors``)."""
    base: str
    """The first plugin of its ``inherit_from`` chain (``tap-ldif``): what installs and runs."""
    namespace: str | None
    pip_url: str | None
    executable: str | None
    config: Mapping[str, Any]
    """The configuration as written (``$VAR`` kept), parent's then own then the environment's."""
    select: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    settings: tuple[Mapping[str, Any], ...] = ()
    mappings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """For a mapper: each mapping's name and its configuration."""
    source: str = PROJECT_FILE
    """The file that declares it."""
    commands: Mapping[str, Any] = field(default_factory=dict)
    """Its ``commands`` (the parent's, then its own): those named ``test...`` are ``meltano test``'s."""


@dataclass(frozen=True)
class Block:
    """One ``extractor [mappings...] loader`` sequence of a job task or a ``meltano run``."""

    extractor: Plugin
    mappers: tuple[tuple[Plugin, str], ...]
    """Each mapper plugin and the mapping name the block used."""
    loader: Plugin
    job: str | None
    """The job the block belongs to, if any."""

    @property
    def state_suffix(self) -> str:
        """``<extractor>-to-<loader>``: Meltano's state id without the environment."""
        return f"{self.extractor.name}-to-{self.loader.name}"


@dataclass(frozen=True)
class MeltanoProject:
    """A checked project, in one environment."""

    root: Path
    """The directory holding ``meltano.yml``."""
    environment: str | None
    """The environment applied: the one asked for, else ``default_environment``."""
    data: Mapping[str, Any]
    """``meltano.yml`` merged with its included files, as written."""
    plugins: Mapping[str, Plugin]
    env: Mapping[str, str]
    """``env`` of the project, then of the environment, as written (not secret: meltano.yml holds them)."""
    dotenv_names: frozenset[str]
    """The variables ``.env`` sets (their values are never read into flext)."""

    @property
    def jobs(self) -> dict[str, list[str]]:
        """Each job's tasks, one string per task."""
        jobs: dict[str, list[str]] = {}
        for job in self.data.get("jobs") or []:
            tasks = job["tasks"]
            tasks = [tasks] if isinstance(tasks, str) else tasks
            jobs[job["name"]] = [task if isinstance(task, str) else " ".join(task) for task in tasks]
        return jobs

    def blocks(self, names: Sequence[str], *, job: str | None = None) -> FlextResult[list[Block]]:
        """The extractor-mappers-loader blocks of a ``meltano run`` argument list (job names expand).

        Utilities and ``plugin:command`` steps are not blocks; they are skipped.
        """
        blocks: list[Block] = []
        pending: list[tuple[Plugin, str]] = []
        extractor: Plugin | None = None
        for token in names:
            if token in self.jobs and job is None:
                for task in self.jobs[token]:
                    expanded = self.blocks(task.split(), job=token)
                    if isinstance(expanded, Failure):
                        return expanded
                    blocks += expanded.value
                continue
            plugin, mapping = self.step(token)
            if plugin is None:
                where = f"job {job!r}" if job else "the run"
                return _invalid(f"{PROJECT_FILE}: {where} names {token!r}, which no plugin or mapping is")
            if plugin.kind == "extractors":
                extractor, pending = plugin, []
            elif plugin.kind == "mappers" and extractor is not None:
                pending.append((plugin, mapping or plugin.name))
            elif plugin.kind == "loaders" and extractor is not None:
                blocks.append(Block(extractor, tuple(pending), plugin, job))
                extractor, pending = None, []
        return FlextResult.ok(blocks)

    def step(self, token: str) -> tuple[Plugin | None, str | None]:
        """The plugin a ``meltano run`` token names (a plugin, ``plugin:command``, a mapping); the mapping."""
        name = token.split(":", 1)[0]
        if name in self.plugins:
            return self.plugins[name], None
        for plugin in self.plugins.values():
            if name in plugin.mappings:
                return plugin, name
        return None, None


def find_project(directory: Path | None) -> FlextResult[Path]:
    """The project root: ``directory`` (default: the working directory) or its nearest parent with one."""
    start = (directory or Path.cwd()).expanduser()
    if not start.is_dir():
        return FlextResult.fail(
            f"{start}: no such directory (the Meltano project to use)",
            NOT_FOUND,
            {"reason": "no_project", "project_dir": str(start)},
        )
    for candidate in (start.resolve(), *start.resolve().parents):
        if (candidate / PROJECT_FILE).is_file():
            return FlextResult.ok(candidate)
    return FlextResult.fail(
        f"{start}: no {PROJECT_FILE} here or in a parent directory; pass --project DIR",
        VALIDATION_ERROR,
        {"reason": "no_project", "project_dir": str(start)},
    )


def load_project(
    root: Path, *, schema: Path | None = None, environment: str | None = None
) -> FlextResult[MeltanoProject]:
    """Read and check the project at ``root`` in ``environment`` (default: its ``default_environment``)."""
    from flext_sdk.yaml_files import read_yaml

    main_file = root / PROJECT_FILE
    read = read_yaml(main_file)
    if isinstance(read, Failure):
        return FlextResult.fail(read.error or "", VALIDATION_ERROR, read.error_data)
    documents = [read.value]
    if not isinstance(read.value.data, dict):
        return _invalid(f"{main_file}:1: must be a mapping of Meltano's keys (version, plugins, jobs, ...)")
    for included in _included(root, read.value.data.get("include_paths") or []):
        more = read_yaml(included)
        if isinstance(more, Failure):
            return FlextResult.fail(more.error or "", VALIDATION_ERROR, more.error_data)
        documents.append(more.value)
    if schema is not None:
        for document in documents:
            checked = _check_schema(document, schema)
            if isinstance(checked, Failure):
                return checked
    return _build(root, documents, environment)


def _included(root: Path, patterns: Sequence[str]) -> Iterator[Path]:
    for pattern in patterns:
        yield from sorted(root.glob(pattern.removeprefix("./")))


def _check_schema(document: Any, schema_file: Path) -> FlextResult[None]:
    """The first place (by line) where ``document`` breaks Meltano's schema, as one line."""
    import json

    import jsonschema

    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(document.data if document.data is not None else {}),
        key=lambda error: document.line_of(_location(error)),
    )
    if not errors:
        return FlextResult.ok(None)
    error = _deepest(errors[0])
    location = _location(error)
    unexpected = _UNEXPECTED.search(error.message)
    if unexpected is not None:
        key = unexpected.group(1)
        line = document.line_of([*location, key])
        return _invalid(
            f"{document.source}:{line}: {_dotted([*location, key])}: unknown key (Meltano's schema does not "
            "allow it here); remove it or fix its spelling",
            key=_dotted([*location, key]),
            file=document.source,
        )
    line = document.line_of(location)
    return _invalid(
        f"{document.source}:{line}: {_dotted(location) or '(top level)'}: {error.message}",
        key=_dotted(location),
        file=document.source,
    )


def _deepest(error: Any) -> Any:
    """The most specific of a ``oneOf``/``allOf`` error's causes (else the error itself)."""
    while error.context:
        error = max(error.context, key=lambda inner: len(inner.absolute_path))
    return error


def _location(error: Any) -> list[str | int]:
    return list(error.absolute_path)


def _dotted(location: Sequence[str | int]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _build(root: Path, documents: Sequence[Any], environment: str | None) -> FlextResult[MeltanoProject]:
    main = documents[0]
    data: dict[str, Any] = dict(main.data)
    declared: list[tuple[str, dict[str, Any], Any, list[str | int]]] = []
    for document in documents:
        plugins = (document.data or {}).get("plugins") or {}
        for kind in PLUGIN_KINDS:
            for index, entry in enumerate(plugins.get(kind) or []):
                declared.append((kind, entry, document, ["plugins", kind, index]))
        if document is not main:
            for key in ("jobs", "schedules", "environments"):
                data[key] = [*(data.get(key) or []), *((document.data or {}).get(key) or [])]
    environments = {entry["name"]: entry for entry in data.get("environments") or []}
    chosen = environment if environment is not None else data.get("default_environment")
    if chosen is not None and chosen not in environments:
        where = (
            "--environment"
            if environment is not None
            else f"{main.source}:{main.line_of(['default_environment'])}: default_environment"
        )
        known = ", ".join(sorted(environments)) or "none"
        return _invalid(
            f"{where}: no environment {chosen!r} in {main.source} (its environments: {known})",
            key="environments",
            file=main.source,
        )
    overlay = _environment_overlay(environments.get(chosen) if chosen else None)
    plugins = _resolve_plugins(declared, overlay)
    if isinstance(plugins, Failure):
        return plugins
    project = MeltanoProject(
        root=root,
        environment=chosen,
        data=data,
        plugins=plugins.value,
        env={
            **_strings(data.get("env")),
            **_strings((environments.get(chosen) or {}).get("env") if chosen else None),
        },
        dotenv_names=_dotenv_names(root / ".env"),
    )
    for name, tasks in project.jobs.items():
        for task in tasks:
            checked = project.blocks(task.split(), job=name)
            if isinstance(checked, Failure):
                return checked
    return FlextResult.ok(project)


def _environment_overlay(environment: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Each plugin's environment-specific ``config``/``select``/``metadata``, by plugin name."""
    if not environment:
        return {}
    plugins = ((environment.get("config") or {}).get("plugins")) or {}
    return {entry["name"]: entry for kind in PLUGIN_KINDS for entry in plugins.get(kind) or []}


def _resolve_plugins(
    declared: Sequence[tuple[str, dict[str, Any], Any, list[str | int]]],
    overlay: Mapping[str, Mapping[str, Any]],
) -> FlextResult[dict[str, Plugin]]:
    by_name = {
        entry["name"]: (kind, entry, document, location) for kind, entry, document, location in declared
    }
    resolved: dict[str, Plugin] = {}

    def resolve(name: str, seen: tuple[str, ...]) -> FlextResult[Plugin]:
        if name in resolved:
            return FlextResult.ok(resolved[name])
        kind, entry, document, location = by_name[name]
        parent_name = entry.get("inherit_from")
        where = f"{document.source}:{document.line_of(location)}: {_dotted(location)}"
        if parent_name is not None:
            if parent_name not in by_name or by_name[parent_name][0] != kind or parent_name in seen:
                line = document.line_of([*location, "inherit_from"])
                return _invalid(
                    f"{document.source}:{line}: {_dotted([*location, 'inherit_from'])}: plugin {name!r} "
                    f"inherits from {parent_name!r}, which is not another of the project's {kind}",
                    key=_dotted([*location, "inherit_from"]),
                    file=document.source,
                )
            parent = resolve(parent_name, (*seen, name))
            if isinstance(parent, Failure):
                return parent
            plugin = _inherit(parent.value, kind, entry, document.source)
        else:
            checked = _check_own(entry, document, location, where)
            if isinstance(checked, Failure):
                return checked
            plugin = _inherit(None, kind, entry, document.source)
        plugin = _overlay(plugin, overlay.get(name))
        resolved[name] = plugin
        return FlextResult.ok(plugin)

    for name in by_name:
        done = resolve(name, ())
        if isinstance(done, Failure):
            return FlextResult.fail(done.error or "", done.error_code, done.error_data)
    for plugin in resolved.values():
        pip_url = by_name[plugin.name][1].get("pip_url")
        if pip_url is not None:
            _kind, _entry, document, location = by_name[plugin.name]
            checked = _check_pip_url(pip_url, document, [*location, "pip_url"])
            if isinstance(checked, Failure):
                return FlextResult.fail(checked.error or "", checked.error_code, checked.error_data)
    return FlextResult.ok(resolved)


def _check_own(
    entry: Mapping[str, Any], document: Any, location: list[str | int], where: str
) -> FlextResult[None]:
    if entry.get("namespace") is None and entry.get("pip_url") is None:
        return _invalid(
            f"{where}: plugin {entry['name']!r} has neither namespace nor pip_url, so only Meltano Hub could "
            "define it, and the Hub is not reachable: declare namespace, pip_url and executable",
            key=f"{_dotted(location)}.pip_url",
            file=document.source,
        )
    return FlextResult.ok(None)


def _check_pip_url(pip_url: str, document: Any, location: list[str | int]) -> FlextResult[None]:
    """A ``pip_url`` pip can read: options, URLs, existing local paths and valid requirements."""
    import os

    from packaging.requirements import InvalidRequirement, Requirement

    where = f"{document.source}:{document.line_of(location)}: {_dotted(location)}"
    try:
        tokens = shlex.split(pip_url)
    except ValueError as exc:
        return _invalid(
            f"{where}: not a pip argument list: {exc}", key=_dotted(location), file=document.source
        )
    root = Path(document.source).parent
    for token in tokens:
        if token.startswith(("-", "git+")) or "://" in token:
            continue
        if token.startswith(("/", ".", "~", "$")) or os.sep in token:
            expanded = Path(os.path.expanduser(os.path.expandvars(token)))
            if "$" in str(expanded):  # a variable not set here: pip would see it as written
                continue
            path = expanded if expanded.is_absolute() else root / expanded
            if not path.exists():
                return _invalid(
                    f"{where}: {token!r} is a local path that does not exist ({path})",
                    key=_dotted(location),
                    file=document.source,
                )
            continue
        try:
            Requirement(token)
        except InvalidRequirement as exc:
            return _invalid(
                f"{where}: {token!r} is not a requirement pip can install ({str(exc).splitlines()[0]})",
                key=_dotted(location),
                file=document.source,
            )
    return FlextResult.ok(None)


def _inherit(parent: Plugin | None, kind: str, entry: Mapping[str, Any], source: str) -> Plugin:
    return Plugin(
        kind=kind,
        name=entry["name"],
        base=parent.base if parent else entry["name"],
        namespace=entry.get("namespace", parent.namespace if parent else None),
        pip_url=entry.get("pip_url", parent.pip_url if parent else None),
        executable=entry.get("executable", parent.executable if parent else None),
        config={**(parent.config if parent else {}), **(entry.get("config") or {})},
        select=tuple(entry.get("select") or (parent.select if parent else ())),
        metadata={**(parent.metadata if parent else {}), **(entry.get("metadata") or {})},
        settings=(*(parent.settings if parent else ()), *(entry.get("settings") or ())),
        commands={**(parent.commands if parent else {}), **(entry.get("commands") or {})},
        mappings={
            **(parent.mappings if parent else {}),
            **{mapping["name"]: mapping.get("config") or {} for mapping in entry.get("mappings") or []},
        },
        source=source,
    )


def _overlay(plugin: Plugin, environment: Mapping[str, Any] | None) -> Plugin:
    if not environment:
        return plugin
    from dataclasses import replace

    return replace(
        plugin,
        config={**plugin.config, **(environment.get("config") or {})},
        select=tuple(environment.get("select") or plugin.select),
        metadata={**plugin.metadata, **(environment.get("metadata") or {})},
    )


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(key): str(value) for key, value in (mapping or {}).items()}


def _dotenv_names(path: Path) -> frozenset[str]:
    """The names ``.env`` sets (``NAME=value`` or ``export NAME=value``); the values are not kept."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    names = set()
    for line in text.splitlines():
        stripped = line.strip().removeprefix("export ").strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            names.add(stripped.split("=", 1)[0].strip())
    return frozenset(names)


def _invalid(message: str, *, key: str | None = None, file: str | None = None) -> FlextResult[Any]:
    data: dict[str, Any] = {"reason": "invalid_project"}
    if key is not None:
        data["key"] = key
    if file is not None:
        data["file"] = file
    return FlextResult.fail(message, VALIDATION_ERROR, data)
