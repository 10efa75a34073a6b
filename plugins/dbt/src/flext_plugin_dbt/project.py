"""Reading a dbt project before dbt runs: its name, profile, target and adapter.

flext needs the adapter (the profile target's ``type``) to choose dbt's
environment before dbt itself is started, so it reads ``dbt_project.yml``
and ``profiles.yml`` the way dbt finds them:

1. ``profiles_dir`` when given;
2. else the project directory, if it holds a ``profiles.yml``;
3. else ``$DBT_PROFILES_DIR``, else ``~/.dbt`` (dbt's own default).

Values may use ``{{ env_var('NAME') }}`` or ``{{ env_var('NAME', 'default') }}``
(the only Jinja read here); secrets stay in the environment and are never
put in messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult

__all__ = ["DbtProject", "load_project"]

_ENV_VAR = re.compile(r"""\{\{\s*env_var\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)\s*\}\}""")


@dataclass(frozen=True, slots=True)
class DbtProject:
    """A dbt project as flext will run it."""

    directory: Path
    """The project directory, absolute."""
    name: str
    """``name`` in ``dbt_project.yml``."""
    profile: str
    """``profile`` in ``dbt_project.yml``."""
    profiles_dir: Path | None
    """What to pass as ``--profiles-dir``; None leaves it to dbt (``$DBT_PROFILES_DIR``, ``~/.dbt``)."""
    target: str
    """The profile target that will be used."""
    adapter: str
    """That target's ``type``: ``sqlite``, ``duckdb``, ``postgres``, ..."""
    artifacts_dir: Path
    """The project's target path (``target-path``, default ``target``), absolute."""


def _invalid(message: str, reason: str, **data: Any) -> FlextResult[Any]:
    return FlextResult.fail(message, error_code=VALIDATION_ERROR, error_data={"reason": reason, **data})


def _read_yaml(path: Path) -> FlextResult[dict[str, Any]]:
    """The mapping in ``path``, read as every FLEXT plugin reads YAML (``flext_sdk.yaml_files``).

    Its size and its aliases' expansion are bounded; non-UTF-8 bytes,
    recursive aliases and duplicate keys are refused naming the line. Its
    messages name the problem and the line, never quote the line, which may
    hold a password.
    """
    from flext_sdk.yaml_files import read_yaml

    read = read_yaml(path)
    if isinstance(read, Failure):
        reason = "unreadable" if read.error_code == NOT_FOUND else "bad_yaml"
        details = {**(read.error_data or {}), "path": str(path)}
        return _invalid(read.error or f"{path} cannot be read", reason, **details)
    if not isinstance(read.value.data, dict):
        return _invalid(f"{path} must be a YAML mapping", "bad_yaml", path=str(path))
    return FlextResult.ok(read.value.data)


def _rendered(value: object, env: Mapping[str, str]) -> str | None:
    """``value`` with its ``env_var`` calls filled in; None if it is not text or still a template."""
    if not isinstance(value, str):
        return None

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = env.get(name, default)
        return "\0" if found is None else found

    text = _ENV_VAR.sub(fill, value)
    return None if "\0" in text or "{{" in text or "{%" in text else text.strip()


def _profiles_dir(directory: Path, given: Path | None, env: Mapping[str, str]) -> tuple[Path | None, Path]:
    """(what to pass to dbt, where profiles.yml is read from)."""
    if given is not None:
        resolved = given.expanduser().resolve()
        return resolved, resolved
    if (directory / "profiles.yml").is_file():
        return directory, directory
    default = env.get("DBT_PROFILES_DIR")
    return None, Path(default).expanduser() if default else Path.home() / ".dbt"


def load_project(
    project_dir: Path,
    *,
    profiles_dir: Path | None = None,
    target: str | None = None,
    env: Mapping[str, str] | None = None,
) -> FlextResult[DbtProject]:
    """Read the project at ``project_dir`` and the profile it uses.

    Args:
        project_dir: The dbt project directory (holding ``dbt_project.yml``).
        profiles_dir: Where ``profiles.yml`` is; default as the module explains.
        target: The profile target; default the profile's ``target``.
        env: The environment dbt will run with (for ``env_var`` and ``DBT_PROFILES_DIR``);
            default this process's.

    Returns:
        The project, or a ``VALIDATION_ERROR`` naming the missing or wrong piece.

    """
    environment: Mapping[str, str] = env if env is not None else os.environ
    directory = project_dir.expanduser().resolve()
    if not directory.is_dir():
        return _invalid(
            f"no dbt project at {project_dir}: the directory does not exist",
            "project_not_found",
            project_dir=str(directory),
        )
    project_file = directory / "dbt_project.yml"
    if not project_file.is_file():
        return _invalid(
            f"{project_dir} is not a dbt project: it has no dbt_project.yml "
            "(create one, or run dbt init, or pass the project's directory)",
            "no_dbt_project_yml",
            project_dir=str(directory),
        )
    read = _read_yaml(project_file)
    if isinstance(read, Failure):
        return read
    settings = read.value
    name, profile = settings.get("name"), settings.get("profile")
    if not isinstance(name, str) or not name:
        return _invalid(f"{project_file} has no name", "no_project_name", project_dir=str(directory))
    if not isinstance(profile, str) or not profile:
        return _invalid(
            f"{project_file} names no profile: add 'profile: <name of a profile in profiles.yml>'",
            "no_profile",
            project=name,
            project_dir=str(directory),
        )
    passed, read_from = _profiles_dir(directory, profiles_dir, environment)
    context = {"project": name, "project_dir": str(directory)}
    chosen = _profile_target(read_from / "profiles.yml", profile, target, environment, context)
    if isinstance(chosen, Failure):
        return chosen
    chosen_target, adapter = chosen.value
    artifacts = settings.get("target-path") if isinstance(settings.get("target-path"), str) else "target"
    return FlextResult.ok(
        DbtProject(
            directory=directory,
            name=name,
            profile=profile,
            profiles_dir=passed,
            target=chosen_target,
            adapter=adapter,
            artifacts_dir=directory / str(artifacts),
        )
    )


def _profile_target(
    profiles_file: Path,
    profile: str,
    target: str | None,
    env: Mapping[str, str],
    context: dict[str, str],
) -> FlextResult[tuple[str, str]]:
    """(target name, adapter type) of ``profile`` in ``profiles_file``."""
    if not profiles_file.is_file():
        return _invalid(
            f"no profiles.yml for profile {profile!r}: looked in {profiles_file.parent} "
            "(put a profiles.yml in the project, or pass --profiles-dir)",
            "no_profiles_yml",
            **context,
        )
    read = _read_yaml(profiles_file)
    if isinstance(read, Failure):
        return read
    entry = read.value.get(profile)
    if not isinstance(entry, dict) or not isinstance(entry.get("outputs"), dict):
        return _invalid(
            f"{profiles_file} has no profile {profile!r} with outputs (dbt_project.yml uses that profile)",
            "no_profile",
            **context,
        )
    outputs: dict[str, Any] = entry["outputs"]
    chosen = target if target is not None else _rendered(entry.get("target", "default"), env)
    if chosen is None or not isinstance(outputs.get(chosen), dict):
        known = ", ".join(sorted(str(key) for key in outputs)) or "none"
        return _invalid(
            f"profile {profile!r} has no target {chosen!r} (its targets: {known})",
            "no_target",
            **context,
        )
    adapter = _rendered(outputs[chosen].get("type"), env)
    if not adapter:
        return _invalid(
            f"target {chosen!r} of profile {profile!r} in {profiles_file} has no plain 'type' (the adapter)",
            "no_adapter",
            **context,
        )
    return FlextResult.ok((chosen, adapter))
