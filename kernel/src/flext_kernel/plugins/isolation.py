"""Plugin code that prints, exits, interrupts or hangs fails alone (docs/kernel/plugin-host.md)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, Final, TypeVar

__all__ = [
    "DEFAULT_IMPORT_TIMEOUT",
    "TIMEOUT_VARIABLE",
    "HungImports",
    "PluginMisbehaved",
    "contained",
    "import_timeout",
    "misbehaved",
    "plugin_code",
]

T = TypeVar("T")

DEFAULT_IMPORT_TIMEOUT: Final = 10.0
"""Seconds a plugin's import may take, unless ``FLEXT_PLUGIN_IMPORT_TIMEOUT`` says otherwise."""
TIMEOUT_VARIABLE: Final = "FLEXT_PLUGIN_IMPORT_TIMEOUT"
"""Seconds a plugin's import may take; 0 for no limit."""


class PluginMisbehaved(Exception):
    """Plugin code exited, raised ``KeyboardInterrupt`` or ran out of time; the message is one line."""


class _OutOfTime(BaseException):
    """Raised into a thread whose plugin code ran past its limit (``except Exception`` does not catch it)."""


def import_timeout() -> float | None:
    """The import time limit of this run (``FLEXT_PLUGIN_IMPORT_TIMEOUT``), None for none."""
    value = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    try:
        seconds = float(value) if value else DEFAULT_IMPORT_TIMEOUT
    except ValueError:
        seconds = DEFAULT_IMPORT_TIMEOUT
    return seconds if seconds > 0 else None


@contextlib.contextmanager
def plugin_code() -> Iterator[None]:
    """Run plugin code: ``print`` goes to stderr; a Ctrl-C on the main thread is noted as the user's."""
    with contextlib.redirect_stdout(sys.stderr), _interrupts_noted():
        yield


def contained(
    call: Callable[[], T],
    *,
    what: str,
    limit: float | None = None,
    on_expiry: Callable[[], None] | None = None,
) -> T:
    """Return ``call()``, run as ``plugin_code``; ``what`` (``"import"``) names it in a failure.

    After ``limit`` seconds ``on_expiry`` runs (on the watchdog's thread), then the call is interrupted.

    Raises:
        PluginMisbehaved: it called ``sys.exit``, raised ``KeyboardInterrupt``, or did not finish in time.
        KeyboardInterrupt: the user pressed Ctrl-C meanwhile.

    """
    with plugin_code():
        try:
            with _WATCHDOG.watching(limit, on_expiry):
                answer = call()
        except _OutOfTime as exc:  # its traceback shows where the plugin was
            raise PluginMisbehaved(f"{what} did not finish in {limit:g} s") from exc
        except (SystemExit, KeyboardInterrupt) as exc:
            raise misbehaved(exc, what) from exc
        if _NOTED.by_user and _on_main_thread():
            raise KeyboardInterrupt  # the plugin swallowed the user's Ctrl-C
        return answer


def misbehaved(exc: BaseException, what: str) -> PluginMisbehaved:
    """``exc``, raised by plugin code ``what``, as the failure; the user's Ctrl-C is raised again."""
    if isinstance(exc, KeyboardInterrupt):
        if _users(exc):
            raise exc
        return PluginMisbehaved(f"{what} raised KeyboardInterrupt")
    if isinstance(exc, SystemExit):
        return PluginMisbehaved(f"{what} called sys.exit({exc.code!r})")
    if isinstance(exc, _OutOfTime):
        return PluginMisbehaved(f"{what} did not finish in {_WATCHDOG.limit_here():g} s")
    raise exc


# Telling the user's Ctrl-C from a plugin's KeyboardInterrupt.


class _Noted:
    """Whether ``_interrupts_noted`` handles SIGINT now (main thread), and whether the user pressed Ctrl-C."""

    active = False
    by_user = False


_NOTED: Final = _Noted()


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _users(exc: KeyboardInterrupt) -> bool:
    """True if ``exc`` may be the user's Ctrl-C: on the main thread, unless SIGINT was watched and silent."""
    if not _on_main_thread():
        return False  # Python handles signals on the main thread only
    return not _NOTED.active or _NOTED.by_user


@contextlib.contextmanager
def _interrupts_noted() -> Iterator[None]:
    """On the main thread, note a SIGINT as the user's before its usual handler runs (nested: once)."""
    if not _on_main_thread() or _NOTED.active:
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def noting(signum: int, frame: FrameType | None) -> None:
        ours = _WATCHDOG.take_signal()
        if ours is not None:
            if ours:
                raise _OutOfTime
            return  # the watchdog's, arrived after the call it was meant for had finished
        _NOTED.by_user = True
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    _NOTED.active = True
    _NOTED.by_user = False
    signal.signal(signal.SIGINT, noting)
    try:
        yield
    finally:
        _NOTED.active = False
        if _WATCHDOG.signals_sent:  # let a signal the watchdog sent arrive while ``noting`` handles it
            with contextlib.suppress(_OutOfTime):
                time.sleep(0.01)
        signal.signal(signal.SIGINT, previous)


# The time limit.


class _Watch:
    """One call under a time limit."""

    __slots__ = ("deadline", "fired", "ident", "limit", "on_expiry")

    def __init__(self, limit: float, on_expiry: Callable[[], None] | None) -> None:
        self.limit = limit
        self.deadline = time.monotonic() + limit
        self.on_expiry = on_expiry
        self.ident = threading.get_ident()
        self.fired = False


class _Watchdog:
    """One daemon thread interrupting the calls that outlive their deadline (docs/kernel/plugin-host.md)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._watches: list[_Watch] = []
        self._thread: threading.Thread | None = None
        self._wakes: float | None = None  # when the thread wakes next (None: when notified)
        self.signals_sent = 0
        """SIGINTs sent to the main thread that its handler has not seen yet."""

    @contextlib.contextmanager
    def watching(self, limit: float | None, on_expiry: Callable[[], None] | None) -> Iterator[None]:
        """Interrupt the code run inside once ``limit`` seconds have passed (None: never)."""
        if limit is None:
            yield
            return
        watch = _Watch(limit, on_expiry)
        with self._changed:
            self._watches.append(watch)
            if self._thread is None or not self._thread.is_alive():  # first use, or a forked child
                self._thread = threading.Thread(target=self._run, name="flext-plugin-watchdog", daemon=True)
                self._thread.start()
            elif self._wakes is None or watch.deadline < self._wakes:
                # Only then: waking the thread for every call would hand it the GIL each time.
                self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                self._watches.remove(watch)
            if watch.fired and watch.ident != threading.main_thread().ident:
                with contextlib.suppress(_OutOfTime):  # clear it, if it is still pending
                    _raise_in(watch.ident, None)

    def take_signal(self) -> bool | None:
        """On the main thread's SIGINT: None if the user sent it, else whether its call is still running."""
        with self._changed:
            if not self.signals_sent:
                return None
            self.signals_sent -= 1
            main = threading.main_thread().ident
            return any(watch.fired and watch.ident == main for watch in self._watches)

    def limit_here(self) -> float:
        """The limit of the call on this thread that ran out of time (0 if none did)."""
        ident = threading.get_ident()
        with self._changed:
            return next((watch.limit for watch in self._watches if watch.fired and watch.ident == ident), 0)

    def reset(self) -> None:
        """Forget every watch (a forked child: the watchdog thread did not come along)."""
        self.__init__()  # type: ignore[misc]  # a fresh lock, not one the parent's thread held

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for watch in self._watches:
                    if not watch.fired and watch.deadline <= now:
                        self._expire(watch)
                waiting = [watch.deadline for watch in self._watches if not watch.fired]
                self._wakes = min(waiting) if waiting else None
                self._changed.wait(self._wakes - now if self._wakes is not None else None)

    def _expire(self, watch: _Watch) -> None:
        """Remember, then interrupt (under the lock: a disarmed call is never interrupted)."""
        watch.fired = True
        if watch.on_expiry is not None:
            with contextlib.suppress(Exception):  # remembering is a courtesy; interrupting is the point
                watch.on_expiry()
        if watch.ident == threading.main_thread().ident:
            self.signals_sent += 1
            signal.pthread_kill(watch.ident, signal.SIGINT)
        else:
            _raise_in(watch.ident, _OutOfTime)


def _raise_in(ident: int, exception: type[BaseException] | None) -> None:
    """Raise ``exception`` in thread ``ident`` at its next instruction (None clears a pending one)."""
    import ctypes  # only when a limit expires

    raised = ctypes.py_object(exception) if exception is not None else ctypes.py_object()
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), raised)


_WATCHDOG: Final = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG.reset)


# Remembering hung imports.


class HungImports:
    """Plugins whose import ran out of time, with the files it had loaded, in a small JSON file.

    A plugin stays skipped until one of those files or its version changes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        """The JSON file (``<cache dir>/plugin-imports.json`` for the CLI)."""
        self._entries: dict[str, Any] | None = None

    def reason(self, name: str, version: str | None) -> str | None:
        """Why plugin ``name`` is skipped, or None if it is not remembered or has changed since."""
        entry = self._read().get(name)
        if not isinstance(entry, dict) or entry.get("version") != version:
            return None
        files = entry.get("files")
        if not isinstance(files, dict) or not files or not all(_stamp(path) == files[path] for path in files):
            return None
        return f"{entry.get('reason')}; skipped until one of its files changes"

    def remember(self, name: str, version: str | None, files: Mapping[str, int], reason: str) -> None:
        """Note that ``name`` hung, with the modification times of its ``files``."""
        self._write({**self._read(), name: {"version": version, "files": dict(files), "reason": reason}})

    def forget(self, name: str) -> None:
        """Drop ``name`` (it imported in time); writes only if it was remembered."""
        entries = self._read()
        if name in entries:
            self._write({key: value for key, value in entries.items() if key != name})

    def _read(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}
            self._entries = loaded if isinstance(loaded, dict) else {}
        return self._entries

    def _write(self, entries: dict[str, Any]) -> None:
        self._entries = entries
        with contextlib.suppress(OSError):  # a read-only cache only costs the next run a wait
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(entries), encoding="utf-8")
            temporary.replace(self.path)


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None
