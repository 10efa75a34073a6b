"""``flext plugin new NAME``: write a complete plugin distribution, ready to test, build and publish.

The distribution is built in a hidden directory next to its destination and
renamed into place, so an interrupted run leaves either nothing or the whole
tree; with ``--force`` an existing tree is replaced the same way.

Until flext-sdk is on PyPI, the install step it prints (and writes in the
project's README) hands pip the local paths this environment installed
flext-sdk and the FLEXT distributions it needs from (PEP 610's
``direct_url.json``), so the step works from a FLEXT checkout.

Failures (one ``error: ... (CODE)`` line):

* ``VALIDATION_ERROR`` (exit 2): the name is not lower case words joined by
  ``-`` or ``_``, it is taken by a command of the kernel or of this SDK, or
  an installed plugin or distribution (``flext-plugin-NAME``) has it.
* ``NOT_FOUND`` (exit 2): ``--directory`` does not exist.
* ``ALREADY_EXISTS`` (exit 2): ``flext-plugin-NAME`` exists and ``--force`` was not given.
* ``WRITE_FAILED`` (exit 1): the files could not be written (permissions, disk full).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_sdk.cli import EXIT_USAGE, emit, emit_error
from flext_sdk.errors import ALREADY_EXISTS, WRITE_FAILED

__all__ = ["install_step", "installed_clash", "local_sources", "name_problem", "new", "write_tree"]


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a new plugin, or None if it can.

    The name is what users type after ``flext``, so it must not be a
    top-level command of the kernel or of the SDK, nor either plugin's name.
    """
    from flext_kernel.cli.builtin import KERNEL_COMMANDS
    from flext_kernel.plugins.manifest import NAME_PATTERN
    from flext_sdk.authoring import plugin

    if not re.match(NAME_PATTERN, name):
        return f"invalid plugin name {name!r}: use lower case letters and digits, words joined by '-' or '_'"
    if name in {"kernel", *(path[0] for path, _, _ in KERNEL_COMMANDS)}:
        return f"invalid plugin name {name!r}: 'flext {name}' belongs to the kernel"
    if name in {plugin.NAME, *(entry.path[0] for entry in plugin.manifest.commands)}:
        return f"invalid plugin name {name!r}: 'flext {name}' belongs to the SDK"
    return None


def installed_clash(name: str) -> str | None:
    """What installed here already has ``name``: a plugin (installed or local), or ``flext-plugin-NAME``.

    A second distribution of that name would replace the first when installed,
    and a second plugin of that name would clash with it in every ``flext``.
    """
    import importlib.metadata

    from flext_kernel.paths import user_plugins_dir
    from flext_kernel.plugins.discovery import canonical_name, discover
    from flext_sdk.cli import current

    wanted = canonical_name(name)
    for candidate in discover([*current().plugin_dirs, user_plugins_dir()]):
        if canonical_name(candidate.name) == wanted:
            where = (
                f"{candidate.distribution} {candidate.version}"
                if candidate.distribution
                else candidate.location
            )
            return f"plugin {candidate.name!r} is already installed ({where})"
    distribution = f"flext-plugin-{wanted}"
    try:
        return f"{distribution} {importlib.metadata.version(distribution)} is already installed"
    except importlib.metadata.PackageNotFoundError:
        return None


def new(
    name: str,
    *,
    directory: Path = Path(),
    force: Annotated[bool, Parameter(negative="")] = False,
) -> int:
    """Write a new plugin distribution flext-plugin-NAME/: pyproject, package, command, handler, tests.

    Args:
        name: The plugin's name, what users type after 'flext': lower case words joined by '-' or '_'.
        directory: Where to create flext-plugin-NAME/.
        force: Replace an existing flext-plugin-NAME/.

    """
    problem = name_problem(name)
    if problem is not None:
        return emit_error(problem, VALIDATION_ERROR, exit_code=EXIT_USAGE)
    taken = installed_clash(name)
    if taken is not None:
        hint = "choose another name; 'flext plugin list' shows the installed plugins"
        return emit_error(
            f"invalid plugin name {name!r}: {taken}", VALIDATION_ERROR, hint=hint, exit_code=EXIT_USAGE
        )
    if not directory.is_dir():
        return emit_error(f"directory {str(directory)!r} does not exist", NOT_FOUND, exit_code=EXIT_USAGE)
    target = directory / f"flext-plugin-{name}"
    if (target.exists() or target.is_symlink()) and not force:
        return emit_error(
            f"{target} already exists",
            ALREADY_EXISTS,
            hint="choose another name or --directory, or pass --force to replace it",
            exit_code=EXIT_USAGE,
        )
    install = install_step()
    files = _files(name, install)
    try:
        write_tree(target, files)
    except OSError as exc:
        return emit_error(f"could not write {target}: {exc}", WRITE_FAILED)
    return _created(name, target, sorted(files), install)


def _files(name: str, install: str | None = None) -> dict[str, str]:
    """The new plugin's files, asking for at least this kernel's and this SDK's minor versions."""
    from flext_kernel.version import KERNEL_VERSION
    from flext_sdk.authoring._templates import render
    from flext_sdk.authoring.plugin import VERSION

    kernel = ".".join(KERNEL_VERSION.split(".")[:2])
    sdk = ".".join(VERSION.split(".")[:2])
    return render(name, kernel_range=f">={kernel}", sdk_requirement=f"flext-sdk>={sdk}", install=install)


def install_step() -> str:
    """The pip command, run in the new project, that installs it with its tests into ``.venv``.

    flext-sdk, and the FLEXT distributions it needs, come from where this
    environment installed them when that is a local directory or file (a
    checkout, a wheel): they are not on PyPI yet.
    """
    return shlex.join([".venv/bin/pip", "install", *local_sources("flext-sdk")]) + " -e '.[test]'"


def local_sources(name: str) -> list[str]:
    """Local paths of ``name`` and of the installed distributions it requires, each installed from one.

    Dependencies come first; a distribution from an index (or whose file is
    gone) is left to pip, and so is what it requires.
    """
    import importlib.metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}

    def visit(dist_name: str) -> None:
        key = canonicalize_name(dist_name)
        if key in found:
            return
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            return
        path = _local_path(dist.read_text("direct_url.json"))
        if path is None:
            return
        found[key] = ""  # visiting: a cycle ends here
        for line in dist.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                visit(requirement.name)
        found[key] = path
        order.append(key)

    order: list[str] = []
    visit(name)
    return [found[key] for key in order]


def _local_path(direct_url: str | None) -> str | None:
    """The existing local path a ``direct_url.json`` (PEP 610) names, or None."""
    import json
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    try:
        url = urlparse(json.loads(direct_url or "{}").get("url", ""))
    except (ValueError, AttributeError):
        return None
    path = url2pathname(url.path)
    return path if url.scheme == "file" and os.path.exists(path) else None


def write_tree(target: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` (relative path to text) as the directory ``target``, all or nothing.

    An existing ``target`` is replaced: it is moved aside, the new tree renamed
    into place, and only then the old one deleted.
    """
    from flext_kernel.cli.session import callers_umask

    staging = target.with_name(f".{target.name}.new-{secrets.token_hex(4)}")
    with callers_umask():  # the user's project, not FLEXT's private data
        staging.mkdir()
        try:
            for relative, text in files.items():
                path = staging / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            _swap(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _swap(staging: Path, target: Path) -> None:
    if not (target.exists() or target.is_symlink()):
        os.rename(staging, target)
        return
    old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(old, target)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    else:
        old.unlink()


def _created(name: str, target: Path, files: list[str], install: str) -> int:
    steps = _next_steps(name, target, install)
    data = {"name": name, "path": str(target), "files": files, "next": steps}
    lines = [f"created {target}/ ({len(files)} files):", *(f"  {file}" for file in files), "next:"]
    return emit(data, human="\n".join([*lines, *(f"  {step}" for step in steps)]))


def _next_steps(name: str, target: Path, install: str) -> list[str]:
    return [
        shlex.join(["cd", str(target)]),
        f"python -m venv .venv && {install}",
        ".venv/bin/pytest",
        f".venv/bin/flext {name} hello --who you",
    ]
