"""``flext monitor performance`` and ``flext monitor metrics``: thin commands over ``stats``, ``metrics``."""

from __future__ import annotations

import time
from dataclasses import asdict

from flext_sdk.cli import boot_kernel, current, emit, emit_table, fail

__all__ = ["metrics", "performance"]

PERFORMANCE_COLUMNS = ("kind", "name", "runs", "failed", "p50", "p95", "p99", "max")
METRICS_COLUMNS = ("metric", "type", "sample", "labels", "value")


def performance(*, since: str = "24h", pipeline: str | None = None, store: str | None = None) -> int:
    """p50/p95/p99 of durations (seconds) per pipeline and per scheduled command, over the window.

    Pipeline durations come from the run events (each run's end event holds
    its elapsed time; a retried run counts its last attempt); a scheduled
    command's from the scheduler's firing events (start to finish).

    Args:
        since: The window: a duration back from now (30m, 24h, 7d).
        pipeline: Only this pipeline.
        store: The event store (a SQLite path or postgresql:// URL; default $FLEXT_EVENTSTORE_URL).

    """
    from flext_eventsourcing import opened_store
    from flext_plugin_monitor.runs import RunFold
    from flext_plugin_monitor.stats import duration_rows
    from flext_plugin_monitor.window import parse_duration

    window = parse_duration("--since", since)
    if window.is_failure:
        return fail(window)
    with opened_store(store, create=False, read_only=True) as opened:
        if isinstance(opened, int):
            return opened
        _, event_store = opened
        fold = RunFold()
        caught = fold.catch_up(event_store)
        if caught.is_failure:
            return fail(caught)
    rows = duration_rows(
        fold.runs.values(), fold.firings.values(), since=time.time() - window.value, pipeline=pipeline
    )
    documents = [asdict(row) for row in rows]
    shown = [
        {**document, **{key: f"{document[key]:.2f}" for key in ("p50", "p95", "p99", "max")}}
        for document in documents
    ]
    if not rows:
        return emit(
            [], human=f"no run ended in the last {since}" + (f" for pipeline {pipeline}" if pipeline else "")
        )
    if current().output != "table":
        return emit(documents)
    return emit_table(shown, PERFORMANCE_COLUMNS, title=f"Run durations (seconds), last {since}")


def metrics(service: str | None = None, /) -> int:
    """The metrics as a table: this process's (GetMetricsText), or a service's /metrics.

    Args:
        service: A service checked over HTTP (``flext serve``): its /metrics is read.

    """
    from flext_plugin_monitor.metrics import metrics_text, parse_metrics

    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        text = metrics_text(kernel, service)
    if text.is_failure:
        hint = text.error_data.get("hint")
        return fail(text, hint=str(hint) if hint else None)
    rows = parse_metrics(text.value)
    if rows.is_failure:
        return fail(rows)
    if not rows.value:
        return emit(
            [],
            human="no metric has a sample yet (with telemetry off nothing is recorded: "
            "FLEXT_TELEMETRY_EXPORTER)",
        )
    documents = [asdict(row) for row in rows.value]
    return emit_table(documents, METRICS_COLUMNS, title=f"Metrics of {service or 'this process'}")
