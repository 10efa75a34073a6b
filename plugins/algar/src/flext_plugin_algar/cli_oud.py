"""``flext algar oud sync``: keep the target in step with the source between the load and the cut-over.

Thin: it builds the migration (the project, its rules, the ``ldif`` plugin's
reader from the container), reads a live source into its snapshot file when
the project has one, runs ``oud_sync.sync_changes`` and prints the result.
docs/algar.md, "Keeping OUD in step: oud sync", says what it does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_sdk.cli import emit, fail, note

if TYPE_CHECKING:
    from flext_plugin_algar.phases import Migration
    from flext_sdk import FlextResult

__all__ = ["sync"]

_COUNTS = ("added", "modified", "renamed", "deleted", "unchanged", "left_out", "orphans", "invalid", "failed")


def sync(*, project: Path = Path(), dry_run: bool = False) -> int:
    """Apply to the target only what changed in the source since the last oud sync.

    Changed entries become add, modify (only the attributes that differ), modrdn (a move found by
    orclguid) or delete; each is compared with the target first, so a re-run applies nothing twice.
    The first run (no snapshot yet) compares every entry with the target and deletes nothing.
    Exits 1 when the target refused some operations (each is an item of the report).

    Args:
        project: The project directory (holding algar.yaml).
        dry_run: Print the changes as LDIF change records (a summary under --output json); change nothing.

    """
    from flext_plugin_algar.session import with_migration

    return with_migration(
        project, lambda _kernel, migration: _sync(migration, dry_run), why="oud sync reads the source as LDIF"
    )


def _sync(migration: Migration, dry_run: bool) -> int:
    """Under the project's run lock: one oud sync (or run, or sync) of a project at a time."""
    from flext_plugin_algar.journal import RunLock
    from flext_plugin_algar.oud_sync import sync_changes

    migration.out.mkdir(parents=True, exist_ok=True)
    with RunLock(migration.out) as lock:
        locked = lock.acquire()
        if locked.is_failure:
            return fail(locked, hint="wait for it to end, then run 'flext algar oud sync' again")
        if migration.project.source.url is not None:
            fetched = _fetch(migration)
            if fetched.is_failure:
                return fail(fetched)
        done = sync_changes(migration, dry_run=dry_run)
        if done.is_failure:
            return fail(done)
        return _print(done.value, dry_run=dry_run)


def _fetch(migration: Migration) -> FlextResult[dict[str, Any]]:
    """Read the live source into oud sync's own file (``oud_sync.source_of``), fresh each time.

    Never into ``00-source.ldif``: that is the migration's snapshot, which a run repeated or resumed
    must find as it was taken (docs/algar.md, "Reading a live OID server").
    """
    from flext_plugin_algar.ldap_source import export_source
    from flext_plugin_algar.oud_sync import source_of

    source = source_of(migration)
    note(f"reading the live source {migration.project.source.url} into {source}")
    return export_source(migration.project, source)


def _print(report: dict[str, Any], *, dry_run: bool) -> int:
    from flext_sdk.cli import EXIT_FAILED, current, emit_table

    counts = report["counts"]
    if report.get("baseline"):
        note("no snapshot of an earlier oud sync: every entry was compared with the target, none deleted")
    summary = {
        "dry_run": dry_run,
        "baseline": report.get("baseline", False),
        "entries": counts.get("in", 0),
        **{key: counts.get(key, 0) for key in _COUNTS},
        "changes_file": report.get("changes_file"),
        "items_file": report.get("items_file"),
    }
    if dry_run and current().output == "table":
        sys.stdout.write(Path(report["changes_file"]).read_text(encoding="utf-8"))
        note(", ".join(f"{key} {summary[key]}" for key in _COUNTS) + " (dry run: nothing applied)")
    elif current().output == "table":
        emit_table([{key: summary[key] for key in _COUNTS}], list(_COUNTS), title="ALGAR oud sync")
    else:
        emit(summary)
    if counts.get("failed"):
        note(f"the target refused {counts['failed']} operations: see {report['items_file']}")
        return EXIT_FAILED
    return 0
