"""``flext data taps|targets|mappers list|add``: what is installed, what can be, and installing it.

Each command boots the kernel with this run's plugins, because the
connectors that come with plugins are asked of the running ones: a plugin
``flext plugin disable`` turned off contributes none.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_singer.catalog import CatalogEntry, known, workspace_dir
from flext_plugin_singer.installed import DESCRIPTION_FILE, describe_file, installable, installed, resolve
from flext_sdk import FlextKernel, FlextResult, tools
from flext_sdk.cli import EXIT_OK, boot_kernel, current, emit, emit_table, fail, note
from flext_sdk.contracts import hint_of
from flext_sdk.contracts.singer import ConnectorKind, ConnectorSpec

__all__ = ["add_mapper", "add_tap", "add_target", "list_mappers", "list_taps", "list_targets"]

_INSTALLED_COLUMNS = ["name", "version", "from", "description"]
_AVAILABLE_COLUMNS = ["name", "from", "description"]


def list_taps(*, available: bool = True) -> int:
    """List taps: installed ones with version and origin, then installable ones and where they come from.

    Args:
        available: Also list taps that can be installed (flext's checked list: PyPI, this checkout).

    """
    return _list("tap", available)


def list_targets(*, available: bool = True) -> int:
    """List targets: installed ones with version and origin, then installable ones and where they come from.

    Args:
        available: Also list targets that can be installed (flext's checked list: PyPI, this checkout).

    """
    return _list("target", available)


def list_mappers(*, available: bool = True) -> int:
    """List mappers (run between a tap and a target): installed ones, then installable ones.

    Args:
        available: Also list mappers that can be installed (flext's checked list: PyPI, this checkout).

    """
    return _list("mapper", available)


def _list(kind: ConnectorKind, offer: bool) -> int:
    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        present = installed(kernel, kind)
        rows = [_installed_row(spec) for spec in present]
        if offer:
            rows += [_available_row(entry) for entry in installable(kernel, kind, present)]
    if current().output != "table":
        return emit(rows)
    return _print_tables(kind, rows, offer)


def _print_tables(kind: ConnectorKind, rows: list[dict[str, object]], offer: bool) -> int:
    """Two short tables for people: what is installed, then what can be (with the command for it)."""
    plural = _plural(kind)
    present = [{**row, "from": _origin(row)} for row in rows if row["status"] == "installed"]
    offered = [{**row, "from": _origin(row)} for row in rows if row["status"] == "available"]
    if present:
        emit_table(present, _INSTALLED_COLUMNS, title=f"Installed {plural}")
    else:
        print(f"no {plural} installed")
    if offered:
        print()
        emit_table(offered, _AVAILABLE_COLUMNS, title=f"Installable {plural}: flext data {plural} add NAME")
        for row in offered:
            if row["source"] == "workspace":  # not with add: its plugin brings it
                print(f"{row['name']} comes with plugin {row['plugin']}: {row['install']}")
    elif offer:
        print(f"every {kind} flext lists is installed")
    return EXIT_OK


def _origin(row: Mapping[str, object]) -> str:
    """Where a row's connector comes from, in a few words (the JSON has the whole requirement)."""
    source, package = row["source"], str(row["package"] or "")
    if source == "plugin":
        return f"plugin {row['plugin']}"
    if source == "workspace":
        return f"this checkout, plugins/{row['plugin']}"
    if "://" in package or package.startswith("git+"):
        return f"URL {package.rstrip('/').rsplit('/', 1)[-1]}"
    if "/" in package or package.startswith((".", "~")):
        return f"path {Path(package).name}"  # the directory's name: a whole path would not fit
    return f"PyPI {package}"


def _plural(kind: ConnectorKind) -> str:
    return f"{kind}s"


def _installed_row(spec: ConnectorSpec) -> dict[str, object]:
    """An installed connector, as ``list`` and ``add`` print it (docs: plugins/singer/README.md)."""
    return _row(
        spec,
        status="installed",
        source="plugin" if spec.source == "plugin" else "environment",
        package=spec.pip_url,
        install=None,
    )


def _available_row(entry: CatalogEntry) -> dict[str, object]:
    """A catalog entry that can be installed from here, and the command that does it."""
    where = workspace_dir(entry)
    if entry.origin == "workspace" and where is not None:
        install = f"flext plugin install {where}"
    else:
        install = f"flext data {_plural(entry.kind)} add {entry.name}"
    return _row(entry.spec, status="available", source=entry.origin, package=entry.package, install=install)


def _row(
    spec: ConnectorSpec, *, status: str, source: str, package: str | None, install: str | None
) -> dict[str, object]:
    return {
        "name": spec.name,
        "kind": spec.kind,
        "status": status,
        "version": spec.version,
        "source": source,
        "package": package,
        "plugin": spec.plugin,
        "install": install,
        "capabilities": list(spec.capabilities),
        "family": spec.family,
        "description": spec.description,
        "location": spec.location,
    }


def add_tap(name: str, *, pip_url: str | None = None, reinstall: bool = False) -> int:
    """Install a tap into its own virtual environment.

    Args:
        name: The tap (from 'flext data taps list', or any name with --pip-url).
        pip_url: What to install (a PyPI requirement, a local path, a VCS URL); default: the catalog's.
        reinstall: Build its environment again even if it is installed.

    """
    return _add("tap", name, pip_url, reinstall)


def add_target(name: str, *, pip_url: str | None = None, reinstall: bool = False) -> int:
    """Install a target into its own virtual environment.

    Args:
        name: The target (from 'flext data targets list', or any name with --pip-url).
        pip_url: What to install (a PyPI requirement, a local path, a VCS URL); default: the catalog's.
        reinstall: Build its environment again even if it is installed.

    """
    return _add("target", name, pip_url, reinstall)


def add_mapper(name: str, *, pip_url: str | None = None, reinstall: bool = False) -> int:
    """Install a mapper into its own virtual environment.

    Args:
        name: The mapper (from 'flext data mappers list', or any name with --pip-url).
        pip_url: What to install (a PyPI requirement, a local path, a VCS URL); default: the catalog's.
        reinstall: Build its environment again even if it is installed.

    """
    return _add("mapper", name, pip_url, reinstall)


def _add(kind: ConnectorKind, name: str, pip_url: str | None, reinstall: bool) -> int:
    entry = known(name)
    if entry is not None and entry.kind != kind:
        return fail(FlextResult.fail(f"{name} is a {entry.kind}, not a {kind}", error_code=VALIDATION_ERROR))
    if pip_url is None:
        booted = boot_kernel()
        if booted.is_failure:
            return fail(booted)
        with booted.value as kernel:
            provided = _provided(kernel, kind, name, entry)
        if provided.is_failure:
            return fail(provided, hint=hint_of(provided))
        if provided.value is not None:
            spec = provided.value
            return emit(
                _installed_row(spec),
                human=f"{name} {spec.version} comes with {spec.pip_url}; nothing to install",
            )
    if pip_url is None and entry is None:
        return fail(
            FlextResult.fail(f"{name!r} is not in flext's catalog", error_code=NOT_FOUND),
            hint=f"give what to install: flext data {_plural(kind)} add {name} --pip-url PACKAGE",
        )
    requirement = pip_url or (entry.package if entry is not None else name)
    base = entry.spec if entry is not None else ConnectorSpec(name=name, kind=kind, executable=name)
    spec = base.model_copy(update={"pip_url": requirement, "plugin": None})
    note(f"installing {name} from {requirement} into its own environment...")
    built = tools.install(name, [requirement], reinstall=reinstall)
    if built.is_failure:
        return fail(built)
    tool = built.value
    executable = tool.executable(spec.executable)
    if executable is None:
        tools.remove(name)
        return fail(
            FlextResult.fail(
                f"{requirement} installed no executable called {spec.executable!r}",
                error_code=VALIDATION_ERROR,
            )
        )
    described = spec.model_copy(
        update={
            "version": _version(tool.python, requirement),
            "capabilities": _capabilities(str(executable)) or spec.capabilities,
            "source": "tools",
            "location": str(executable),
        }
    )
    (tool.path / DESCRIPTION_FILE).write_text(describe_file(described), encoding="utf-8")
    return emit(_installed_row(described), human=f"installed {name} {described.version or ''} ({executable})")


def _provided(
    kernel: FlextKernel, kind: ConnectorKind, name: str, entry: CatalogEntry | None
) -> FlextResult[ConnectorSpec | None]:
    """The connector if a running plugin provides it; a failure if it comes with a plugin that does not.

    A workspace entry is never installed into an environment of its own: its
    plugin provides it, so ``resolve`` says what is wrong (the plugin is off,
    broken, or not installed, and how to install it from this checkout).
    """
    for spec in installed(kernel, kind):
        if spec.name == name and spec.source == "plugin":
            return FlextResult.ok(spec)
    if entry is not None and entry.origin == "workspace":
        resolved = resolve(kernel, name, kind)
        return resolved if resolved.is_failure else FlextResult.ok(resolved.value)
    return FlextResult.ok(None)


def _version(python: object, requirement: str) -> str | None:
    """The installed distribution's version, asked of the tool's own interpreter."""
    import re

    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None or "/" in requirement or requirement.startswith(("git+", ".")):
        return None
    code = f"import importlib.metadata as m; print(m.version({match.group(1)!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() or None


def _capabilities(executable: str) -> tuple[str, ...]:
    """What ``--about --format json`` says the executable can do (SDK-built ones answer; others don't)."""
    import json

    try:
        done = subprocess.run(
            [executable, "--about", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        about = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return ()
    capabilities = about.get("capabilities") if isinstance(about, dict) else None
    return tuple(str(item) for item in capabilities) if isinstance(capabilities, list) else ()
