"""A Meltano block as a FLEXT pipeline definition: same connectors, same config, secrets left where they are.

``pipeline_definition`` builds the YAML document ``flext pipeline create``
reads (docs/pipelines.md) from one block of a checked project:

- ``extract``, ``mappers`` and ``load`` name the block's plugins by the first
  plugin of their ``inherit_from`` chain (``tap-ldif--contractors`` runs
  ``tap-ldif``), with the configuration Meltano would give them in the chosen
  environment (the parent's, the plugin's own, the environment's), and the
  extractor's ``select`` patterns (both use ``stream.property`` and ``!``);
- each ``$VAR`` / ``${VAR}`` in a value becomes what it means to FLEXT:
  ``MELTANO_PROJECT_ROOT`` becomes ``${FLEXT_PIPELINE_DIR}`` (the definition
  is registered from the project directory), ``MELTANO_ENVIRONMENT`` the
  environment's name, a variable ``meltano.yml``'s own ``env`` sets (project,
  then environment) its value there (not a secret: it is in the file), and any
  other one stays a reference ``${VAR}``, filled from the environment when
  the pipeline runs. ``.env`` is never read for values;
- a setting the plugin declares but does not configure, whose Meltano
  environment variable (``TAP_X_PASSWORD``) ``.env`` sets, becomes
  ``${TAP_X_PASSWORD}``: Meltano would take it from there.

What a FLEXT definition cannot hold yet is listed in ``dropped``: the
extractor's ``metadata`` (replication method and key per stream).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from flext_plugin_meltano.project import Block, MeltanoProject, Plugin

__all__ = ["Connector", "ImportedPipeline", "pipeline_definition", "pipeline_name"]

_VARIABLE: Final = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_NOT_A_NAME: Final = re.compile(r"[^a-z0-9_-]+")
_KINDS: Final = {"extractors": "taps", "loaders": "targets", "mappers": "mappers"}


@dataclass(frozen=True)
class Connector:
    """A connector a pipeline needs in FLEXT, and how Meltano installs it."""

    kind: str
    """``taps``, ``targets`` or ``mappers`` (``flext data <kind> add``)."""
    name: str
    pip_url: str | None


@dataclass(frozen=True)
class ImportedPipeline:
    """One block as a FLEXT pipeline."""

    name: str
    definition: dict[str, Any]
    """The document for ``flext pipeline create``."""
    block: str
    """The block as Meltano runs it: ``tap-ldif hash-mail target-sqlite``."""
    job: str | None
    state_id: str
    """Meltano's state id of the block in the environment: ``dev:tap-ldif-to-target-sqlite``."""
    connectors: tuple[Connector, ...]
    dropped: tuple[str, ...] = field(default=())
    """What the definition could not carry."""


def pipeline_name(block: Block) -> str:
    """``<extractor>-to-<loader>``, as Meltano's state id ends (lower case, FLEXT's name rules)."""
    name = _NOT_A_NAME.sub("-", block.state_suffix.lower()).strip("-_")
    return name[:64]


def pipeline_definition(project: MeltanoProject, block: Block) -> ImportedPipeline:
    """The FLEXT pipeline of ``block`` in ``project``'s environment; see the module's docstring."""
    name = pipeline_name(block)
    steps = [block.extractor.name, *(mapping for _plugin, mapping in block.mappers), block.loader.name]
    environment = project.environment or "default"
    extract: dict[str, Any] = {"name": block.extractor.base, "config": _config(project, block.extractor)}
    if block.extractor.select:
        extract["select"] = list(block.extractor.select)
    definition: dict[str, Any] = {
        "name": name,
        "description": (
            f"Meltano block '{' '.join(steps)}'"
            + (f" of job {block.job}" if block.job else "")
            + f", environment {environment}, imported from {project.root / 'meltano.yml'}"
        ),
        "extract": extract,
        "load": {"name": block.loader.base, "config": _config(project, block.loader)},
    }
    if block.mappers:
        definition["mappers"] = [
            {"name": plugin.base, "config": _converted(project, dict(plugin.mappings.get(mapping, {})))}
            for plugin, mapping in block.mappers
        ]
    connectors = (
        _connector(block.extractor),
        *(_connector(plugin) for plugin, _mapping in block.mappers),
        _connector(block.loader),
    )
    dropped = ("metadata",) if block.extractor.metadata else ()
    return ImportedPipeline(
        name=name,
        definition=definition,
        block=" ".join(steps),
        job=block.job,
        state_id=f"{environment}:{block.state_suffix}",
        connectors=tuple(dict.fromkeys(connectors)),
        dropped=dropped,
    )


def _connector(plugin: Plugin) -> Connector:
    return Connector(kind=_KINDS[plugin.kind], name=plugin.base, pip_url=plugin.pip_url)


def _config(project: MeltanoProject, plugin: Plugin) -> dict[str, Any]:
    config = _converted(project, dict(plugin.config))
    for setting in plugin.settings:
        key = str(setting.get("name", ""))
        if not key or key in config:
            continue
        variable = _setting_variable(project, plugin, setting)
        if variable is not None:
            config[key] = f"${{{variable}}}"
    return dict(config)


def _setting_variable(project: MeltanoProject, plugin: Plugin, setting: Mapping[str, Any]) -> str | None:
    """The environment variable ``.env`` sets for ``setting`` (its own ``env``, or Meltano's names)."""
    candidates = [str(setting["env"])] if setting.get("env") else []
    for owner in (plugin.name, plugin.base, plugin.namespace):
        if owner:
            candidates.append(re.sub(r"[^A-Z0-9]+", "_", f"{owner}_{setting['name']}".upper()))
    return next((name for name in candidates if name in project.dotenv_names), None)


def _converted(project: MeltanoProject, value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _replacement(project, match, depth), value)
    if isinstance(value, dict):
        return {key: _converted(project, inner, depth) for key, inner in value.items()}
    if isinstance(value, list):
        return [_converted(project, inner, depth) for inner in value]
    return value


def _replacement(project: MeltanoProject, match: re.Match[str], depth: int) -> str:
    variable = match.group(1) or match.group(2)
    if variable == "MELTANO_PROJECT_ROOT":
        return "${FLEXT_PIPELINE_DIR}"
    if variable == "MELTANO_ENVIRONMENT" and project.environment:
        return project.environment
    if variable in project.env and depth < 10:  # meltano.yml's env may refer to other variables
        return str(_converted(project, project.env[variable], depth + 1))
    return f"${{{variable}}}"
