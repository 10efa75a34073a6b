"""``health``: every service checked at once, each with its own timeout, and since when it is so.

The checks run concurrently on one event loop, so the whole round takes
about as long as the slowest check (at most the timeout), not their sum.
The last state of each service and when it changed are kept in
``<data dir>/services/health.json``, under a lock, so "down since 03:12"
survives between runs and between ``flext service health`` and ``/ready``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from flext_plugin_service.checks import run_check
from flext_plugin_service.files import read_json, services_dir, write_json

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_plugin_service.spec import ServiceSpec

__all__ = ["HEALTH_COLUMNS", "Health", "check_all", "check_all_async", "last_states", "record_states"]

Status = Literal["up", "down"]

HEALTH_COLUMNS = ("service", "status", "required", "latency_ms", "detail", "since")
"""The columns of ``flext service health`` (JSON has these keys and ``kind``, ``target``)."""


@dataclass(frozen=True)
class Health:
    """One service's check: its answer, how long it took, and since when the service is in that state."""

    service: str
    kind: str
    status: Status
    required: bool
    latency_ms: float | None
    """None when the check timed out."""
    detail: str
    target: str
    since: str | None = None
    """ISO 8601 UTC time of the last change of status (None before it is recorded)."""

    def document(self) -> dict[str, Any]:
        """The row, as ``--output json`` and ``/ready`` print it."""
        return asdict(self)


async def _one(spec: ServiceSpec, kernel: FlextKernel, timeout: float) -> Health:
    began = time.perf_counter()
    try:
        up, detail = await asyncio.wait_for(run_check(spec, kernel), timeout)
    except TimeoutError:
        return Health(
            spec.name, spec.kind, "down", spec.required, None, f"no answer in {timeout:g}s", spec.target()
        )
    except Exception as exc:  # one check's bug must not hide the others: reported as down
        up, detail = False, f"check failed: {type(exc).__name__}"
    latency = round((time.perf_counter() - began) * 1000, 1)
    detail = (detail.strip().splitlines() or [""])[0]  # one line in a table row, whatever a driver said
    return Health(spec.name, spec.kind, "up" if up else "down", spec.required, latency, detail, spec.target())


async def check_all_async(specs: Iterable[ServiceSpec], kernel: FlextKernel, timeout: float) -> list[Health]:
    """Check every service concurrently, each within ``timeout`` seconds; record and date the states."""
    results = await asyncio.gather(*(_one(spec, kernel, timeout) for spec in specs))
    return record_states(list(results))


def check_all(specs: Iterable[ServiceSpec], kernel: FlextKernel, timeout: float) -> list[Health]:
    """``check_all_async`` from synchronous code (the CLI, a query handler).

    Called from a thread whose event loop runs (a handler asked from async
    code), ``asyncio.run`` refuses: the checks then run on a worker thread's
    own loop, and this call waits for them.
    """
    specs = list(specs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(check_all_async(specs, kernel, timeout))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="flext-health") as worker:
        return worker.submit(asyncio.run, check_all_async(specs, kernel, timeout)).result()


def last_states() -> dict[str, dict[str, Any]]:
    """The recorded ``{service: {"status", "since", "checked", "detail"}}``."""
    data = read_json(services_dir() / "health.json")
    return data if isinstance(data, dict) else {}


def record_states(results: list[Health]) -> list[Health]:
    """Store each result's status; a changed one gets ``since`` = now. Returns the results with ``since``."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    lock_path = services_dir() / "health.lock"
    with open(lock_path, "a") as lock:  # a lock file, held by fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)
        states = last_states()
        dated: list[Health] = []
        for result in results:
            previous = states.get(result.service) or {}
            since = previous.get("since") if previous.get("status") == result.status else now
            states[result.service] = {
                "status": result.status,
                "since": since,
                "checked": now,
                "detail": result.detail,
            }
            dated.append(Health(**{**asdict(result), "since": since}))
        write_json(services_dir() / "health.json", states)
    return dated
