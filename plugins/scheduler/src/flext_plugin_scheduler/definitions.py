"""A schedule's definition (``ScheduleAdded``'s fields) from what a user or another plugin gives.

``flext schedule add`` and the ``AddSchedule`` contract's handler both build
it here, so a schedule added either way obeys the same rules: a valid name,
exactly one job, a cron croniter reads in an IANA zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flext_kernel.errors import VALIDATION_ERROR
from flext_plugin_scheduler.book import checked_name
from flext_plugin_scheduler.cron import parse_cron
from flext_sdk import FlextResult

__all__ = ["command_definition", "schedule_definition"]


def schedule_definition(
    name: str,
    cron: str,
    pipeline: str | None,
    meltano_job: str | None,
    timezone: str,
    catch_up: str,
    full_refresh: bool = False,
    command: str | None = None,
) -> FlextResult[dict[str, Any]]:
    """``ScheduleAdded``'s fields from the options, or the first thing wrong with them."""
    checked = checked_name(name)
    if checked.is_failure:
        return FlextResult.fail(checked.error or "", error_code=checked.error_code)
    if sum(job is not None for job in (pipeline, meltano_job, command)) != 1:
        return FlextResult.fail(
            "a schedule runs one job: give one of --pipeline, --meltano-job and --command",
            error_code=VALIDATION_ERROR,
        )
    if command is not None:
        return command_definition(name, cron, command, timezone, catch_up, full_refresh)
    if full_refresh and pipeline is None:
        return FlextResult.fail(
            "--full-refresh applies to a pipeline: give --pipeline (a Meltano job has no such option)",
            error_code=VALIDATION_ERROR,
        )
    kind, job = ("pipeline", pipeline) if pipeline is not None else ("meltano-job", meltano_job)
    assert job is not None, "one of them is set"
    job_checked = checked_name(job, what="pipeline name" if kind == "pipeline" else "Meltano job name")
    if job_checked.is_failure:
        return FlextResult.fail(job_checked.error or "", error_code=job_checked.error_code)
    parsed = parse_cron(cron, timezone)
    if parsed.is_failure:
        return FlextResult.fail(
            parsed.error or "", error_code=parsed.error_code, error_data=parsed.error_data
        )
    return FlextResult.ok(
        {
            "schedule": name,
            "cron": cron,
            "timezone": timezone,
            "catch_up": catch_up,
            "job_kind": kind,
            "job": job,
            "directory": str(Path.cwd()),
            "full_refresh": full_refresh,
            "since": datetime.now(UTC),
        }
    )


def command_definition(
    name: str, cron: str, command: str, timezone: str, catch_up: str, full_refresh: bool
) -> FlextResult[dict[str, Any]]:
    """``ScheduleAdded``'s fields for a FLEXT command line, or the first thing wrong with them."""
    import shlex

    try:
        words = shlex.split(command)
    except ValueError as exc:
        return FlextResult.fail(f"--command: {exc} in {command!r}", error_code=VALIDATION_ERROR)
    if not words or words[0].startswith("-") or words[0] == "scheduler":
        return FlextResult.fail(
            f"--command: {command!r} is not a FLEXT command line (what follows 'flext', e.g. "
            "'algar oud sync --project /srv/migration')",
            error_code=VALIDATION_ERROR,
        )
    if full_refresh:
        return FlextResult.fail("--full-refresh applies to a pipeline: give --pipeline", VALIDATION_ERROR)
    parsed = parse_cron(cron, timezone)
    if parsed.is_failure:
        return FlextResult.fail(
            parsed.error or "", error_code=parsed.error_code, error_data=parsed.error_data
        )
    return FlextResult.ok({
        "schedule": name, "cron": cron, "timezone": timezone, "catch_up": catch_up, "job_kind": "command",
        "job": shlex.join(words), "directory": str(Path.cwd()), "full_refresh": False,
        "since": datetime.now(UTC),
    })  # fmt: skip
