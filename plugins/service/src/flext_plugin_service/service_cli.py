"""``flext service list|health|status|start|stop|restart|logs``: the registry, checked and supervised.

Thin commands: boot the kernel, read the registry, call ``health`` or
``supervisor``, print. What ``--output json`` prints is in docs/plugins/service.md.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_service.errors import SERVICE_START_FAILED, SERVICE_UNHEALTHY
from flext_sdk import FlextResult
from flext_sdk.cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    boot_kernel,
    current,
    emit,
    emit_error,
    emit_table,
    fail,
    note,
)

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_plugin_service.health import Health
    from flext_plugin_service.registry import Registry
    from flext_plugin_service.spec import ServiceSpec

__all__ = ["health", "list_services", "logs", "restart", "start", "status", "stop"]

LIST_COLUMNS = ("service", "kind", "required", "target", "owner", "description")
STATUS_COLUMNS = ("service", "kind", "process", "pid", "started", "last_status", "since", "checked")
_READY_POLL = 0.2
_SETTLE = 1.0
"""Seconds a process checked only by its pid must stay alive before ``start`` calls it started."""


@contextmanager
def _registry() -> Iterator[tuple[FlextKernel, Registry] | int]:
    from flext_plugin_service.registry import read_registry

    booted = boot_kernel()
    if booted.is_failure:
        yield fail(booted)
        return
    with booted.value as kernel:
        registry = read_registry(kernel)
        for line in registry.refused:
            note(f"warning: {line}")
        yield kernel, registry


def _named(registry: Registry, names: tuple[str, ...]) -> FlextResult[list[ServiceSpec]]:
    unknown = [name for name in names if name not in registry.services]
    if unknown:
        return FlextResult.fail(
            f"no service named {unknown[0]!r}",
            error_code=NOT_FOUND,
            error_data={
                "hint": f"the services: {', '.join(registry.services) or 'none'} ('flext service list')"
            },
        )
    return FlextResult.ok(
        [registry.services[name] for name in names] if names else list(registry.services.values())
    )


def _local(registry: Registry, name: str) -> FlextResult[ServiceSpec]:
    found = _named(registry, (name,))
    if found.is_failure:
        return FlextResult.fail(found.error or "", error_code=found.error_code, error_data=found.error_data)
    spec = found.value[0]
    if spec.kind != "local-process":
        return FlextResult.fail(
            f"service {name!r} is a dependency: FLEXT checks it but does not run it",
            error_code=VALIDATION_ERROR,
        )
    return FlextResult.ok(spec)


def _fail(result: FlextResult[Any]) -> int:
    hint = result.error_data.get("hint")
    return fail(result, hint=str(hint) if hint else None)


def list_services() -> int:
    """List the services: local processes FLEXT runs and dependencies it checks, and who contributed each."""
    with _registry() as opened:
        if isinstance(opened, int):
            return opened
        _, registry = opened
        rows = [
            {
                "service": spec.name,
                "kind": spec.kind,
                "required": spec.required,
                "target": spec.target(),
                "owner": spec.owner,
                "description": spec.description,
                "check": spec.check.type,
            }
            for spec in registry.services.values()
        ]
        return emit_table(rows, LIST_COLUMNS, title="Services")


def health(*names: str, timeout: float = 5.0, watch: bool = False, interval: float = 5.0) -> int:
    """Check every service (or the NAMES given) now, concurrently; exit 1 when a required one is down.

    Args:
        names: Only these services.
        timeout: Seconds each check may take before it counts as down.
        watch: Check again every --interval seconds until Ctrl-C.
        interval: Seconds between rounds with --watch.

    """
    if timeout <= 0 or interval <= 0:
        return fail(
            FlextResult.fail("--timeout and --interval must be positive", error_code=VALIDATION_ERROR)
        )
    from flext_plugin_service.health import check_all

    with _registry() as opened:
        if isinstance(opened, int):
            return opened
        kernel, registry = opened
        specs = _named(registry, names)
        if specs.is_failure:
            return _fail(specs)
        try:
            while True:
                results = check_all(specs.value, kernel, timeout)
                code = _print_health(results, watching=watch)
                if not watch:
                    return code
                time.sleep(interval)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED


def _print_health(results: list[Health], *, watching: bool) -> int:
    down = [result.service for result in results if result.status == "down" and result.required]
    documents = [result.document() for result in results]
    if current().output != "table":
        if watching:  # one document per round, one line each: a stream a program can follow
            print(json.dumps({"ok": True, "data": {"healthy": not down, "services": documents}}), flush=True)
        else:
            emit({"healthy": not down, "services": documents})
        return EXIT_FAILED if down else EXIT_OK
    if watching and sys.stdout.isatty():
        print("\033[H\033[2J", end="")  # clear the screen: the table replaces the last one
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [{**document, "latency_ms": _latency(document["latency_ms"])} for document in documents]
    emit_table(rows, HEALTH_COLUMNS_SHOWN, title=f"Service health at {now}")
    sys.stdout.flush()
    if down:
        emit_error(f"required service(s) down: {', '.join(down)}", SERVICE_UNHEALTHY)
        return EXIT_FAILED
    return EXIT_OK


HEALTH_COLUMNS_SHOWN = ("service", "status", "required", "latency_ms", "detail", "since")


def _latency(value: float | None) -> str:
    return "timeout" if value is None else f"{value:g}"


def status(*names: str) -> int:
    """Show the local processes' state and each service's last checked health, without checking now.

    Args:
        names: Only these services.

    """
    from flext_plugin_service.health import last_states
    from flext_plugin_service.supervisor import running

    with _registry() as opened:
        if isinstance(opened, int):
            return opened
        _, registry = opened
        specs = _named(registry, names)
        if specs.is_failure:
            return _fail(specs)
        states = last_states()
        rows = []
        for spec in specs.value:
            live = running(spec.name) if spec.kind == "local-process" else None
            state = states.get(spec.name) or {}
            rows.append(
                {
                    "service": spec.name,
                    "kind": spec.kind,
                    "process": ("running" if live else "stopped") if spec.kind == "local-process" else "",
                    "pid": live.pid if live else None,
                    "started": live.started if live else None,
                    "last_status": state.get("status"),
                    "since": state.get("since"),
                    "checked": state.get("checked"),
                }
            )
        return emit_table(rows, STATUS_COLUMNS, title="Services")


def start(name: str, /, *, wait: float = 30.0) -> int:
    """Start a local process in the background (its own process group, its log under the data dir).

    Args:
        name: The service.
        wait: Seconds to wait for its check to pass before giving up (and stopping it).

    """
    with _registry() as opened:
        if isinstance(opened, int):
            return opened
        kernel, registry = opened
        spec = _local(registry, name)
        if spec.is_failure:
            return _fail(spec)
        return _start(spec.value, kernel, wait)


def _start(spec: ServiceSpec, kernel: FlextKernel, wait: float) -> int:
    from flext_plugin_service.files import log_file
    from flext_plugin_service.supervisor import locked, running, start_process

    with locked(spec.name):  # another start waits here until this one's pid file is written
        live = running(spec.name)
        if live is not None:
            return emit(
                {"service": spec.name, "pid": live.pid, "started": False, "log": str(log_file(spec.name))},
                human=f"{spec.name} is already running (pid {live.pid})",
            )
        started = start_process(spec)
    if started.is_failure:
        return _fail(started)
    ready = _await_ready(spec, kernel, wait, started.value.pid)
    if ready.is_failure:
        return _fail(ready)
    pid = started.value.pid
    log = log_file(spec.name)
    return emit(
        {"service": spec.name, "pid": pid, "started": True, "log": str(log)},
        human=f"started {spec.name} (pid {pid}); its log: {log}",
    )


def _await_ready(spec: ServiceSpec, kernel: FlextKernel, wait: float, pid: int) -> FlextResult[None]:
    """Wait until process ``pid`` passes its check; if it ends first or never does, say why (its log)."""
    from flext_plugin_service.files import log_file
    from flext_plugin_service.health import check_all
    from flext_plugin_service.supervisor import forget, reap, running, stop_process

    deadline = time.monotonic() + wait
    settled = time.monotonic() + (_SETTLE if spec.check.type == "process" else 0.0)
    while True:
        live = running(spec.name)
        if live is not None:
            reap(live.pid)
            live = running(spec.name)
        if live is None or live.pid != pid:
            forget(spec.name, pid)  # its pid file names nothing now: no later stop acts on it
            return _start_failed(spec, "ended at once", log_file(spec.name))
        result = check_all([spec], kernel, min(5.0, max(wait, 0.5)))[0]
        if (
            result.status == "up"
            and time.monotonic() >= settled
            and not _answered_by_another(spec, live.pgid)
        ):
            reap(pid)
            if running(spec.name) is not None:  # it passed, and it is still there: started
                return FlextResult.ok(None)
            continue  # it ended meanwhile: the next round says so
        if time.monotonic() >= deadline:
            stop_process(spec.name, spec.stop_timeout)
            return _start_failed(
                spec,
                f"did not pass its check in {wait:g}s ({result.detail}); stopped it",
                log_file(spec.name),
            )
        time.sleep(_READY_POLL)


def _answered_by_another(spec: ServiceSpec, pgid: int) -> bool:
    """Whether the port the check asks is held here by another server, not by process group ``pgid``.

    ``flext service start serve`` with another server on the port: its check
    passes at once, yet ours cannot listen and ends. Not ready until it holds
    the port; if it ends, the loop says so with its last log line.
    """
    from urllib.parse import urlsplit

    from flext_plugin_service.spec import HttpCheck, TcpCheck
    from flext_plugin_service.supervisor import listener_elsewhere

    check = spec.check
    if isinstance(check, TcpCheck):
        host, port = check.host, check.port
    elif isinstance(check, HttpCheck):
        try:
            parts = urlsplit(check.url)
            host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
    else:
        return False
    local = host in ("localhost", "::1", "0.0.0.0", "::") or host.startswith("127.")
    return local and listener_elsewhere(pgid, port)


def _start_failed(spec: ServiceSpec, why: str, log: Any) -> FlextResult[None]:
    tail = _tail(log, 1)
    last = f"; its last line: {tail[-1]}" if tail else ""
    return FlextResult.fail(
        f"{spec.name} {why}{last}", error_code=SERVICE_START_FAILED, error_data={"hint": f"its log: {log}"}
    )


def stop(name: str, /, *, timeout: float | None = None) -> int:
    """Stop a local process: SIGTERM to its process group, SIGKILL once the timeout has passed.

    Args:
        name: The service.
        timeout: Seconds to wait after SIGTERM (default: the service's own, 10 s for most).

    """
    with _registry() as opened:
        if isinstance(opened, int):
            return opened
        _, registry = opened
        spec = _local(registry, name)
        if spec.is_failure:
            return _fail(spec)
        return _stop(spec.value, timeout)


def _stop(spec: ServiceSpec, timeout: float | None) -> int:
    from flext_plugin_service.supervisor import stop_process

    stopped = stop_process(spec.name, timeout if timeout is not None else spec.stop_timeout)
    if stopped.is_failure:
        return _fail(stopped)
    done = stopped.value
    document = {
        "service": spec.name,
        "pid": done.pid,
        "stopped": done.pid is not None and not done.stale,
        "forced": done.forced,
        "stale_pid_file": done.stale,
    }
    if done.pid is None:
        human = f"{spec.name} is not running"
    elif done.stale:
        human = f"{spec.name} was not running (removed the stale pid file of pid {done.pid})"
    elif done.forced:
        human = f"killed {spec.name} (pid {done.pid}): it was still running after SIGTERM"
    else:
        human = f"stopped {spec.name} (pid {done.pid})"
    return emit(document, human=human)


def restart(name: str, /, *, timeout: float | None = None, wait: float = 30.0) -> int:
    """Stop a local process (if it runs), then start it again.

    Args:
        name: The service.
        timeout: Seconds to wait after SIGTERM before SIGKILL.
        wait: Seconds to wait for its check to pass once started.

    """
    with _registry() as opened:
        if isinstance(opened, int):
            return opened
        kernel, registry = opened
        spec = _local(registry, name)
        if spec.is_failure:
            return _fail(spec)
        from flext_plugin_service.supervisor import stop_process

        stopped = stop_process(spec.value.name, timeout if timeout is not None else spec.value.stop_timeout)
        if stopped.is_failure:
            return _fail(stopped)
        return _start(spec.value, kernel, wait)


def logs(name: str, /, *, lines: int = 50, follow: bool = False) -> int:
    """Print the end of a local process's log; with --follow, keep printing what it writes until Ctrl-C.

    Args:
        name: The service.
        lines: How many of the last lines to print first.
        follow: Keep printing new lines until Ctrl-C.

    """
    if lines < 0:
        return fail(FlextResult.fail("--lines must not be negative", error_code=VALIDATION_ERROR))
    from flext_plugin_service.files import log_file

    with _registry() as opened:
        if isinstance(opened, int):
            return opened
        _, registry = opened
        spec = _local(registry, name)
        if spec.is_failure:
            return _fail(spec)
    log = log_file(name)
    if not log.exists() and not follow:
        return fail(
            FlextResult.fail(f"{name} has no log yet", error_code=NOT_FOUND),
            hint=f"start it with 'flext service start {name}'",
        )
    for line in _tail(log, lines):
        print(line)
    if not follow:
        return EXIT_OK
    return _follow(log)


def _tail(log: Any, count: int) -> list[str]:
    try:
        with open(log, "rb") as source:  # a path or str
            source.seek(0, 2)
            size = source.tell()
            source.seek(max(0, size - 64 * 1024 * max(1, count // 100 + 1)))
            text = source.read().decode("utf-8", "replace")
    except OSError:
        return []
    found = text.splitlines()
    return found[-count:] if count else []


def _follow(log: Any) -> int:
    """Print what is appended to ``log`` until Ctrl-C; a truncated or replaced log is read from its start."""
    sys.stdout.flush()
    position = log.stat().st_size if log.exists() else 0
    try:
        while True:
            size = log.stat().st_size if log.exists() else 0
            if size < position:
                position = 0
            if size > position:
                with open(log, "rb") as source:  # a Path
                    source.seek(position)
                    chunk = source.read(size - position)
                position += len(chunk)
                sys.stdout.write(chunk.decode("utf-8", "replace"))
                sys.stdout.flush()
            time.sleep(0.2)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
