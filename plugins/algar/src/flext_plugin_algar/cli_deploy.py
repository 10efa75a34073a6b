"""``flext algar pipeline deploy``: keep OUD in step until cut-over, with ``oud sync`` on a schedule.

The schedule is the scheduler plugin's (``flext schedule add NAME --command
"algar oud sync --project DIR"``), made by running FLEXT's own command as a
child process in the project directory, as an operator would: ALGAR imports
nothing of the scheduler. Deploying again changes the schedule only when the
cron, the zone or the project moved; ``--remove`` takes it away. ``flext
scheduler`` (or ``flext schedule run-due`` from cron) fires it; each firing's
outcome is in ``flext schedule list`` and its log.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from flext_sdk.cli import emit, fail

__all__ = ["deploy"]


def deploy(
    *,
    project: Path = Path(),
    cron: str = "*/30 * * * *",
    timezone: str = "UTC",
    remove: bool = False,
    store: str | None = None,
) -> int:
    """Schedule 'flext algar oud sync' for the project (every 30 minutes by default); or --remove it.

    Args:
        project: The project directory (holding algar.yaml).
        cron: When to sync (a 5-field cron expression).
        timezone: The IANA time zone the expression is read in.
        remove: Remove the schedule instead.
        store: The event store the schedule lives in (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_algar.project import load_project

    loaded = load_project(project)
    if loaded.is_failure:
        return fail(loaded)
    directory = project.resolve()
    name = f"algar-{_slug(directory.name)}-oud-sync"
    line = shlex.join(["algar", "oud", "sync", "--project", str(directory)])
    options = ["--store", store] if store else []
    listed = _flext(directory, "schedule", "list", *options)
    live = {row["schedule"]: row for row in listed[1] or []} if listed[0] == 0 else {}
    current = live.get(name)
    wanted = {"cron": cron, "timezone": timezone, "job_kind": "command", "job": line}
    if remove or (current is not None and any(current.get(k) != v for k, v in wanted.items())):
        if current is not None:
            code, data = _flext(directory, "schedule", "remove", name, *options)
            if code != 0:
                return _failed(code, data)
        if remove:
            return emit({"schedule": name, "removed": current is not None}, human=f"removed schedule {name}")
    elif current is not None:
        return emit({"schedule": name, "changed": False, **wanted}, human=f"schedule {name} is as asked")
    code, data = _flext(
        directory,
        "schedule",
        "add",
        name,
        "--cron",
        cron,
        "--timezone",
        timezone,
        "--command",
        line,
        *options,
    )
    if code != 0:
        return _failed(code, data)
    human = f"schedule {name}: 'flext {line}' at '{cron}' ({timezone}); 'flext scheduler' fires it"
    return emit({"schedule": name, "changed": True, **wanted}, human=human)


def _slug(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return cleaned or "project"


def _flext(directory: Path, *arguments: str) -> tuple[int, Any]:
    """``flext --output json ARGUMENTS`` run in ``directory``: its exit code, and its data or its error."""
    argv = [sys.executable, "-m", "flext_kernel.cli", "--output", "json", *arguments]
    done = subprocess.run(argv, cwd=directory, capture_output=True, text=True, check=False)
    try:
        document = json.loads(done.stdout) if done.stdout.strip() else {}
    except ValueError:
        document = {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return done.returncode, document.get("data") if done.returncode == 0 else document


def _failed(code: int, document: dict[str, Any]) -> int:
    from flext_kernel.errors import OPERATION_ERROR
    from flext_sdk.cli import emit_error

    emit_error(
        str(document.get("error") or "flext schedule failed"), str(document.get("code") or OPERATION_ERROR)
    )
    return code
