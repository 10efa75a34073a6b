"""One health check per kind of service, each a coroutine answering ``(up, detail)``.

Network checks speak just enough of each protocol to know the server is
the right one and answering (NATS's ``INFO`` greeting, Redis's ``PONG``,
PostgreSQL's ``SELECT version()``), not merely that a port is open. Checks
that block (the event store through the kernel, psycopg, urllib) run in a
daemon thread, so a check that hangs past its timeout cannot keep the CLI
from exiting. Details never hold a password: errors name the redacted
target only.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlsplit

from flext_kernel.errors import NOT_FOUND
from flext_plugin_service.spec import (
    EventStoreCheck,
    HttpCheck,
    NatsCheck,
    PostgresCheck,
    ProcessCheck,
    RedisCheck,
    ServiceSpec,
    TcpCheck,
)
from flext_plugin_service.supervisor import running

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["Outcome", "run_check"]

Outcome = tuple[bool, str]
"""(up, one line of detail)."""

T = TypeVar("T")


async def in_daemon_thread(function: Callable[[], T]) -> T:
    """Run ``function`` in a daemon thread and await its answer (an abandoned one does not block exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(answer: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(answer)  # type: ignore[arg-type]  # answer is a T when error is None

    def work() -> None:
        try:
            answer = function()
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(deliver, None, exc)
        else:
            loop.call_soon_threadsafe(deliver, answer, None)

    threading.Thread(target=work, daemon=True, name="flext-service-check").start()
    return await future


async def run_check(spec: ServiceSpec, kernel: FlextKernel) -> Outcome:
    """Check ``spec``; an exception is a down service with the exception's one-line reason."""
    check = spec.check
    try:
        if isinstance(check, EventStoreCheck):
            return await in_daemon_thread(lambda: _event_store(kernel, check))
        if isinstance(check, PostgresCheck):
            return await in_daemon_thread(lambda: _postgres(check.url.get_secret_value()))
        if isinstance(check, NatsCheck):
            return await _nats(check.url.get_secret_value())
        if isinstance(check, RedisCheck):
            return await _redis(check.url.get_secret_value())
        if isinstance(check, HttpCheck):
            return await in_daemon_thread(lambda: _http(check.url))
        if isinstance(check, TcpCheck):
            return await _tcp(check.host, check.port)
        if isinstance(check, ProcessCheck):
            return _process(spec.name)
    except OSError as exc:
        return False, _reason(exc)
    return False, f"unknown check {type(check).__name__}"


def _reason(exc: BaseException) -> str:
    """One line about ``exc`` without any URL it may quote (which may hold a password)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "connection info string" in text:  # libpq quotes a piece of a key=value string: maybe the password
        return "invalid key=value connection string (quote a value holding spaces)"
    return text if "://" not in text else type(exc).__name__


def _process(name: str) -> Outcome:
    live = running(name)
    return (True, f"pid {live.pid}") if live else (False, "not running")


def _event_store(kernel: FlextKernel, check: EventStoreCheck) -> Outcome:
    from flext_eventsourcing import stores_of

    stores = stores_of(kernel)
    if stores.is_failure:
        return False, stores.error or "event sourcing is unavailable"
    location = check.location.get_secret_value() if check.location else None
    parsed = stores.value.parse(location)
    backend = parsed.value[0] if parsed.is_success else "?"
    opened = stores.value.open_event_store(location, create=False, read_only=True)
    if opened.error_code == NOT_FOUND:  # reachable, nothing recorded yet: the first write creates it
        return True, f"{backend}: no store yet (the first command that records events creates it)"
    if opened.is_failure:
        return False, f"{backend}: {opened.error}"
    store = opened.value
    try:
        read = store.read_all(0, limit=1)
    finally:
        store.close()
    if read.is_failure:
        return False, f"{backend}: {read.error}"
    return True, f"{backend}, readable"


def _postgres(url: str) -> Outcome:
    try:
        import psycopg
    except ImportError:
        return False, "psycopg is not installed (pip install 'flext-plugin-service[postgres]')"
    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as connection:
            row = connection.execute("SELECT current_setting('server_version')").fetchone()
    except psycopg.Error as exc:
        return False, _reason(exc)
    return True, f"PostgreSQL {row[0] if row else '?'}"


async def _nats(url: str) -> Outcome:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 4222)
    try:
        line = await reader.readline()
    finally:
        writer.close()
    if not line.startswith(b"INFO "):
        return False, "not a NATS server (no INFO greeting)"
    try:
        info = json.loads(line[5:])
    except ValueError:
        return False, "not a NATS server (unreadable INFO)"
    return True, f"nats-server {info.get('version', '?')}"


async def _redis(url: str) -> Outcome:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 6379)
    try:
        if parts.password:
            user = unquote(parts.username or "")
            words = ["AUTH", *([user] if user else []), unquote(parts.password)]
            writer.write(_resp(words))
            reply = await reader.readline()
            if not reply.startswith(b"+OK"):
                return False, "authentication refused"
        writer.write(_resp(["PING"]))
        await writer.drain()
        reply = await reader.readline()
    finally:
        writer.close()
    if reply.startswith(b"+PONG"):
        return True, "PONG"
    if reply.startswith(b"-NOAUTH"):
        return False, "authentication required (put the password in FLEXT_REDIS_URL)"
    return False, f"unexpected answer {reply[:40].decode('ascii', 'replace').strip()!r}"


def _resp(words: list[str]) -> bytes:
    """A command in RESP, the Redis protocol: an array of bulk strings."""
    encoded = [word.encode() for word in words]
    return b"".join([f"*{len(encoded)}\r\n".encode(), *(b"$%d\r\n%s\r\n" % (len(w), w) for w in encoded)])


def _http(url: str) -> Outcome:
    request = urllib.request.Request(
        url, headers={"User-Agent": "flext-service-health"}
    )  # a configured http(s) URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # as above
            return True, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        return False, _reason(reason) if isinstance(reason, BaseException) else str(reason)


async def _tcp(host: str, port: int) -> Outcome:
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    return True, "accepting connections"
