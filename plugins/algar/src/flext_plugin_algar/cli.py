"""``flext algar ...``: the migration's commands (one module; each command is imported only when it runs).

- ``flext algar init DIR``: a commented ``algar.yaml`` and a starter ``rules.yaml``; never overwrites;
- ``flext algar sample FILE``: an OID-style export to try the migration on (``flext_plugin_algar.sample``);
- ``flext algar migration plan|run|status``: the LDIF to LDIF phases (``flext_plugin_algar.phases``).

Every command prints ``{"ok": ..., "data": ...}`` under ``--output json``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_sdk.cli import emit, fail, note

if TYPE_CHECKING:
    from flext_plugin_algar.phases import Migration

__all__ = ["init", "plan", "run", "sample", "status"]


def init(directory: Path, /) -> int:
    """Start a migration project in DIRECTORY: a commented algar.yaml and a starter rules.yaml.

    Refuses to overwrite either file.

    Args:
        directory: The project directory (created if missing).

    """
    from flext_plugin_algar.project import init_project

    done = init_project(directory)
    if done.is_failure:
        return fail(done)
    note("edit algar.yaml (source, target, base_dn), then run 'flext algar migration plan'")
    return emit({"files": [str(path) for path in done.value]}, human="\n".join(map(str, done.value)))


def sample(file: Path, /, *, entries: int = 60, seed: int = 1, defects: bool = True) -> int:
    """Write an OID-style export (orclUserV2 users, orclGroup and dynamic groups, orclaci) to FILE.

    The same options always give the same bytes.

    Args:
        file: The LDIF file to write.
        entries: About how many entries (never fewer than the fixed skeleton of 18).
        seed: Changes names, passwords and memberships.
        defects: Add what real exports also hold: a dangling group member and an orphan entry.

    """
    from flext_plugin_algar.sample import write_export

    written = write_export(file, entries=entries, seed=seed, defects=defects)
    return emit({"file": str(file), "entries": written}, human=f"{written} entries written to {file}")


def plan(*, project: Path = Path(), phase: str | None = None) -> int:
    """Show what 'flext algar migration run' would do: each phase, its files, and whether it is done.

    Checks the project, the rules, the export and that the ldif plugin's reader is there.

    Args:
        project: The project directory (holding algar.yaml).
        phase: Only this phase.

    """
    return _with_migration(project, phase, _plan)


def run(*, project: Path = Path(), phase: str | None = None) -> int:
    """Run the LDIF phases (validate, hierarchy, schema, users, groups, acl, output), or one of them.

    Each phase writes <output>/NN-<phase>.ldif and its report; a phase's input is the previous
    phase's output, so one phase can be run again alone.

    Args:
        project: The project directory (holding algar.yaml).
        phase: Only this phase (its input must be there).

    """
    return _with_migration(project, phase, _run)


def status(*, project: Path = Path(), phase: str | None = None) -> int:
    """Show per phase: entries in, out, excluded, failed, problems, seconds, and when it finished.

    Args:
        project: The project directory (holding algar.yaml).
        phase: Only this phase.

    """
    from flext_plugin_algar.phases import PHASES
    from flext_plugin_algar.project import load_project
    from flext_plugin_algar.report import read_report
    from flext_sdk.cli import emit_table

    loaded = load_project(project)
    if loaded.is_failure:
        return fail(loaded)
    checked = _phases(phase)
    if isinstance(checked, int):
        return checked
    out = loaded.value.path(loaded.value.output)
    rows: list[dict[str, object]] = []
    for name in checked:
        report = read_report(out / f"{PHASES.index(name) + 1:02d}-{name}.report.json")
        counts = report["counts"] if report else {}
        problems = report["problems"] if report else {}
        rows.append({
            "phase": name,
            "state": "done" if report else "pending",
            **{key: counts.get(key) for key in ("in", "out", "excluded", "failed")},
            **{f"{key}s": problems.get(key) for key in ("error", "warning")},
            "seconds": report["seconds"] if report else None,
            "finished_at": report["finished_at"] if report else None,
        })  # fmt: skip
    return emit_table(rows, list(rows[0]), title=f"ALGAR migration {project}")


def _phases(phase: str | None) -> tuple[str, ...] | int:
    from flext_kernel.errors import VALIDATION_ERROR
    from flext_plugin_algar.phases import PHASES
    from flext_sdk import FlextResult

    if phase is None:
        return PHASES
    if phase not in PHASES:
        return fail(
            FlextResult.fail(f"--phase: {phase!r} is not one of {', '.join(PHASES)}", VALIDATION_ERROR)
        )
    return (phase,)


def _with_migration(
    project: Path, phase: str | None, action: Callable[[Migration, tuple[str, ...]], int]
) -> int:
    from flext_kernel.errors import VALIDATION_ERROR
    from flext_plugin_algar.phases import Migration
    from flext_plugin_algar.project import load_project, load_rules
    from flext_sdk import FlextResult
    from flext_sdk.cli import boot_kernel
    from flext_sdk.contracts import hint_of, require_service
    from flext_sdk.contracts.ldif import LdifReader

    loaded = load_project(project)
    if loaded.is_failure:
        return fail(loaded)
    rules = load_rules(loaded.value)
    if rules.is_failure:
        return fail(rules)
    checked = _phases(phase)
    if isinstance(checked, int):
        return checked
    if loaded.value.source.ldif is None:
        return fail(FlextResult.fail(
            "source: the LDIF phases read an export (source.ldif); reading a live server comes with sync",
            VALIDATION_ERROR,
        ))  # fmt: skip
    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        reader = require_service(kernel, LdifReader, why="the ALGAR migration reads LDIF")
        if reader.is_failure:
            return fail(reader, hint=hint_of(reader))
        migration = Migration.of(loaded.value, rules.value, reader.value)
        if migration.is_failure:
            return fail(migration)
        return action(migration.value, checked)


def _plan(migration: Migration, phases: tuple[str, ...]) -> int:
    from flext_plugin_algar.phases import plan as phase_plan
    from flext_sdk.cli import emit_table

    rows = [row for row in phase_plan(migration) if row["phase"] in phases]
    export = migration.project.path(migration.project.source.ldif or Path())
    if not export.exists():
        note(f"the export {export} is not there yet")
    return emit_table(rows, ["phase", "state", "input", "output"], title="ALGAR migration plan")


def _run(migration: Migration, phases: tuple[str, ...]) -> int:
    from flext_plugin_algar.phases import run_phases
    from flext_sdk.cli import EXIT_OK, current, emit_table

    done: list[dict[str, Any]] = []
    for result in run_phases(migration, phases):
        if result.is_failure:
            return fail(result)
        report = result.value
        done.append(report)
        phase = report["phase"]
        problems = report["problems"]
        note(f"{phase}: {report['counts']['out']} entries out, {problems['error']} errors, "
             f"{problems['warning']} warnings ({report['items_file']})")  # fmt: skip
    if current().output != "table":
        return emit({"phases": done})
    rows = [
        {"phase": r["phase"], **{k: r["counts"][k] for k in ("in", "out", "excluded", "failed")},
         "errors": r["problems"]["error"], "warnings": r["problems"]["warning"], "output": r["output"]}
        for r in done
    ]  # fmt: skip
    emit_table(rows, list(rows[0]), title="ALGAR migration run")
    return EXIT_OK
