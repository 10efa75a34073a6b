"""What the ``flext pipeline`` commands print: JSON documents, and the shorter rows of their tables.

Machine output (``--output json|yaml``) has snake_case keys and times in ISO
8601 UTC (``2026-12-07T07:19:05.123456Z``); docs/pipelines.md lists each
command's keys ("What the commands print") and a test compares them with
what the commands print. Tables show a few of those keys, with times as
``2026-12-07 07:19Z``, so that they fit a terminal 80 columns wide.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flext_plugin_pipeline.definition import PipelineDefinition
    from flext_plugin_pipeline.journal import RunRecord

__all__ = [
    "HISTORY_COLUMNS",
    "LIST_COLUMNS",
    "STATUS_COLUMNS",
    "iso",
    "list_document",
    "run_document",
    "short",
    "table_rows",
]

LIST_COLUMNS = ("name", "tap", "target", "transform", "status")
"""``flext pipeline list``'s table (the JSON has ``mappers`` and ``last_run_id`` too)."""
STATUS_COLUMNS = ("pipeline", "status", "started_at", "records", "error")
"""``flext pipeline status``'s table (the JSON has the run count, the last run and its times too);
``records`` shows ``total_records``."""
HISTORY_COLUMNS = ("run_id", "status", "records", "elapsed", "error")
"""``flext pipeline history``'s table; the run id starts with the run's start time (UTC); ``records``
shows ``total_records``."""


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def iso(value: object) -> str | None:
    """``value`` (a datetime or ISO 8601 text) as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; None for none."""
    moment = _moment(value)
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def short(value: object) -> str:
    """``value`` for a table: ``YYYY-MM-DD HH:MMZ`` in UTC; "" for none."""
    moment = _moment(value)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%MZ")


def run_document(pipeline: str, run: RunRecord, *, status: str | None = None) -> dict[str, Any]:
    """One run, as ``run``, ``stop`` and ``history`` print it; ``status`` overrides the stored one."""
    return {
        "pipeline": pipeline,
        "run_id": run.run_id,
        "attempt": run.attempt,
        "status": status or run.status,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "elapsed": round(run.elapsed, 3),
        "records": dict(run.records),
        "total_records": run.total,
        "full_refresh": run.full_refresh,
        "checkpoints": run.checkpoints,
        "error": run.error,
        "code": run.code,
        "stderr_tail": list(run.stderr_tail),
        "will_retry": run.will_retry,
        "forced": run.forced,
        "stopped_during": run.stopped_during,
        "state": run.state,
        "transform": run.transform,
    }


def list_document(definition: PipelineDefinition, status: str, last_run_id: str | None) -> dict[str, Any]:
    """One registered pipeline, as ``flext pipeline list`` prints it."""
    transform = definition.transform
    step = None if transform is None else {"project": transform.project, "command": transform.command}
    return {
        "name": definition.name,
        "description": definition.description,
        "tap": definition.extract.name,
        "target": definition.load.name,
        "mappers": [mapper.name for mapper in definition.mappers],
        "transform": step,
        "status": status,
        "last_run_id": last_run_id,
    }


def table_rows(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents as a table shows them.

    Times short, seconds to a tenth, a transform as ``dbt CMD``, the total
    under ``records``.
    """
    rows = []
    for document in documents:
        row = dict(document)
        if "total_records" in row:
            row["records"] = row["total_records"]
        for key in ("started_at", "finished_at"):
            if key in row:
                row[key] = short(row[key])
        if isinstance(row.get("elapsed"), float):
            row["elapsed"] = f"{row['elapsed']:.1f}"
        if "transform" in row:
            row["transform"] = f"dbt {row['transform']['command']}" if row["transform"] else ""
        rows.append(row)
    return rows
