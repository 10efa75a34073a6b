"""The ``flext serve`` application (Starlette): liveness, readiness, metrics and the read API.

| route | answers |
|---|---|
| ``GET /health`` | 200 ``{"status": "ok"}`` while the process serves (liveness) |
| ``GET /ready`` | 200 when every required service of the registry is up, else 503; the checks either way |
| ``GET /metrics`` | the ``GetMetricsText`` query's Prometheus text; 503 when no plugin answers it |
| ``GET /api/v1/events?after=&limit=`` | events in global order after position ``after`` |
| ``GET /api/v1/pipelines?after=&limit=`` | registered pipelines by name, after the name ``after`` |
| ``GET /api/v1/runs?pipeline=&after=&limit=`` | runs in start order, after the run id ``after`` |

Pages are ``{"items": [...], "next": cursor}``; ``next`` is what to pass as
``after`` for the following page, null on the last. Every store access runs
on one worker thread (stores are not all safe to share across threads).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_service.readapi import PipelineFold, event_document, page

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.result import FlextResult

__all__ = ["MAX_LIMIT", "build_app"]

MAX_LIMIT = 1000
"""The largest page the read API serves; ``limit`` defaults to 100."""
_DEFAULT_LIMIT = 100
_READY_TIMEOUT = 5.0
_SELF = "serve"
"""The registry's name for this server, which ``/ready`` does not check over HTTP (it is answering)."""

T = TypeVar("T")


class _Store:
    """The event store the API reads, opened on first use on the one store thread and kept open."""

    def __init__(self, kernel: FlextKernel, location: str | None) -> None:
        self._kernel = kernel
        self._location = location
        self._store: FlextEventStore | None = None
        self.fold = PipelineFold()
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flext-serve-store")

    def opened(self) -> FlextResult[FlextEventStore]:
        from flext_eventsourcing import stores_of
        from flext_kernel.result import FlextResult

        if self._store is not None:
            return FlextResult.ok(self._store)
        stores = stores_of(self._kernel)
        if stores.is_failure:
            return FlextResult.fail(stores.error or "", error_code=stores.error_code)
        opened = stores.value.open_event_store(self._location, create=False, read_only=True)
        if opened.is_success:
            self._store = opened.value
        return opened

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        if self._store is not None:
            self._store.close()


def _error(status: int, message: str, code: str | None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, "code": code}, status_code=status)


def _whole(raw: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes ``²`` and ``٣``, which ``int`` refuses (a 500)."""
    return raw.isascii() and raw.isdigit()


def _paging(request: Request) -> tuple[int, str | None] | JSONResponse:
    raw = request.query_params.get("limit", str(_DEFAULT_LIMIT))
    if not _whole(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        return _error(400, f"limit must be a whole number from 1 to {MAX_LIMIT}", VALIDATION_ERROR)
    return int(raw), request.query_params.get("after")


def build_app(kernel: FlextKernel, *, store: str | None = None) -> Starlette:
    """The application over ``kernel``; ``store`` is the event store location (None: the default)."""
    source = _Store(kernel, store)

    async def on_store(function: Callable[[FlextEventStore], T]) -> T | JSONResponse:
        def work() -> T | JSONResponse:
            opened = source.opened()
            if opened.error_code == NOT_FOUND:  # nothing recorded yet: every list is empty
                return JSONResponse({"items": [], "next": None})
            if opened.is_failure:
                return _error(503, f"the event store is unavailable: {opened.error}", opened.error_code)
            return function(opened.value)

        return await asyncio.get_running_loop().run_in_executor(source.thread, work)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        from flext_plugin_service.health import check_all_async
        from flext_plugin_service.registry import read_registry

        registry = read_registry(kernel)
        specs = [spec for name, spec in registry.services.items() if name != _SELF]
        results = await check_all_async(specs, kernel, _READY_TIMEOUT)
        down = [result.service for result in results if result.status == "down" and result.required]
        body = {"ready": not down, "down": down, "services": [result.document() for result in results]}
        return JSONResponse(body, status_code=503 if down else 200)

    async def metrics(_: Request) -> Response:
        from flext_sdk.contracts import require_handler
        from flext_sdk.contracts.observability import GetMetricsText

        there = require_handler(kernel, GetMetricsText, why="/metrics")
        if there.is_failure:
            hint = there.error_data.get("hint")
            text = f"no metrics: {there.error} ({there.error_code})" + (f"\nhint: {hint}" if hint else "")
            return PlainTextResponse(text + "\n", status_code=503)
        answer = await asyncio.to_thread(kernel.query_bus.execute, GetMetricsText())
        if answer.is_failure:
            return PlainTextResponse(f"no metrics: {answer.error} ({answer.error_code})\n", status_code=503)
        return Response(
            answer.value.text, media_type=None, headers={"content-type": answer.value.content_type}
        )

    async def events(request: Request) -> Response:
        paging = _paging(request)
        if isinstance(paging, JSONResponse):
            return paging
        limit, after = paging
        if after is not None and not _whole(after):
            return _error(400, "after must be an event position (a whole number)", VALIDATION_ERROR)
        start = int(after or 0)

        def read(store: FlextEventStore) -> Response:
            found = store.read_all(start, limit=limit + 1)
            if found.is_failure:
                return _error(503, f"the event store could not be read: {found.error}", found.error_code)
            items = [event_document(recorded) for recorded in found.value[:limit]]
            more = len(found.value) > limit
            return JSONResponse({"items": items, "next": items[-1]["position"] if more else None})

        return _response(await on_store(read))

    async def pipelines(request: Request) -> Response:
        return await _folded(request, lambda: source.fold.pipeline_list(), "name")

    async def runs(request: Request) -> Response:
        pipeline = request.query_params.get("pipeline")
        return await _folded(request, lambda: source.fold.run_list(pipeline), "run_id")

    async def _folded(request: Request, items: Callable[[], list[dict[str, Any]]], key: str) -> Response:
        paging = _paging(request)
        if isinstance(paging, JSONResponse):
            return paging
        limit, after = paging

        def read(store: FlextEventStore) -> Response:
            caught = source.fold.catch_up(store)
            if caught.is_failure:
                return _error(503, f"the event store could not be read: {caught.error}", caught.error_code)
            return JSONResponse(page(items(), key, after, limit).document())

        return _response(await on_store(read))

    routes = [
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", metrics),
        Route("/api/v1/events", events),
        Route("/api/v1/pipelines", pipelines),
        Route("/api/v1/runs", runs),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        source.close()

    return Starlette(routes=routes, lifespan=lifespan)


def _response(answer: Response | Awaitable[Response]) -> Response:
    assert isinstance(answer, Response)  # on_store's work always answers a Response
    return answer
