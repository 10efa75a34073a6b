"""``flext algar migration sync|verify``: the migration against the target directory server.

- ``sync [--dry-run]``: load ``07-output.ldif`` into the target, idempotently (``flext_plugin_algar.sync``),
  recorded in the project's journal and resumed after a kill (``cli.recorded_sync``);
- ``verify``: compare it with the target entry by entry (``flext_plugin_algar.verify``).

Both print their report (``{"ok": true, "data": ...}`` under ``--output json``).
sync exits 1 when the server refused an entry, verify when the target differs
from the source; a failure to reach, bind or keep the target is one error line
(``LDAP_*`` codes, exit 1). docs/algar.md, "Loading and checking the target".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_plugin_algar.session import with_migration
from flext_sdk.cli import EXIT_FAILED, EXIT_OK, emit, fail, note

if TYPE_CHECKING:
    from flext_plugin_algar.phases import Migration
    from flext_plugin_algar.sync import SyncProgress
    from flext_sdk import FlextKernel

__all__ = ["sync", "verify"]

_NOTE_EVERY = 5.0  # seconds between progress lines


def sync(*, project: Path = Path(), dry_run: bool = False, store: str | None = None) -> int:
    """Load the migration's output (07-output.ldif) into the target: add what is missing, fix what differs.

    Reads the target's entries batch by batch first, so running it again adds nothing twice and
    changes only what differs; nothing is deleted. Each batch is recorded in the project's journal,
    and a killed sync is resumed by the next. Exits 1 when the server refused an entry.

    Args:
        project: The project directory (holding algar.yaml).
        dry_run: Change nothing: write the change records it would send to out/08-sync.dry-run.ldif.
        store: The event store (a SQLite path or postgresql:// URL); default $FLEXT_EVENTSTORE_URL.

    """
    return with_migration(project, lambda kernel, migration: _sync(kernel, migration, dry_run, store))


def verify(*, project: Path = Path()) -> int:
    """Compare the migration's output (07-output.ldif) with the target entry by entry.

    Reports entries missing from the target, extra on it (under the target suffix), and different
    (attribute by attribute), in out/09-verify.report.json. Exits 0 when clean, 1 when not.

    Args:
        project: The project directory (holding algar.yaml).

    """
    return with_migration(project, lambda kernel, migration: _verify(migration))


def _sync(kernel: FlextKernel, migration: Migration, dry_run: bool, store: str | None) -> int:
    from flext_plugin_algar.cli import recorded_sync

    last = [time.monotonic()]

    def progress(done: SyncProgress) -> None:
        if time.monotonic() - last[0] >= _NOTE_EVERY:
            last[0] = time.monotonic()
            counts = done.counts
            note(f"sync: {done.position} entries ({counts.get('added', 0)} added, "
                 f"{counts.get('modified', 0)} modified, {counts.get('failed', 0)} refused)")  # fmt: skip

    result = recorded_sync(kernel, migration, dry_run=dry_run, on_batch=progress, store=store)
    if isinstance(result, int):  # the journal could not be opened or locked (printed)
        return result
    if result.is_failure:
        return fail(result)
    report = result.value
    counts = report["counts"]
    verb = "would send" if dry_run else "sent"
    human = (
        f"sync{' (dry run)' if dry_run else ''} to {report['target']}: {counts['in']} entries, "
        f"{counts['added']} added, {counts['modified']} modified, {counts['unchanged']} unchanged, "
        f"{counts['failed']} refused"
    )
    if dry_run:
        human += f"\nthe changes it {verb} are in {report['output']}"
    if counts["failed"]:
        human += f"\nthe refused entries, with the server's messages: {report['items_file']}"
    emit(report, human=human)
    return EXIT_FAILED if counts["failed"] else EXIT_OK


def _verify(migration: Migration) -> int:
    from flext_plugin_algar.verify import run_verify

    result = run_verify(migration)
    if result.is_failure:
        return fail(result)
    report = result.value
    emit(report, human=_verify_text(report))
    return EXIT_OK if report["clean"] else EXIT_FAILED


def _verify_text(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = [
        f"verify against {report['target']}: {counts['in']} entries, {counts['same']} the same, "
        f"{counts['missing']} missing, {counts['different']} different, {counts['extra']} extra"
        + (" (clean)" if report["clean"] else "")
    ]
    for code in ("VERIFY_MISSING", "VERIFY_DIFFERENT", "VERIFY_EXTRA"):
        for example in report["codes"].get(code, {}).get("examples", ()):
            kind = code.removeprefix("VERIFY_").lower()
            detail = ""
            for difference in example.get("differences", ()):
                detail += (f"\n    {difference['attribute']}: only in source {difference['only_in_source']}, "
                           f"only on target {difference['only_in_target']}")  # fmt: skip
            lines.append(f"  {kind}: {example['dn']}{detail}")
    if not report["clean"]:
        lines.append(f"every difference: {report['items_file']}")
    return "\n".join(lines)
