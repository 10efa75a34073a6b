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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_singer.catalog import KNOWN, CatalogEntry, known, workspace_dir
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


@dataclass(frozen=True)
class _Unusable:
    """A connector a running plugin offers that cannot run, and why: what ``resolve`` tells the user."""

    plugin: str
    kind: str | None
    """None when the declaration is too broken to say."""
    error: str
    code: str
    hint: str


def installed(kernel: FlextKernel, kind: ConnectorKind | None = None) -> list[ConnectorSpec]:
    """Every installed Singer executable (of ``kind``), isolated ones first, by name."""
    return _of_kind(_scan(kernel)[0], kind)


def _scan(kernel: FlextKernel) -> tuple[list[ConnectorSpec], dict[str, _Unusable]]:
    """Every installed connector (the first of each name), and the plugins' offers that cannot run."""
    from_plugins, unusable = _from_plugins(kernel)
    found: dict[str, ConnectorSpec] = {}
    for spec in [*_from_tools(), *from_plugins]:
        found.setdefault(spec.name, spec)
    return list(found.values()), unusable


def _of_kind(specs: list[ConnectorSpec], kind: ConnectorKind | None) -> list[ConnectorSpec]:
    return sorted((s for s in specs if kind is None or s.kind == kind), key=lambda s: s.name)


def installable(kernel: FlextKernel, kind: ConnectorKind, present: list[ConnectorSpec]) -> list[CatalogEntry]:
    """Catalog entries of ``kind`` not in ``present`` that can be installed from here.

    A PyPI entry always can. A workspace entry (a connector that comes with a
    first-party plugin) can only while its plugin is not installed and this
    checkout holds it: installed, the plugin either offers the connector
    (``present``) or is off or broken, which ``resolve`` explains.
    """
    names = {spec.name for spec in present}
    return [
        entry
        for entry in KNOWN
        if entry.kind == kind
        and entry.name not in names
        and (
            entry.origin == "pypi"
            or (entry.spec.plugin not in kernel.plugins.records and workspace_dir(entry) is not None)
        )
    ]


def resolve(kernel: FlextKernel, name: str, kind: ConnectorKind) -> FlextResult[ConnectorSpec]:
    """The installed ``kind`` called ``name``; a failure says how to install (or enable) it.

    A connector a running plugin offers but that cannot run (its executable
    is missing, its declaration is invalid) fails naming that plugin and
    what is wrong: "add it" would install a second copy beside the broken one.
    """
    specs, unusable = _scan(kernel)
    for spec in _of_kind(specs, kind):
        if spec.name == name:
            return FlextResult.ok(spec)
    broken = unusable.get(name)
    if broken is not None and broken.kind in (None, kind):
        return FlextResult.fail(
            broken.error,
            error_code=broken.code,
            error_data={"name": name, "plugin": broken.plugin, "hint": broken.hint},
        )
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


def plugin_off(kernel: FlextKernel, entry: CatalogEntry) -> FlextResult[Any] | None:
    """The failure for a catalog entry whose plugin is not running (off, broken, not installed); else None.

    A plugin that is not installed is installed from this checkout
    (``flext plugin install <checkout>/plugins/<name>``): first-party plugins
    are not on PyPI.
    """
    plugin = entry.spec.plugin
    if plugin is None:
        return None
    record = kernel.plugins.records.get(plugin)
    if record is not None and record.state in _LIVE:
        return None  # running: its hook answered (or ``resolve`` says why its connector cannot run)
    where = workspace_dir(entry)
    provider = Provider(plugin, str(where) if where is not None else entry.package)
    failure = plugin_unavailable(kernel, provider, why=f"{entry.kind} {entry.name!r} comes with a plugin")
    if record is None and where is None:
        hint = (
            f"{entry.package} is not on PyPI: install it from a FLEXT checkout, "
            f"'flext plugin install <checkout>/plugins/{plugin}'"
        )
        data = {**failure.error_data, "hint": hint}
        return FlextResult.fail(failure.error or "", error_code=failure.error_code, error_data=data)
    return failure


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


def _from_plugins(kernel: FlextKernel) -> tuple[list[ConnectorSpec], dict[str, _Unusable]]:
    """The connectors running plugins declare, completed from each plugin's record; and those that cannot run.

    A broken offer is kept aside (by name) rather than failing the scan: it must
    not hide the plugin's other connectors, nor anybody else's.
    """
    specs: list[ConnectorSpec] = []
    unusable: dict[str, _Unusable] = {}
    for plugin, answer in kernel.plugins.collect(CONNECTORS_HOOK):
        record = kernel.plugins.records[plugin]
        distribution = record.candidate.distribution or f"plugin {plugin!r}"
        for declared in answer:
            try:
                spec = ConnectorSpec.model_validate(declared)
            except ValueError as exc:
                name, kind = _declared_name(declared)
                if name is not None:
                    unusable.setdefault(
                        name,
                        _Unusable(
                            plugin,
                            kind,
                            f"{kind or 'connector'} {name!r} comes with plugin {plugin!r}, "
                            f"but the plugin declares it wrongly: {_first_error(exc)}",
                            VALIDATION_ERROR,
                            f"a bug in {distribution}: upgrade it, or tell its authors",
                        ),
                    )
                continue
            executable = _executable(spec.executable)
            if executable is None:  # declared but not installed (a console script missing)
                unusable.setdefault(
                    spec.name,
                    _Unusable(
                        plugin,
                        spec.kind,
                        f"{spec.kind} {spec.name!r} comes with plugin {plugin!r}, "
                        f"but its executable is missing ({_expected(spec.executable)})",
                        NOT_FOUND,
                        f"reinstall {distribution}: it should install {spec.executable!r}",
                    ),
                )
                continue
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
    return specs, unusable


def _declared_name(declared: object) -> tuple[str | None, str | None]:
    """The name and kind an invalid declaration gives, if it gives them, to say which connector is broken."""
    if isinstance(declared, Mapping):
        name, kind = declared.get("name"), declared.get("kind")
    else:
        name, kind = getattr(declared, "name", None), getattr(declared, "kind", None)
    return (
        name if isinstance(name, str) and name else None,
        kind if kind in ("tap", "target", "mapper") else None,
    )


def _first_error(exc: ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def _expected(name: str) -> str:
    """Where ``_executable`` looked for ``name``."""
    return name if Path(name).is_absolute() else str(Path(sys.executable).parent / name)


def _executable(name: str) -> Path | None:
    """An absolute path as it is, else the console script next to flext's Python; None if missing."""
    path = Path(_expected(name))
    return path if path.exists() else None


def describe_file(spec: ConnectorSpec) -> str:
    """The text of an isolated environment's description file."""
    return json.dumps(spec.model_dump(mode="json"), indent=2)
