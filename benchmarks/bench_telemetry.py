"""The observability plugin's cost on the bus, next to bench_bus.py's rows.

Targets (issue 18): with the plugin loaded and telemetry off (the default),
command dispatch within 10% of a kernel without the plugin. With the
OpenTelemetry SDK on and an in-memory exporter, the cost per dispatch span
is stated and compared with a bare ``tracer.start_as_current_span`` on the
same provider in the same run (informational: no target).

Telemetry off adds nothing to the pipeline (no behaviour is installed), so
the first ratio measures noise; the two kernels are timed interleaved, best
of several rounds each. The in-memory exporter keeps every span, so the
traced rows run shorter loops and empty it between rounds.
"""

from __future__ import annotations

import json
import os
import sys
import timeit
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from _timing import Row

from flext_kernel.kernel import FlextKernel
from flext_kernel.messages import FlextCommand
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.result import FlextResult

PLUGIN = Candidate("observability", "flext_plugin_observability.plugin:Plugin", "entry-point")


class CreateUser(FlextCommand):
    name: str
    age: int


def handle_create_user(command: CreateUser) -> FlextResult[str]:
    return FlextResult.ok(command.name)


def _best(
    fns: dict[str, Callable[[], object]], *, number: int, rounds: int, between=None
) -> dict[str, float]:
    """Best-of-``rounds`` ns per call of each function, the functions interleaved round by round."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            if between is not None:
                between()
            took = timeit.Timer(fn).timeit(number) / number * 1e9
            best[name] = min(best[name], took)
    return best


def _kernel(*, plugin: bool, exporter: str) -> FlextKernel:
    os.environ["FLEXT_TELEMETRY_EXPORTER"] = exporter
    kernel = FlextKernel.boot([PLUGIN] if plugin else []).unwrap()
    if plugin:
        assert kernel.plugins.records["observability"].state.value == "active"
    kernel.command_bus.register(CreateUser, handle_create_user)
    return kernel


def _off_rows(command: CreateUser) -> list[Row]:
    bare, off = _kernel(plugin=False, exporter="none"), _kernel(plugin=True, exporter="none")
    twin = _kernel(plugin=False, exporter="none")
    for kernel in (bare, off, twin):
        assert kernel.command_bus.dispatch(command).value == "ada"
    found = _best(
        {
            "bare": lambda: bare.command_bus.dispatch(command),
            "off": lambda: off.command_bus.dispatch(command),
            "twin": lambda: twin.command_bus.dispatch(command),
        },
        number=100_000,
        rounds=9,
    )
    for kernel in (bare, off, twin):
        kernel.close()
    return [
        Row(
            "telemetry",
            "dispatch, plugin loaded, telemetry off",
            found["off"],
            "dispatch, kernel without the plugin",
            found["bare"],
            1.10,
            ["FLEXT_TELEMETRY_EXPORTER unset/none: no behaviour is added; compare with the noise row"],
        ),
        Row(
            "telemetry",
            "noise: dispatch, a second kernel without the plugin",
            found["twin"],
            "dispatch, kernel without the plugin",
            found["bare"],
            None,
            ["two identical kernels timed the same way: how far apart equal work lands in this run"],
        ),
    ]


def _on_rows(command: CreateUser) -> list[Row]:
    bare = _kernel(plugin=False, exporter="none")
    on = _kernel(plugin=True, exporter="memory")
    telemetry = on.plugins.records["observability"].plugin.telemetry  # type: ignore[union-attr]
    tracer, exporter, instruments = telemetry.tracer, telemetry.span_memory, telemetry.instruments
    labels = {"bus": "command", "message_type": "x"}

    def bare_span() -> None:
        with tracer.start_as_current_span("bench"):
            pass

    def bare_span_and_metrics() -> None:
        with tracer.start_as_current_span("bench"):
            instruments.dispatch_duration.record(0.001, labels)

    assert on.command_bus.dispatch(command).value == "ada"
    found = _best(
        {
            "bare": lambda: bare.command_bus.dispatch(command),
            "on": lambda: on.command_bus.dispatch(command),
            "span": bare_span,
            "span+metrics": bare_span_and_metrics,
        },
        number=20_000,
        rounds=7,
        between=exporter.clear,
    )
    on.close()
    bare.close()
    per_span = found["on"] - found["bare"]
    return [
        Row(
            "telemetry",
            "dispatch, telemetry on (SDK, in-memory exporter)",
            found["on"],
            "dispatch, kernel without the plugin",
            found["bare"],
            None,
            ["TracingBehavior: one span, one tally increment, one histogram record per dispatch"],
        ),
        Row(
            "telemetry",
            "TracingBehavior cost per dispatch span",
            per_span,
            "bare tracer.start_as_current_span",
            found["span"],
            None,
            ["same provider and SimpleSpanProcessor(InMemorySpanExporter) in the same run"],
        ),
        Row(
            "telemetry",
            "bare span + one histogram record",
            found["span+metrics"],
            "bare tracer.start_as_current_span",
            found["span"],
            None,
            ["what the behaviour must do at least (its dispatch count is a dict tally); the rest is its own"],
        ),
    ]


def run() -> list[Row]:
    """Measure dispatch without the plugin, with it off, and with it on; and a bare span."""
    saved = os.environ.get("FLEXT_TELEMETRY_EXPORTER")
    command = CreateUser(name="ada", age=36)
    try:
        return _off_rows(command) + _on_rows(command)
    finally:
        if saved is None:
            os.environ.pop("FLEXT_TELEMETRY_EXPORTER", None)
        else:
            os.environ["FLEXT_TELEMETRY_EXPORTER"] = saved


if __name__ == "__main__":
    rows = [asdict(row) | {"ratio": row.ratio, "met": row.met} for row in run()]
    print(json.dumps(rows, indent=2))
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
