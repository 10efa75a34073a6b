"""``flext algar ...``: the migration's commands (one module; each command is imported only when it runs).

- ``flext algar init DIR``: a commented ``algar.yaml`` and a starter ``rules.yaml``; never overwrites;
- ``flext algar sample FILE``: an OID-style export to try the migration on (``flext_plugin_algar.sample``);
- ``flext algar migration plan|run|status``: the LDIF to LDIF phases (``flext_plugin_algar.phases``).

Every command prints ``{"ok": ..., "data": ...}`` under ``--output json``.
"""

from __future__ import annotations

from pathlib import Path

from flext_sdk.cli import emit, fail, note

__all__ = ["init", "sample"]


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
