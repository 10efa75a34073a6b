"""Pipeline run spans, built from the run events the pipeline plugin appends to its journal.

The plugin does not import the pipeline plugin: it knows the events by their
stored type names (``pipeline.RunStarted`` ...) and reads their fields by
name. A run attempt is a span ``pipeline.run <name>`` from ``RunStarted`` to
the ``RunCompleted``, ``RunFailed`` or ``RunStopped`` that ends it, with
children for its steps: ``extract-load`` (tap, mappers and target, as long
as the Singer run took: the end event's ``elapsed``) and ``transform`` (the
dbt report's ``elapsed``, ending with the run). Confirmed states are events
on the ``extract-load`` span.

The run span is started when ``RunStarted`` is appended and made the current
span of the appending thread (the pipeline's runner thread), so what the run
dispatches meanwhile (``RunDbt`` for the transform) nests under it; it ends
at the end event's time. The step spans are made from the events' times
when the run ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from flext_plugin_observability import scrub

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from flext_plugin_observability.telemetry import Telemetry

__all__ = ["END_TYPES", "START_TYPE", "RunTracer"]

START_TYPE: Final = "pipeline.RunStarted"
"""The event that starts a run attempt."""
END_TYPES: Final = {
    "pipeline.RunCompleted": "completed",
    "pipeline.RunFailed": "failed",
    "pipeline.RunStopped": "stopped",
}
"""The events that end one, and the outcome each means."""
_CHECKPOINT: Final = "pipeline.StateCheckpointed"
_NS: Final = 1_000_000_000


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * _NS)


@dataclass
class _Open:
    """A run attempt whose end event has not come yet."""

    span: Span
    started: int
    token: object | None
    thread: int
    correlation: dict[str, str]
    """``{"flext.correlation_id": id}`` of the action that started the run (empty without one)."""
    checkpoints: list[int] = field(default_factory=list)


class RunTracer:
    """Turns the pipeline's journal events into run and step spans and run metrics."""

    def __init__(self, telemetry: Telemetry, correlation: Callable[[], str | None]) -> None:
        self._telemetry = telemetry
        self._correlation = correlation
        self._open: dict[tuple[str, int], _Open] = {}
        self._lock = threading.Lock()

    def observe(self, events: Iterable[Any]) -> None:
        """Look at events just appended; run events start, mark or end spans, the rest are ignored."""
        for event in events:
            kind = getattr(type(event), "message_type", None)
            if kind == START_TYPE:
                self._start(event)
            elif kind == _CHECKPOINT:
                self._checkpoint(event)
            elif isinstance(kind, str) and kind in END_TYPES:
                self._end(event, END_TYPES[kind])

    def close(self) -> None:
        """End the spans of runs that never ended (the process is going away), marked unfinished."""
        with self._lock:
            left, self._open = list(self._open.values()), {}
        for run in left:
            run.span.set_attribute("flext.run.unfinished", True)
            run.span.end()

    def _start(self, event: Any) -> None:
        from opentelemetry import context, trace

        pipeline, run_id, attempt = event.pipeline, event.run_id, int(getattr(event, "attempt", 1))
        attributes: dict[str, Any] = {
            "flext.pipeline": pipeline,
            "flext.run_id": run_id,
            "flext.run.attempt": attempt,
            "flext.run.full_refresh": bool(getattr(event, "full_refresh", False)),
        }
        correlation_id = self._correlation()
        correlation = {} if correlation_id is None else {"flext.correlation_id": scrub.text(correlation_id)}
        attributes.update(correlation)
        started = _ns(event.occurred_at)
        span = self._telemetry.tracer.start_span(
            scrub.text(f"pipeline.run {pipeline}"),
            attributes=scrub.attributes(attributes),
            start_time=started,
            record_exception=False,
            set_status_on_exception=False,
        )
        token = context.attach(trace.set_span_in_context(span))
        with self._lock:
            self._open[(run_id, attempt)] = _Open(span, started, token, threading.get_ident(), correlation)

    def _checkpoint(self, event: Any) -> None:
        with self._lock:
            run = self._latest(event.run_id)
        if run is not None:
            run.checkpoints.append(_ns(event.occurred_at))

    def _latest(self, run_id: str) -> _Open | None:
        attempts = [key for key in self._open if key[0] == run_id]
        return self._open[max(attempts)] if attempts else None

    def _end(self, event: Any, outcome: str) -> None:
        with self._lock:
            attempts = sorted(key for key in self._open if key[0] == event.run_id)
            run = self._open.pop(attempts[-1]) if attempts else None
        if run is None:
            return  # started before telemetry was on, or in another process
        ended = max(_ns(event.occurred_at), run.started)
        records: Mapping[str, int] = getattr(event, "records", None) or {}
        self._steps(run, event, ended, records)
        self._finish(run, event, outcome, ended, records)

    def _steps(self, run: _Open, event: Any, ended: int, records: Mapping[str, int]) -> None:
        from opentelemetry import trace

        parent = trace.set_span_in_context(run.span)
        tracer = self._telemetry.tracer
        elapsed = float(getattr(event, "elapsed", 0.0) or 0.0)
        loaded_end = min(run.started + int(elapsed * _NS), ended) if elapsed else ended
        transform = getattr(event, "transform", None)
        step = tracer.start_span(
            "pipeline.step extract-load",
            context=parent,
            start_time=run.started,
            attributes=scrub.attributes(
                {
                    "flext.step": "extract-load",
                    **run.correlation,
                    **{f"flext.records.{k}": v for k, v in records.items()},
                }
            ),
        )
        for moment in run.checkpoints:
            step.add_event("state checkpointed", timestamp=min(max(moment, run.started), loaded_end))
        step.end(end_time=loaded_end)
        if isinstance(transform, dict):
            took = float(transform.get("elapsed") or 0.0)
            start = max(loaded_end, ended - int(took * _NS))
            attributes: dict[str, str | bool] = {
                "flext.step": "transform",
                **run.correlation,
                "flext.dbt.success": bool(transform.get("success", True)),
            }
            tracer.start_span(
                "pipeline.step transform", context=parent, start_time=start, attributes=attributes
            ).end(end_time=ended)

    def _finish(self, run: _Open, event: Any, outcome: str, ended: int, records: Mapping[str, int]) -> None:
        from opentelemetry import context

        span, pipeline = run.span, scrub.text(event.pipeline)
        span.set_attribute("flext.run.outcome", outcome)
        span.set_attribute("flext.records", sum(records.values()))
        if outcome == "failed":
            span.set_attribute("flext.error_code", scrub.text(getattr(event, "code", None) or "UNKNOWN"))
            span.set_attribute("flext.run.will_retry", bool(getattr(event, "will_retry", False)))
            scrub.failed(span, getattr(event, "error", None))
        span.end(end_time=ended)
        if run.thread == threading.get_ident():  # elsewhere the run span was never current
            context.detach(run.token)  # type: ignore[arg-type]  # the token attach returned
        instruments = self._telemetry.instruments
        instruments.runs.add(1, {"pipeline": pipeline, "outcome": outcome})
        instruments.run_duration.record(
            (ended - run.started) / _NS, {"pipeline": pipeline, "outcome": outcome}
        )
        for stream, count in records.items():
            instruments.records_loaded.add(count, {"pipeline": pipeline, "stream": scrub.text(stream)})
