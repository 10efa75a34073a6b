"""``flext dev``: run the kernel with every plugin, and reload plugins when their source changes.

stdin and stdout are a JSON-lines control channel (``docs/plugins/hot-reload.md``):
each line in is a request (``{"id": 1, "dispatch": "module:Class", "data": {...}}``,
``query``, ``publish``, ``reload``, ``plugins``), each line out is a reply
(``{"id": 1, "ok": true, "data": ...}``) or an event (``{"event": "reloaded",
"plugin": ..., "version": ...}``). People read the notes and errors on stderr.
End of input, Ctrl-C or SIGTERM stop it cleanly with exit code 0.

``--reload restart`` runs ``flext dev --reload off`` as a child process under
``watchfiles.run_process`` and restarts it on every change, for plugins that
cannot be swapped in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Coroutine, Iterator
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TextIO

from cyclopts import Parameter

from flext_kernel.errors import INTERNAL_ERROR, NOT_FOUND, VALIDATION_ERROR
from flext_sdk.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, current, emit_error

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.result import FlextResult
    from flext_sdk.authoring.watch import HotReloader

__all__ = ["dev"]

ReloadMode = Literal["in-place", "restart", "off"]

_WORKERS: Final = 8
_KINDS: Final = ("dispatch", "query", "publish")


def dev(
    *,
    watch: Annotated[
        list[Path] | None,
        Parameter(
            consume_multiple=True,
            negative="",
            help="Files or directories to watch (default: the plugin directories and the "
            "loaded plugins' sources).",
        ),
    ] = None,
    reload: Annotated[
        ReloadMode,
        Parameter(
            help="in-place: swap changed plugins inside this process; restart: restart the whole "
            "process on a change; off: do not watch."
        ),
    ] = "in-place",
    drain_timeout: Annotated[
        float, Parameter(help="Seconds a reload waits for the plugin's running handlers.")
    ] = 5.0,
) -> int:
    """Run the kernel with plugins reloaded on every source change; JSON-lines control on stdin/stdout."""
    if reload != "off" and not _has_watchfiles():
        return emit_error(
            "flext dev needs watchfiles to watch files, and it is not installed",
            NOT_FOUND,
            hint="pip install 'flext-sdk[dev]', or run with --reload off",
            exit_code=EXIT_USAGE,
        )
    if reload == "restart":
        return _run_restarting(watch, drain_timeout)
    return _serve(watch, reload, drain_timeout)


def _has_watchfiles() -> bool:
    """Watchfiles is an extra (``flext-sdk[dev]``): plugins need the SDK at run time, only authors watch."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        return False
    return True


# In-place (and off): one kernel in this process.


def _plugin_dirs() -> list[Path]:
    from flext_kernel.paths import user_plugins_dir

    return [*current().plugin_dirs, user_plugins_dir()]


def _boot(directories: list[Path]) -> FlextKernel:
    from flext_kernel.cli.session import selection
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.discovery import discover

    only, disabled = selection()
    booted = FlextKernel.boot(discover(directories), disabled=disabled, only=only)
    return booted.unwrap()  # a non-strict boot always succeeds; failed plugins are in the records


def _serve(watch: list[Path] | None, mode: ReloadMode, drain_timeout: float) -> int:
    from flext_sdk.authoring.watch import HotReloader, watch_paths

    directories = _plugin_dirs()
    kernel = _boot(directories)
    channel = _Channel(kernel, drain_timeout)
    for record in kernel.plugins.failures():
        channel.note(f"warning: plugin {record.name} failed: {record.reason}")
    reloader: HotReloader | None = None
    with _stop_on_sigterm():
        try:
            if mode == "in-place":
                paths = watch if watch else watch_paths(kernel, directories)
                reloader = HotReloader(
                    kernel,
                    paths,
                    plugin_dirs=directories,
                    on_event=channel.event,
                    drain_timeout=drain_timeout,
                )
                reloader.start()
            watching = [str(path) for path in reloader.paths] if reloader is not None else []
            plugins = {record.name: record.state.value for record in kernel.plugins.records.values()}
            ready = {
                "event": "ready",
                "pid": os.getpid(),
                "mode": mode,
                "watching": watching,
                "plugins": plugins,
            }
            restarted = os.environ.get("WATCHFILES_CHANGES")  # set by the restarter of --reload restart
            if restarted:
                with contextlib.suppress(ValueError):
                    ready["changes"] = json.loads(restarted)
            channel.event(ready)
            channel.note(
                f"flext dev: {len(kernel.plugins.active_order())} plugins active; watching {watching}"
            )
            channel.serve(sys.stdin)
        except KeyboardInterrupt:
            code = EXIT_OK if _terminated.is_set() else EXIT_INTERRUPTED  # Ctrl-C: 130, as every command
        else:
            code = EXIT_OK  # the end of standard input: the caller is done
        finally:
            with _ignoring_interrupts():
                _stop(kernel, channel, reloader)
    return code


def _stop(kernel: FlextKernel, channel: _Channel, reloader: HotReloader | None) -> None:
    """Stop watching, finish the requests, shut the plugins down; never wait for ever.

    A reload is bounded by the drain and import time limits; one stuck in code
    that cannot be interrupted still holds the reload lock and the dispatches
    waiting for it. Then the process ends without shutting the plugins down.
    """
    from flext_sdk.authoring.watch import STOP_GRACE

    finished = reloader.stop() if reloader is not None else True
    finished = channel.close(timeout=channel.drain_timeout + STOP_GRACE) and finished
    if finished:
        kernel.close()
    channel.event({"event": "stopped", "pid": os.getpid()})
    if not finished:
        print("warning: a reload did not end; stopped without shutting the plugins down", file=sys.stderr)
        sys.stderr.flush()
        os._exit(EXIT_OK)  # the stuck threads would keep the interpreter from exiting


_terminated = threading.Event()
"""Set when SIGTERM stopped the run, which then exits 0 (Ctrl-C exits 130)."""


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C does (only the main thread can install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        _terminated.set()  # asked to stop (a service manager, the restarter): not the user's Ctrl-C
        raise KeyboardInterrupt

    _terminated.clear()  # a run before this one in the same process was not this one
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    """Let the shutdown finish: a second Ctrl-C (or the restarter's SIGINT) must not cut it short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Output:
    """Whole JSON lines on stdout (one write each, so lines from threads and processes never mix)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # The real stdout: while plugin code runs the kernel points sys.stdout at stderr.
        self._stdout = sys.stdout

    def _write(self, payload: dict[str, Any]) -> None:
        line = json.dumps(payload, default=_jsonable) + "\n"
        with self._lock:
            self._stdout.write(line)
            self._stdout.flush()

    def note(self, message: str) -> None:
        """A line for people on stderr (silenced by ``--quiet``)."""
        if not current().quiet:
            print(message, file=sys.stderr, flush=True)

    def event(self, payload: dict[str, Any]) -> None:
        """Print an event line; reload outcomes also get a line on stderr."""
        self._write(payload)
        kind = payload.get("event")
        if kind in ("reload_failed", "load_failed", "watch_failed"):
            code = f" ({payload['code']})" if payload.get("code") else ""
            print(f"error: {payload.get('error')}{code}", file=sys.stderr, flush=True)
        elif kind in ("reloaded", "loaded"):
            self.note(f"flext dev: {kind} plugin {payload.get('plugin')} {payload.get('version')}")
        elif kind == "ignored":
            files = ", ".join(payload.get("files", []))
            self.note(
                f"warning: ignored change to {files}: {payload.get('reason')} (hint: {payload.get('hint')})"
            )


class _Channel(_Output):
    """The JSON-lines control channel: requests from a text stream, replies and events on stdout."""

    def __init__(self, kernel: FlextKernel, drain_timeout: float) -> None:
        super().__init__()
        self.kernel = kernel
        self.drain_timeout = drain_timeout
        self._pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="flext-dev")
        self._running: set[futures.Future[None]] = set()
        self._classes: dict[str, type] = {}

    def reply(self, request_id: object, result: FlextResult[Any]) -> None:
        """Print the reply to one request."""
        if result.is_success:
            self._write({"id": request_id, "ok": True, "data": result.value})
            return
        payload: dict[str, Any] = {
            "id": request_id,
            "ok": False,
            "error": result.error,
            "code": result.error_code,
        }
        if result.error_data:
            payload["details"] = dict(result.error_data)
        self._write(payload)

    # Input.

    def serve(self, stream: TextIO) -> None:
        """Read requests until end of input."""
        while True:
            line = stream.readline()
            if not line:
                return
            if line.strip():
                self.handle(line)

    def close(self, timeout: float | None = None) -> bool:
        """Wait for the requests still running; False if some still run after ``timeout`` seconds."""
        self._pool.shutdown(wait=False)
        with self._lock:
            running = list(self._running)
        return not futures.wait(running, timeout).not_done

    def handle(self, line: str) -> None:
        """Parse one request line and run it (bus work runs on the worker pool)."""
        from flext_kernel.result import FlextResult

        try:
            request = json.loads(line)
        except ValueError as exc:
            self.reply(None, FlextResult.fail(f"not JSON: {exc}", error_code=VALIDATION_ERROR))
            return
        if not isinstance(request, dict):
            self.reply(None, FlextResult.fail("a request is a JSON object", error_code=VALIDATION_ERROR))
            return
        request_id = request.get("id")
        kind = next((key for key in _KINDS if key in request), None)
        if kind is not None:
            built = self._message(kind, request[kind], request.get("data") or {})
            if built.is_failure:
                self.reply(request_id, built)
                return
            self._submit(request_id, lambda: self._deliver(kind, built.value))
        elif "reload" in request:
            self._submit(request_id, lambda: self._reload(str(request["reload"])))
        elif "plugins" in request:
            self.reply(request_id, self._plugins())
        else:
            self.reply(
                request_id,
                FlextResult.fail(
                    "unknown request; send one of: dispatch, query, publish, reload, plugins",
                    error_code=VALIDATION_ERROR,
                ),
            )

    def _submit(self, request_id: object, work: Callable[[], FlextResult[Any]]) -> None:
        def run() -> None:
            try:
                result = work()
            except (Exception, SystemExit) as exc:  # a handler's bug: report it, keep serving
                from flext_kernel.result import FlextResult

                if current().debug:
                    traceback.print_exc(file=sys.stderr)
                result = FlextResult.fail(f"{type(exc).__name__}: {exc}", error_code=INTERNAL_ERROR)
            self.reply(request_id, result)

        future = self._pool.submit(run)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: futures.Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    def _message(self, kind: str, target: object, data: object) -> FlextResult[Any]:
        from pydantic import ValidationError

        from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextQuery, field_errors
        from flext_kernel.result import FlextResult

        base = {"dispatch": FlextCommand, "query": FlextQuery, "publish": FlextDomainEvent}[kind]
        resolved = self._class(target)
        if resolved.is_failure:
            return resolved
        cls = resolved.value
        if not (isinstance(cls, type) and issubclass(cls, base)):
            return FlextResult.fail(f"{target} is not a {base.__name__}", error_code=VALIDATION_ERROR)
        try:
            return FlextResult.ok(cls.model_validate(data))
        except ValidationError as exc:
            return FlextResult.fail(
                f"{target}: invalid data",
                error_code=VALIDATION_ERROR,
                error_data={"errors": field_errors(exc)},
            )

    def _class(self, target: object) -> FlextResult[Any]:
        """Resolve ``"module:Class"``; while a reload swaps modules, the class resolved before it.

        Messages built from the old class are still served: the bus routes
        them by type name to the handler of the class that replaced it.
        """
        import importlib

        from flext_kernel.result import FlextResult

        if not isinstance(target, str) or ":" not in target:
            return FlextResult.fail(f"{target!r} is not 'module:Class'", error_code=VALIDATION_ERROR)
        lock = self.kernel.reload_lock
        known = self._classes.get(target)
        if not lock.acquire(blocking=known is None):
            return FlextResult.ok(known)  # a swap is running: do not import a half-swapped module
        try:
            module_name, _, attribute = target.partition(":")
            obj: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            return FlextResult.fail(f"cannot import {target}: {exc}", error_code=NOT_FOUND)
        finally:
            lock.release()
        self._classes[target] = obj
        return FlextResult.ok(obj)

    def _deliver(self, kind: str, message: Any) -> FlextResult[Any]:
        import asyncio

        from flext_kernel.errors import FlextBusError

        kernel = self.kernel
        sync: Callable[[Any], FlextResult[Any]]
        asynchronous: Callable[[Any], Coroutine[Any, Any, FlextResult[Any]]]
        if kind == "dispatch":
            sync, asynchronous = kernel.command_bus.dispatch, kernel.command_bus.dispatch_async
        elif kind == "query":
            sync, asynchronous = kernel.query_bus.execute, kernel.query_bus.execute_async
        else:
            sync, asynchronous = kernel.event_bus.publish, kernel.event_bus.publish_async
        try:
            return sync(message)
        except FlextBusError as exc:
            if "async" not in str(exc):
                raise
            return asyncio.run(asynchronous(message))  # an async handler: give it a loop of its own

    def _reload(self, name: str) -> FlextResult[Any]:
        from flext_sdk.authoring.reload import reload_plugin

        self.event({"event": "reloading", "plugin": name, "files": []})
        result = reload_plugin(self.kernel, name, drain_timeout=self.drain_timeout)
        if result.is_success:
            report = result.value
            for plugin in report.plugins:
                self.event(
                    {
                        "event": "reloaded",
                        "plugin": plugin,
                        "version": report.versions[plugin],
                        "seconds": round(report.seconds, 4),
                        "warnings": list(report.warnings),
                        "held": report.held,
                    }
                )
            return result.map(lambda done: done.to_dict())
        data = result.error_data
        self.event(
            {
                "event": "reload_failed",
                "plugin": name,
                "error": result.error,
                "code": result.error_code,
                "stage": data.get("stage"),
            }
        )
        return result

    def _plugins(self) -> FlextResult[Any]:
        from flext_kernel.result import FlextResult

        return FlextResult.ok([record.summary() for record in self.kernel.plugins.records.values()])


def _jsonable(value: object) -> object:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# Restart mode: a child ``flext dev --reload off``, restarted on every change.


def _run_restarting(watch: list[Path] | None, drain_timeout: float) -> int:
    import logging
    import shlex

    from watchfiles import PythonFilter, run_process

    from flext_kernel.plugins.discovery import discover
    from flext_sdk.authoring.watch import source_watch_paths

    directories = _plugin_dirs()
    paths = watch if watch else source_watch_paths(discover(directories), directories)
    existing = [path for path in paths if Path(path).exists()]
    command = shlex.join(_child_command(drain_timeout))
    emit = _Output()  # the child owns the kernel and the control channel
    emit.event(
        {
            "event": "watching",
            "pid": os.getpid(),
            "mode": "restart",
            "paths": [str(path) for path in existing],
        }
    )
    if not existing:
        return emit_error("nothing to watch", VALIDATION_ERROR, hint="pass --watch PATH")

    def restarting(changes: set[tuple[Any, str]]) -> None:
        files = sorted({path for _, path in changes})
        emit.event({"event": "restarting", "files": files})
        emit.note(f"flext dev: restarting after changes to {', '.join(files)}")

    logging.getLogger("watchfiles").setLevel(logging.ERROR)  # its "process stopped" chatter is not ours
    _stop_at_end_of_input()
    # run_process stops its child and returns on Ctrl-C or SIGTERM while it watches; the
    # interrupt can also land while it restarts the child, and then it arrives here.
    interrupted = threading.Event()

    def ctrl_c(signum: int, frame: object) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, ctrl_c)  # run_process stops on SIGTERM too: tell the two apart
    with contextlib.suppress(KeyboardInterrupt):
        run_process(
            *existing,
            target=command,
            target_type="command",
            callback=restarting,
            watch_filter=PythonFilter(),
            debounce=800,
            step=50,
        )
    emit.event({"event": "stopped", "pid": os.getpid(), "mode": "restart"})
    return EXIT_INTERRUPTED if interrupted.is_set() else EXIT_OK


def _child_command(drain_timeout: float) -> list[str]:
    settings = current()
    command = [sys.executable, "-c", "from flext_kernel.cli.main import run; run()"]
    for directory in settings.plugin_dirs:
        command += ["--plugins-dir", str(directory)]
    if settings.debug:
        command.append("--debug")
    if settings.quiet:
        command.append("--quiet")
    return [*command, "dev", "--reload", "off", "--drain-timeout", str(drain_timeout)]


def _stop_at_end_of_input() -> None:
    """Stop the restarter once its stdin, read by the child, is exhausted (pipes and sockets only).

    The child exits at end of input, but ``run_process`` would wait for the
    next change to start another; a hang-up with nothing left to read means
    the writer is gone for good, so the restarter interrupts itself.
    """
    import select
    import stat
    import time

    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) or not hasattr(select, "poll"):
        return

    def monitor() -> None:
        poller = select.poll()
        poller.register(0, select.POLLIN | select.POLLHUP)
        while True:
            ready = poller.poll(200)
            if any(flags & select.POLLHUP and not flags & select.POLLIN for _, flags in ready):
                os.kill(os.getpid(), signal.SIGTERM)  # a requested stop (exit 0), not the user's Ctrl-C
                return
            if ready:
                time.sleep(0.05)  # input waiting for the child to read it

    threading.Thread(target=monitor, name="flext-dev-eof", daemon=True).start()
