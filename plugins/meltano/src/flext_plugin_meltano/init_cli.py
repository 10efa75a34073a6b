"""``flext meltano project init DIR [--template T]``: a new Meltano project, by the real ``meltano init``.

``meltano init`` (the pinned Meltano, in its own environment) creates the
project; a ``--template`` then declares its extractor, loader and job in
``meltano.yml`` (``templates``) and copies the sample LDIF, and the result is
checked as every ``flext meltano`` command checks a project. What can be
checked first is: a directory that already holds ``meltano.yml`` is refused
(exit 2), and a template whose connectors FLEXT's environment lacks fails
before ``meltano init`` runs.

Nothing half-made is left where the project goes: ``meltano init`` runs in a
hidden sibling staging directory (``.NAME.*.init`` next to it), the template
is applied and the project checked there, and only a project that checks out
is renamed into place. Into an existing directory (a git checkout, say) its
entries are moved one by one, the directory's own files kept (as ``meltano
init`` keeps them) and ``meltano.yml`` last. A failure removes the staging
directory; a kill leaves at most that directory (and, into an existing
directory, files without ``meltano.yml``), never a project a second ``init``
would refuse.
``meltano.yml`` is rewritten through a temporary file and ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult
from flext_plugin_meltano.templates import Template  # cyclopts reads the choices at run time
from flext_sdk.cli import emit, fail

__all__ = ["meltano_project_init"]


def meltano_project_init(directory: Path, *, template: Template | None = None) -> int:
    """Create a Meltano project with meltano init; a template adds a ready extractor, loader and job.

    Args:
        directory: The new project's directory (created; its parent too).
        template: ldif-sqlite (the sample LDIF into output/warehouse.db) or ldif-postgres (into
            PostgreSQL at 127.0.0.1:5432, schema ldif).

    """
    from flext_plugin_meltano.delegate import capture
    from flext_plugin_meltano.templates import template_plugins
    from flext_plugin_meltano.tool import meltano_environment, meltano_schema

    root = directory.expanduser().absolute()
    if (root / "meltano.yml").exists() or (root.exists() and not root.is_dir()):
        return fail(
            FlextResult.fail(
                f"{root}: already a Meltano project (or not a directory); choose a new directory",
                VALIDATION_ERROR,
                {"project_dir": str(root)},
            )
        )
    added = template_plugins(template) if template is not None else None
    if isinstance(added, Failure):
        return fail(added, hint=str(added.error_data.get("hint") or "") or None)
    tool = meltano_environment()
    if isinstance(tool, Failure):
        return fail(tool, hint="check that the package index is reachable, then run the command again")
    from flext_plugin_meltano.project import load_project

    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".init", dir=root.parent))
    try:
        staged = staging / root.name
        created = capture(tool.value.bin_dir / "meltano", staging, ["init", root.name, "--no-usage-stats"])
        if isinstance(created, Failure):
            return fail(created)
        if added is not None:
            written = _apply_template(staged, str(template), added.value)
            if isinstance(written, Failure):
                return fail(written)
        checked = load_project(staged, schema=meltano_schema(tool.value))
        if isinstance(checked, Failure):
            return fail(checked)
        try:
            _move_into(staged, root)
        except OSError as exc:
            return fail(
                FlextResult.fail(
                    f"{root}: cannot be created ({exc.strerror}); choose a new directory",
                    VALIDATION_ERROR,
                    {"project_dir": str(root)},
                )
            )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return emit(
        _document(root, template, checked.value.jobs), human=_human(root, template, checked.value.jobs)
    )


def _apply_template(root: Path, template: str, added: dict[str, Any]) -> FlextResult[None]:
    """Declare the template's plugins and job in ``meltano.yml`` (kept private) and copy the sample."""
    import yaml

    from flext_plugin_meltano.templates import DOTENV_PASSWORD, SAMPLE

    path = root / "meltano.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.update(added)
    _replace_text(path, yaml.safe_dump(data, sort_keys=False))
    (root / "data").mkdir(exist_ok=True)
    shutil.copyfile(SAMPLE, root / "data" / "sample.ldif")
    (root / "output").mkdir(exist_ok=True)
    if template == "ldif-postgres":  # the loader reads it from .env (meltano init lists .env in .gitignore)
        dotenv = root / ".env"
        if not dotenv.exists():
            dotenv.write_text(
                "# The PostgreSQL password, if the server asks for one (never put it in meltano.yml).\n"
                f"{DOTENV_PASSWORD}=\n",
                encoding="utf-8",
            )
            dotenv.chmod(0o600)
    return FlextResult.ok(None)


def _move_into(staged: Path, root: Path) -> None:
    """Put the checked project at ``root``: one rename when ``root`` is new or empty, else a merge."""
    try:
        os.rename(staged, root)
        return
    except OSError:
        if not root.is_dir():
            raise
    _merge(staged, root)


def _merge(source: Path, target: Path) -> None:
    """Move ``source``'s entries into ``target``, keeping what ``target`` has; ``meltano.yml`` last."""
    for entry in sorted(source.iterdir(), key=lambda path: path.name == "meltano.yml"):
        destination = target / entry.name
        if not destination.exists() and not destination.is_symlink():
            os.rename(entry, destination)
        elif (
            destination.is_dir()
            and not destination.is_symlink()
            and entry.is_dir()
            and not entry.is_symlink()
        ):
            _merge(entry, destination)


def _replace_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (temporary file, then ``os.replace``), keeping its mode."""
    mode = path.stat().st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), mode)  # the file meltano init made: its mode stays
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _document(root: Path, template: str | None, jobs: dict[str, list[str]]) -> dict[str, Any]:
    return {"project": str(root), "template": template, "jobs": jobs}


def _human(root: Path, template: str | None, jobs: dict[str, list[str]]) -> str:
    if template is None:
        return f"created Meltano project {root}"
    job = next(iter(jobs))
    return (
        f"created Meltano project {root} from template {template}; run it with "
        f"'flext meltano install --project {root}' then 'flext meltano run {job} --project {root}'"
    )
