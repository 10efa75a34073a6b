"""``flext data taps|targets|mappers list|add``: what is installed, what can be, and installing it.

Each command boots the kernel with this run's plugins, because the
connectors that come with plugins are asked of the running ones: a plugin
``flext plugin disable`` turned off contributes none.
"""

from __future__ import annotations

import subprocess

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_singer.catalog import known
from flext_plugin_singer.installed import DESCRIPTION_FILE, describe_file, installable, installed, plugin_off
from flext_sdk import FlextKernel, FlextResult, tools
from flext_sdk.cli import boot_kernel, emit, emit_table, fail, note
from flext_sdk.contracts import hint_of
from flext_sdk.contracts.singer import ConnectorKind, ConnectorSpec

__all__ = ["add_mapper", "add_tap", "add_target", "list_mappers", "list_taps", "list_targets"]

_COLUMNS = ["name", "status", "version", "capabilities", "family", "description"]


def list_taps(*, available: bool = True) -> int:
    """List taps: installed ones with version and capabilities, then installable ones from the catalog.

    Args:
        available: Also list taps that can be installed (flext's built-in catalog).

    """
    return _list("tap", available)


def list_targets(*, available: bool = True) -> int:
    """List targets: installed ones with version and capabilities, then installable ones from the catalog.

    Args:
        available: Also list targets that can be installed (flext's built-in catalog).

    """
    return _list("target", available)


def list_mappers(*, available: bool = True) -> int:
    """List mappers (run between a tap and a target): installed ones, then installable ones.

    Args:
        available: Also list mappers that can be installed (flext's built-in catalog).

    """
    return _list("mapper", available)


def _list(kind: ConnectorKind, offer: bool) -> int:
    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        present = installed(kernel, kind)
        rows = [_row(spec, "installed") for spec in present]
        if offer:
            rows += [_row(spec, "available") for spec in installable(kernel, kind, present)]
    return emit_table(rows, _COLUMNS, title=f"{kind.capitalize()}s")


def _row(spec: ConnectorSpec, status: str) -> dict[str, object]:
    return {
        "name": spec.name,
        "status": status,
        "version": spec.version or "",
        "capabilities": list(spec.capabilities),
        "family": spec.family,
        "description": spec.description,
        "pip_url": spec.pip_url,
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
            provided = _provided(kernel, kind, name)
        if provided.is_failure:
            return fail(provided, hint=hint_of(provided))
        if provided.value is not None:
            spec = provided.value
            return emit(
                _row(spec, "installed"),
                human=f"{name} {spec.version} comes with {spec.pip_url}; nothing to install",
            )
    if pip_url is None and entry is None:
        return fail(
            FlextResult.fail(f"{name!r} is not in flext's catalog", error_code=NOT_FOUND),
            hint=f"give what to install: flext data {kind}s add {name} --pip-url PACKAGE",
        )
    spec = (entry or ConnectorSpec(name=name, kind=kind, executable=name)).model_copy(
        update={"pip_url": pip_url or (entry.pip_url if entry else None)}
    )
    assert spec.pip_url is not None
    note(f"installing {name} from {spec.pip_url} into its own environment...")
    built = tools.install(name, [spec.pip_url], reinstall=reinstall)
    if built.is_failure:
        return fail(built)
    tool = built.value
    executable = tool.executable(spec.executable)
    if executable is None:
        tools.remove(name)
        return fail(
            FlextResult.fail(
                f"{spec.pip_url} installed no executable called {spec.executable!r}",
                error_code=VALIDATION_ERROR,
            )
        )
    described = spec.model_copy(
        update={
            "version": _version(tool.python, spec.pip_url),
            "capabilities": _capabilities(str(executable)) or spec.capabilities,
            "source": "tools",
            "location": str(executable),
        }
    )
    (tool.path / DESCRIPTION_FILE).write_text(describe_file(described), encoding="utf-8")
    return emit(
        _row(described, "installed"), human=f"installed {name} {described.version or ''} ({executable})"
    )


def _provided(kernel: FlextKernel, kind: ConnectorKind, name: str) -> FlextResult[ConnectorSpec | None]:
    """The connector if a running plugin provides it, a failure if its plugin is off, else None."""
    for spec in installed(kernel, kind):
        if spec.name == name and spec.source == "plugin":
            return FlextResult.ok(spec)
    entry = known(name)
    off = plugin_off(kernel, entry) if entry is not None else None
    return off if off is not None else FlextResult.ok(None)


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
