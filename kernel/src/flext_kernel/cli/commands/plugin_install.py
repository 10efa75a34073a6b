"""``flext plugin install`` and ``flext plugin uninstall``: change this environment's plugins safely.

How they work and every error code: docs/cli.md and docs/plugins/authoring.md, section 8.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from cyclopts import Parameter

from flext_kernel.cli import output
from flext_kernel.cli.session import callers_umask, plugin_dirs, state_store
from flext_kernel.cli.settings import current
from flext_kernel.errors import (
    INSTALL_FAILED,
    LOCAL_PLUGIN,
    NOT_A_PLUGIN,
    NOT_FOUND,
    PLUGIN_LOAD_FAILED,
    ROLLBACK_FAILED,
    UNINSTALL_FAILED,
    USAGE_ERROR,
    VALIDATION_ERROR,
)
from flext_kernel.plugins.discovery import ENTRY_POINT_GROUP, canonical_name, discover

if TYPE_CHECKING:
    from flext_kernel.plugins.discovery import Candidate
    from flext_kernel.plugins.manifest import CommandEntry

__all__ = [
    "PROTECTED",
    "Installed",
    "Installer",
    "check_plugins",
    "find_installer",
    "install",
    "rollback",
    "snapshot",
    "uninstall",
]

PROTECTED: Final = frozenset({"flext", "flext-kernel", "flext-sdk"})
"""Distributions ``uninstall`` refuses to remove: without them there is no ``flext``."""

_DECORATION: Final = "\u00d7\u2570\u2500\u25b6\u2502 "
"""The box-drawing characters uv frames its error messages with."""

_CHECK = "from flext_kernel.cli.commands.plugin_install import _check_main; _check_main()"
_CHECK_TIMEOUT: Final = 300.0
"""Seconds the check process may take to import the plugins before the install counts as failed."""


@dataclass(frozen=True, slots=True)
class Installed:
    """One installed distribution and where it came from, enough to reinstall exactly it."""

    name: str
    """The distribution's name as its metadata spells it."""
    version: str
    """Its version."""
    url: str | None = None
    """For a direct (PEP 610) install: the URL it was installed from; None if from an index."""
    editable: bool = False
    """True for an editable install of a local directory."""

    def requirement(self) -> list[str]:
        """The installer arguments that put back exactly this distribution."""
        if self.url is None:
            return [f"{self.name}=={self.version}"]
        return ["-e", _path(self.url)] if self.editable else [f"{self.name} @ {self.url}"]


def _path(url: str) -> str:
    """The local path of a ``file:`` URL."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    return url2pathname(urlparse(url).path)


Snapshot = dict[str, Installed]
"""Installed distributions by canonical name (``flext-plugin-x``)."""


def snapshot() -> Snapshot:
    """Every distribution importable by this interpreter, read fresh from disk."""
    importlib.invalidate_caches()  # also clears importlib.metadata's directory cache
    found: Snapshot = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = canonical_name(name)
        if key not in found:  # the first one on sys.path is the one Python imports
            url, editable = _origin(dist.read_text("direct_url.json"))
            found[key] = Installed(name, dist.version, url, editable)
    return found


def _origin(direct_url: str | None) -> tuple[str | None, bool]:
    """(the PEP 508 URL to reinstall from, editable) from a ``direct_url.json`` text."""
    if not direct_url:
        return None, False
    try:
        info = json.loads(direct_url)
        url = str(info["url"])
    except (ValueError, KeyError, TypeError):
        return None, False
    if info.get("dir_info", {}).get("editable"):
        return url, True
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs"):
        url = f"{vcs['vcs']}+{url}" + (f"@{vcs['commit_id']}" if vcs.get("commit_id") else "")
    if info.get("subdirectory"):
        url += f"#subdirectory={info['subdirectory']}"
    return url, False


def _differences(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed between two snapshots, one phrase per distribution."""
    lines = []
    for old, new in ((before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())):
        if old is None and new is not None:
            lines.append(f"{new.name} {new.version} was added")
        elif old is not None and new is None:
            lines.append(f"{old.name} {old.version} was removed")
        elif old is not None and new is not None and old != new:
            lines.append(f"{old.name} is {_describe(new)}, was {_describe(old)}")
    return lines


def _describe(dist: Installed) -> str:
    return dist.version + (f" from {dist.url}" if dist.url else "")


@dataclass(frozen=True, slots=True)
class Installer:
    """uv or pip, driven as subprocesses against this interpreter."""

    kind: Literal["uv", "pip"]
    """Which tool."""
    program: str
    """The uv executable, or the Python that runs ``-m pip``."""
    python: str = sys.executable
    """The interpreter whose environment is changed."""

    def install_command(self, requirements: Sequence[str], *, no_deps: bool = False) -> list[str]:
        """The command that installs ``requirements`` (pip arguments)."""
        return self._command("install", *(["--no-deps"] if no_deps else []), *requirements)

    def uninstall_command(self, names: Sequence[str]) -> list[str]:
        """The command that uninstalls the distributions ``names``."""
        return self._command("uninstall", *([] if self.kind == "uv" else ["-y"]), *names)

    def _command(self, verb: str, *arguments: str) -> list[str]:
        if self.kind == "uv":
            return [self.program, "pip", verb, "--python", self.python, *arguments]
        return [self.program, "-m", "pip", verb, "--disable-pip-version-check", *arguments]

    def run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        """Run one installer command, its output captured (shown with ``--debug``)."""
        with callers_umask() as umask:  # installed packages are for whoever uses the environment
            done = subprocess.run(
                command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, umask=umask
            )
        if current().debug:
            print(f"$ {' '.join(command)}", file=sys.stderr)
            sys.stderr.write(done.stdout + done.stderr)
        return done


def find_installer(choice: str | None = None) -> Installer | None:
    """Return uv if available (this environment's own, then ``PATH``), else pip, else None.

    Args:
        choice: ``"uv"`` or ``"pip"`` to allow only that one; default ``$FLEXT_INSTALLER``.

    """
    choice = os.environ.get("FLEXT_INSTALLER", "") if choice is None else choice
    if choice in ("", "uv"):
        uv = _uv_of_this_environment() or shutil.which("uv")
        if uv:
            return Installer("uv", uv)
    if choice in ("", "pip"):
        from importlib.util import find_spec

        if find_spec("pip") is not None:
            return Installer("pip", sys.executable)
    return None


def _uv_of_this_environment() -> str | None:
    try:
        uv: Any = importlib.import_module("uv")  # the `uv` distribution ships the binary and this finder
        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError, AttributeError):
        return None


def _summary(done: subprocess.CompletedProcess[str]) -> str:
    """The installer's own explanation, squeezed to one line."""
    lines = []
    for line in (done.stderr or done.stdout).splitlines():
        text = line.strip().strip(_DECORATION).strip()
        for prefix in ("error:", "ERROR:"):
            text = text.removeprefix(prefix).strip()
        if text:
            lines.append(text)
    message = " ".join(lines[-3:]) or f"exit status {done.returncode}"
    return message if len(message) <= 400 else message[:397] + "..."


def rollback(installer: Installer, before: Snapshot) -> str | None:
    """Restore the distributions of ``before``; return what still differs, or None when exact."""
    after = snapshot()
    added = [after[key].name for key in sorted(after.keys() - before.keys())]
    if added:
        installer.run(installer.uninstall_command(added))
    changed = [before[key] for key in sorted(before) if after.get(key) != before[key]]
    if changed:
        requirements = [argument for dist in changed for argument in dist.requirement()]
        installer.run(installer.install_command(requirements, no_deps=True))
    left = _differences(before, snapshot())
    return "; ".join(left) if left else None


def check_plugins(names: Iterable[str], plugin_dirs: Iterable[Path] = ()) -> dict[str, dict[str, Any]]:
    """Load every plugin; report whether each of ``names`` loaded and each of its command targets imports.

    Runs in the check process. A report has ``ok``, ``reason``, ``version``, ``distribution``, ``commands``.
    """
    from flext_kernel.plugins.base import PluginState
    from flext_kernel.plugins.discovery import discover
    from flext_kernel.plugins.manager import PluginManager
    from flext_kernel.version import KERNEL_VERSION

    manager = PluginManager(KERNEL_VERSION)
    manager.load(discover(list(plugin_dirs)))
    report: dict[str, dict[str, Any]] = {}
    for name in names:
        record = manager.records.get(name)
        if record is None:
            report[name] = {"ok": False, "reason": "not found among the installed plugins"}
            continue
        summary = record.summary()
        reason = record.reason if record.state is not PluginState.LOADED else _broken_target(record.commands)
        commands = [f"flext {entry.name}" for entry in record.commands]
        report[name] = {"ok": reason is None, "reason": reason, "commands": commands}
        report[name].update((key, summary[key]) for key in ("version", "distribution"))
    return report


def _broken_target(commands: Iterable[CommandEntry]) -> str | None:
    """Import each command's ``module:attr`` now, so a typo fails the install and not a user later."""
    for entry in commands:
        try:
            pkgutil.resolve_name(entry.target)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            return f"command 'flext {entry.name}' ({entry.target}) failed to import: {why}"
    return None


def _check_main() -> None:
    """Entry point of the check process: ``argv[1]`` is JSON ``{"names": [...], "dirs": [...]}``."""
    request = json.loads(sys.argv[1])
    report_to, sys.stdout = sys.stdout, sys.stderr  # a plugin that prints must not corrupt the report
    report = check_plugins(request["names"], [Path(d) for d in request["dirs"]])
    report_to.write(json.dumps(report) + "\n")


def _check_in_fresh_process(names: list[str]) -> dict[str, dict[str, Any]]:
    request = json.dumps({"names": names, "dirs": [str(d) for d in plugin_dirs()]})
    # -P: the current directory (often the plugin's source tree) must not shadow what was installed.
    try:
        done = subprocess.run(
            [sys.executable, "-P", "-c", _CHECK, request],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=_CHECK_TIMEOUT,
        )
        report: dict[str, dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
        return report
    except subprocess.TimeoutExpired:
        why = f"importing the plugins took longer than {_CHECK_TIMEOUT:.0f} s"
    except (ValueError, IndexError):
        why = f"the check process failed: {_summary(done)}"
    return {name: {"ok": False, "reason": why} for name in names}


def install(
    *specs: str,
    editable: Annotated[bool, Parameter(name=["--editable", "-e"], negative="")] = False,
) -> int:
    """Install plugins into this environment with uv or pip, check that they load, and roll back if not.

    Args:
        specs: What to install, as pip takes it: a name (flext-plugin-x>=1.2), wheel, sdist, directory or URL.
        editable: Install project directories in editable mode, so 'flext dev' reloads your edits.

    """
    if not specs:
        return _usage(
            "nothing to install", USAGE_ERROR, "flext plugin install NAME|WHEEL|DIRECTORY|URL|-e DIR"
        )
    installer = find_installer()
    if installer is None:
        return _no_installer(INSTALL_FAILED)
    from flext_kernel.cli import command_cache

    arguments = [word for spec in specs for word in ("-e", spec)] if editable else list(specs)
    before = snapshot()
    output.note(f"installing {' '.join(arguments)} with {installer.kind}")
    try:
        return _install(installer, arguments, before)
    except BaseException:
        rollback(installer, before)  # Ctrl-C or a bug: never leave half an installation behind
        raise
    finally:
        command_cache.invalidate()


def _usage(message: str, code: str, hint: str | None) -> int:
    return output.emit_error(message, code, hint=hint, exit_code=output.EXIT_USAGE)


def _no_installer(code: str) -> int:
    hint = "install uv (https://docs.astral.sh/uv/) or pip, or check FLEXT_INSTALLER"
    return output.emit_error(f"neither uv nor pip is available to {sys.executable}", code, hint=hint)


def _install(installer: Installer, specs: list[str], before: Snapshot) -> int:
    done = installer.run(installer.install_command(specs))
    what = " ".join(specs)
    if done.returncode != 0:
        why = f"{installer.kind} could not install {what}: {_summary(done)}"
        hint = "run again with --debug to see the installer's output"
        return _failed(installer, before, why, INSTALL_FAILED, hint=hint)
    after = snapshot()
    touched = [key for key in sorted(after) if before.get(key) != after[key]]
    if not touched:
        human = f"nothing to do: {what} is already installed"
        return output.emit({"distributions": [], "plugins": []}, human=human)
    plugins = _plugins_of(after[key].name for key in touched)
    if not plugins:
        names = ", ".join(f"{after[key].name} {after[key].version}" for key in touched)
        why = f"{what} is not a FLEXT plugin (no 'flext.plugins' entry point in {names}); rolled back"
        return _failed(installer, before, why, NOT_A_PLUGIN, exit_code=output.EXIT_USAGE)
    report = _check_in_fresh_process(plugins)
    broken = [(name, entry["reason"]) for name, entry in report.items() if not entry["ok"]]
    if broken:
        (name, reason), more = broken[0], len(broken) - 1
        others = f" (and {more} more)" if more else ""
        why = f"plugin {name!r} failed to load{others}: {reason}; the installation was rolled back"
        hint = "fix the plugin and build it again; 'flext --debug plugin install ...' shows the installer"
        return _failed(installer, before, why, PLUGIN_LOAD_FAILED, hint=hint)
    return _installed(before, after, touched, report)


def _plugins_of(distributions: Iterable[str]) -> list[str]:
    names: list[str] = []
    for name in distributions:
        try:
            entry_points = importlib.metadata.distribution(name).entry_points
        except importlib.metadata.PackageNotFoundError:
            continue
        names.extend(entry.name for entry in entry_points if entry.group == ENTRY_POINT_GROUP)
    return names


def _failed(
    installer: Installer,
    before: Snapshot,
    message: str,
    code: str,
    *,
    hint: str | None = None,
    exit_code: int = output.EXIT_FAILED,
) -> int:
    left = rollback(installer, before)
    if left is None:
        return output.emit_error(message, code, hint=hint, exit_code=exit_code)
    return output.emit_error(
        f"{message}; restoring the environment failed too: {left}",
        ROLLBACK_FAILED,
        hint="reinstall those distributions by hand (flext --debug shows the installer's output)",
    )


def _installed(
    before: Snapshot, after: Snapshot, touched: list[str], report: dict[str, dict[str, Any]]
) -> int:
    distributions = [
        {"name": new.name, "version": new.version, "previous": old.version if old else None}
        for new, old in ((after[key], before.get(key)) for key in touched)
    ]
    keys = ("name", "distribution", "version", "commands")
    plugins = [{"name": name, **{key: entry[key] for key in keys[1:]}} for name, entry in report.items()]
    lines = [f"installed {after[key].name} {_was(after[key], before.get(key))}" for key in touched]
    for plugin in plugins:
        commands = ", ".join(plugin["commands"]) or "no commands"
        lines.append(f"plugin {plugin['name']} {plugin['version']} loads: {commands}")
    return output.emit({"distributions": distributions, "plugins": plugins}, human="\n".join(lines))


def _was(new: Installed, old: Installed | None) -> str:
    """``0.2 (was 0.1)``; an editable install names its directory, so you know which tree runs."""
    text = new.version + (f" (editable: {_path(new.url)})" if new.editable and new.url else "")
    if old is not None and old.version != new.version:
        return f"{text} (was {old.version})"
    return text if old is None else f"{text} (same version, from a new source)"


def uninstall(
    name: str,
    *,
    yes: Annotated[bool, Parameter(name=["--yes", "-y"], negative="")] = False,
) -> int:
    """Uninstall the distribution that provides a plugin (and with it any other plugin it provides).

    Args:
        name: The plugin's name, as 'flext plugin list' shows it.
        yes: Do not ask before uninstalling a plugin that ships with FLEXT or that others require.

    """
    candidates = discover(plugin_dirs())
    name = canonical_name(name)  # names compare one way everywhere (PEP 503)
    found = next((c for c in candidates if c.name == name), None)
    if name == "kernel" or (found and canonical_name(found.distribution or "") in PROTECTED):
        provider = found.distribution if found else "flext-kernel"
        why = f"plugin {name!r} is part of {provider}; uninstalling it would remove FLEXT itself"
        hint = f"'flext plugin disable {name}' turns a plugin off" if name != "kernel" else None
        return _usage(why, VALIDATION_ERROR, hint)
    if found is None:
        known = ", ".join(sorted(c.name for c in candidates)) or "none"
        return _usage(f"no plugin named {name!r} is installed", NOT_FOUND, f"installed plugins: {known}")
    if found.distribution is None:
        why = f"plugin {name!r} is a local plugin at {found.location}, not an installed distribution"
        return _usage(why, LOCAL_PLUGIN, "delete that file or directory to remove it")
    if not yes and (refused := _confirm(name, found.distribution)) is not None:
        return refused
    return _uninstall(found.distribution, found.version, name, candidates)


def _dependants(distribution: str) -> list[str]:
    """The installed distributions whose requirements (any extra) name ``distribution``."""
    key = canonical_name(distribution)
    found = set()
    for dist in importlib.metadata.distributions():
        for requirement in dist.requires or ():
            if canonical_name(re.split(r"[\s;\[(<>=!~@,]", requirement.strip(), maxsplit=1)[0]) == key:
                found.add(dist.metadata["Name"])
    return sorted(found)


def _confirm(name: str, distribution: str) -> int | None:
    """Ask before uninstalling what FLEXT ships or others require; None to go on, else the exit code."""
    dependants = _dependants(distribution)
    if not dependants:
        return None
    others = [dist for dist in dependants if canonical_name(dist) != "flext"]
    why = "ships with FLEXT" if len(others) < len(dependants) else ""
    if others:
        why += (" and " if why else "") + f"is required by {', '.join(others)}"
    what = f"plugin {name!r} ({distribution}) {why}"
    hint = f"pass --yes to uninstall it anyway, or 'flext plugin disable {name}' to turn it off instead"
    if not sys.stdin.isatty():
        return _usage(f"{what}; not uninstalling it without confirmation", USAGE_ERROR, hint)
    print(f"{what}. Uninstall {distribution} anyway? [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() in ("y", "yes"):
        return None
    return _usage(f"plugin {name!r} was not uninstalled (not confirmed)", USAGE_ERROR, hint)


def _uninstall(distribution: str, version: str | None, name: str, candidates: list[Candidate]) -> int:
    from flext_kernel.cli import command_cache

    installer = find_installer()
    if installer is None:
        return _no_installer(UNINSTALL_FAILED)
    done = installer.run(installer.uninstall_command([distribution]))
    command_cache.invalidate()
    if done.returncode != 0:
        why = f"{installer.kind} could not uninstall {distribution}: {_summary(done)}"
        return output.emit_error(
            why, UNINSTALL_FAILED, hint="run again with --debug to see the installer's output"
        )
    also = sorted(c.name for c in candidates if c.distribution == distribution and c.name != name)
    state_store().forget({name, *also})
    human = f"uninstalled {distribution} {version}: plugin {name}"
    if also:
        human += f" (and {', '.join(also)})"
    data = {"name": name, "distribution": distribution, "version": version, "plugins": [name, *also]}
    return output.emit(data, human=human)
