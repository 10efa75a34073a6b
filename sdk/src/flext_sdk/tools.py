"""Isolated tool environments: one virtual environment per external tool.

Singer taps and targets, dbt and Meltano each pin their own dependencies, and
those pins clash with each other and with flext's. So each tool a plugin runs
as a subprocess is installed into its own virtual environment (with ``uv``,
as Meltano does with pip), under ``$FLEXT_TOOLS_DIR`` or ``<data dir>/tools``,
and run from there; flext's own environment never sees its dependencies.

An environment is ready only once its ``flext-tool.json`` marker is written,
after the install succeeded; a half-made one (a killed install, a failed
download) has no marker and is rebuilt on the next ``install``. Installs of
the same tool from several processes are serialised by a lock file, so
parallel test workers or two terminals never build one environment twice at
the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_kernel.paths import data_dir
from flext_kernel.result import FlextResult
from flext_sdk.errors import TOOL_INSTALL_FAILED

__all__ = [
    "TOOL_INSTALL_FAILED",
    "ToolEnvironment",
    "environment",
    "install",
    "installed",
    "remove",
    "tools_dir",
]

_MARKER = "flext-tool.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ToolEnvironment(BaseModel):
    """A ready tool environment: where it is and what was installed into it."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The tool's name (``tap-ldap``, ``dbt``); the environment's directory name."""
    path: Path
    """The environment's root."""
    requirements: tuple[str, ...]
    """What was installed: pip requirement strings or local paths."""
    installed_at: datetime
    """When the install finished."""

    @property
    def bin_dir(self) -> Path:
        """Where the environment's executables are."""
        return self.path / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.bin_dir / ("python.exe" if os.name == "nt" else "python")

    def executable(self, command: str) -> Path | None:
        """``command`` inside the environment, or None if the tool installed no such executable."""
        candidate = self.bin_dir / command
        return candidate if candidate.exists() else None


def tools_dir() -> Path:
    """Where tool environments live: ``$FLEXT_TOOLS_DIR``, else ``<data dir>/tools``.

    ``FLEXT_TOOLS_DIR`` is separate from ``FLEXT_HOME`` so that test runs,
    which isolate everything else, can still share the (slow to build) tool
    environments.
    """
    override = os.environ.get("FLEXT_TOOLS_DIR")
    return Path(override).expanduser() if override else data_dir() / "tools"


def environment(name: str) -> ToolEnvironment | None:
    """The ready environment of ``name``, or None if it is not installed (or only half-made)."""
    if not _NAME.match(name):
        return None
    marker = tools_dir() / name / _MARKER
    try:
        return ToolEnvironment.model_validate_json(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def installed() -> list[ToolEnvironment]:
    """Every ready tool environment, by name."""
    root = tools_dir()
    if not root.is_dir():
        return []
    found = (environment(entry.name) for entry in sorted(root.iterdir()) if entry.is_dir())
    return [tool for tool in found if tool is not None]


def install(
    name: str, requirements: Sequence[str], *, reinstall: bool = False, timeout: float = 900.0
) -> FlextResult[ToolEnvironment]:
    """Make sure ``name``'s environment exists with ``requirements`` installed.

    An environment that is ready with the same requirements is returned as
    is (cheap, so commands call this before every run); different
    requirements or ``reinstall`` rebuild it from scratch.
    """
    if not _NAME.match(name):
        return FlextResult.fail(
            f"tool name {name!r} must be letters, digits, '.', '_' or '-'", error_code=VALIDATION_ERROR
        )
    wanted = tuple(requirements)
    with _locked(name):
        ready = environment(name)
        if ready is not None and ready.requirements == wanted and not reinstall:
            return FlextResult.ok(ready)
        return _build(name, wanted, timeout)


def remove(name: str) -> FlextResult[bool]:
    """Delete ``name``'s environment; ``ok(False)`` if there was none."""
    if not _NAME.match(name):
        return FlextResult.fail(f"no tool named {name!r}", error_code=NOT_FOUND)
    path = tools_dir() / name
    if not path.exists():
        return FlextResult.ok(False)
    with _locked(name):
        shutil.rmtree(path, ignore_errors=True)
    return FlextResult.ok(True)


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    root = tools_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(name: str, requirements: tuple[str, ...], timeout: float) -> FlextResult[ToolEnvironment]:
    """Create the environment afresh and install into it; the marker is written last."""
    path = tools_dir() / name
    shutil.rmtree(path, ignore_errors=True)
    uv = _uv()
    python = sys.executable
    if uv is not None:
        steps = [
            [uv, "venv", "--quiet", "--python", python, str(path)],
            [uv, "pip", "install", "--quiet", "--python", str(path / "bin" / "python"), *requirements],
        ]
    else:
        steps = [
            [python, "-m", "venv", str(path)],
            [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements],
        ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(path, ignore_errors=True)
            return FlextResult.fail(
                f"could not install {name}: {exc}", error_code=TOOL_INSTALL_FAILED, error_data={"tool": name}
            )
        if done.returncode != 0:
            shutil.rmtree(path, ignore_errors=True)
            detail = _last_line(done.stderr) or _last_line(done.stdout) or f"exit {done.returncode}"
            return FlextResult.fail(
                f"could not install {name} ({' '.join(requirements)}): {detail}",
                error_code=TOOL_INSTALL_FAILED,
                error_data={"tool": name, "requirements": list(requirements), "stderr": done.stderr[-4000:]},
            )
    tool = ToolEnvironment(name=name, path=path, requirements=requirements, installed_at=datetime.now(UTC))
    marker = path / _MARKER
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(tool.model_dump_json(indent=2), encoding="utf-8")
    os.replace(temporary, marker)
    return FlextResult.ok(tool)


def _uv() -> str | None:
    """The ``uv`` binary: the one the ``uv`` wheel ships, else one on PATH."""
    with contextlib.suppress(ImportError, FileNotFoundError):
        from uv import find_uv_bin

        return str(find_uv_bin())
    return shutil.which("uv")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
