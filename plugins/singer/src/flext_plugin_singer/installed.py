"""Which taps, targets and mappers are installed, and where their executables are.

Two places, looked at in this order:

1. each one's isolated environment (``flext data taps add``), described by
   the ``flext-singer.json`` written there at install time;
2. the running plugins that answer the ``flext_singer_connectors`` hook (the
   first-party tap-ldif and target-sqlite), run from this interpreter's
   ``bin`` directory. A disabled plugin is not asked, so its connectors are
   not installed as far as flext is concerned.

Nothing else on PATH is picked up silently: a pipeline runs exactly what
``flext data taps list`` shows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.errors import NOT_FOUND
from flext_plugin_singer.catalog import KNOWN, known
from flext_sdk import FlextResult, PluginState, tools
from flext_sdk.contracts import Provider, plugin_unavailable
from flext_sdk.contracts.singer import ConnectorKind, ConnectorSpec

if TYPE_CHECKING:
    from flext_sdk import FlextKernel

__all__ = [
    "CONNECTORS_HOOK",
    "DESCRIPTION_FILE",
    "describe_file",
    "installable",
    "installed",
    "plugin_off",
    "resolve",
]

CONNECTORS_HOOK = "flext_singer_connectors"
"""The hook plugins answer with their connectors (``flext_plugin_singer.hookspecs``)."""
DESCRIPTION_FILE = "flext-singer.json"
"""Written into an isolated environment at install time: the spec, with version and capabilities."""

_LIVE = (PluginState.LOADED, PluginState.ACTIVE)


def installed(kernel: FlextKernel, kind: ConnectorKind | None = None) -> list[ConnectorSpec]:
    """Every installed Singer executable (of ``kind``), isolated ones first, by name."""
    found: dict[str, ConnectorSpec] = {}
    for spec in [*_from_tools(), *_from_plugins(kernel)]:
        found.setdefault(spec.name, spec)
    return sorted((s for s in found.values() if kind is None or s.kind == kind), key=lambda s: s.name)


def installable(
    kernel: FlextKernel, kind: ConnectorKind, present: list[ConnectorSpec]
) -> list[ConnectorSpec]:
    """Catalog entries of ``kind`` that are not in ``present``, less those of a plugin that is off."""
    names = {spec.name for spec in present}
    return [
        spec
        for spec in KNOWN
        if spec.kind == kind and spec.name not in names and plugin_off(kernel, spec) is None
    ]


def resolve(kernel: FlextKernel, name: str, kind: ConnectorKind) -> FlextResult[ConnectorSpec]:
    """The installed ``kind`` called ``name``; a failure says how to install (or enable) it."""
    for spec in installed(kernel, kind):
        if spec.name == name:
            return FlextResult.ok(spec)
    entry = known(name)
    off = plugin_off(kernel, entry) if entry is not None and entry.kind == kind else None
    if off is not None:
        return off
    plural = "mappers" if kind == "mapper" else f"{kind}s"
    hint = (
        f"run 'flext data {plural} add {name}'"
        if entry is not None
        else f"run 'flext data {plural} add {name} --pip-url SPEC' "
        f"(or check the name with 'flext data {plural} list')"
    )
    return FlextResult.fail(
        f"{kind} {name!r} is not installed: {hint}", error_code=NOT_FOUND, error_data={"name": name}
    )


def plugin_off(kernel: FlextKernel, entry: ConnectorSpec) -> FlextResult[Any] | None:
    """The failure for a catalog entry whose plugin is installed but not running; else None."""
    if entry.plugin is None:
        return None
    record = kernel.plugins.records.get(entry.plugin)
    if record is None or record.state in _LIVE:
        return None  # not installed: the catalog offers it; running: its hook answered
    provider = Provider(entry.plugin, entry.pip_url or f"flext-plugin-{entry.plugin}")
    return plugin_unavailable(kernel, provider, why=f"{entry.kind} {entry.name!r} comes with a plugin")


def _from_tools() -> list[ConnectorSpec]:
    specs: list[ConnectorSpec] = []
    for tool in tools.installed():
        try:
            spec = ConnectorSpec.model_validate_json(
                (tool.path / DESCRIPTION_FILE).read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            continue  # a tool environment of something else (dbt, meltano)
        executable = tool.executable(spec.executable)
        if executable is not None:
            specs.append(spec.model_copy(update={"source": "tools", "location": str(executable)}))
    return specs


def _from_plugins(kernel: FlextKernel) -> list[ConnectorSpec]:
    """The connectors running plugins declare, completed from each plugin's record."""
    specs: list[ConnectorSpec] = []
    for plugin, answer in kernel.plugins.collect(CONNECTORS_HOOK):
        record = kernel.plugins.records[plugin]
        for declared in answer:
            try:
                spec = ConnectorSpec.model_validate(declared)
            except ValueError:
                continue  # a broken declaration must not hide the others
            executable = _executable(spec.executable)
            if executable is None:
                continue  # declared but not installed (a console script missing)
            specs.append(
                spec.model_copy(
                    update={
                        "version": spec.version or record.version,
                        "pip_url": spec.pip_url or record.candidate.distribution,
                        "source": "plugin",
                        "plugin": plugin,
                        "location": str(executable),
                    }
                )
            )
    return specs


def _executable(name: str) -> Path | None:
    """An absolute path as it is, else the console script next to flext's Python; None if missing."""
    path = Path(name) if Path(name).is_absolute() else Path(sys.executable).parent / name
    return path if path.exists() else None


def describe_file(spec: ConnectorSpec) -> str:
    """The text of an isolated environment's description file."""
    return json.dumps(spec.model_dump(mode="json"), indent=2)
