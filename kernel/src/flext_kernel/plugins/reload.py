"""Hot reload: swap a plugin for the current version of its source inside a running kernel.

``reload_plugin(kernel, name)`` does one swap; ``HotReloader`` watches source
paths with watchfiles and swaps the plugins whose files change. A swap, under
``kernel.reload_lock``:

1. compiles the changed files; a syntax error stops here, the old version
   never noticed anything;
2. holds the plugin's message types on every bus (a dispatch of one of them
   waits) and retires its compiled pipelines;
3. waits, bounded, until none of the plugin's handlers is running;
4. calls the old version's ``flext_shutdown``, unregisters its hooks, removes
   everything it registered (``kernel.remove_contributions``) and purges its
   modules from ``sys.modules``;
5. imports the new version, registers its hooks, services and handlers, and
   runs ``flext_startup`` (``initialize`` for a ``FlextPlugin``);
6. releases the holds: the waiting dispatches go to the new handlers.

If 5 fails, the swap rolls back: the new version's contributions and modules
go, the old modules, plugin object and hooks come back, and the old version
registers and starts again. Active plugins that require the reloaded one are
swapped with it, in dependency order, because they imported its modules.
The guarantees and limits are in ``docs/plugins/hot-reload.md``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import linecache
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

from flext_kernel.errors import NOT_FOUND, TIMEOUT, VALIDATION_ERROR
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import Candidate, local_candidates
from flext_kernel.plugins.manager import KERNEL_PLUGIN, PLUGIN_LOAD_FAILED, PluginRecord
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel._bus_base import BusBase, Hold
    from flext_kernel.kernel import FlextKernel

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT",
    "STAGES",
    "HotReloader",
    "ReloadReport",
    "add_plugin",
    "plugins_for_paths",
    "reload_plugin",
    "reload_plugins",
    "source_watch_paths",
    "watch_paths",
]

DEFAULT_DRAIN_TIMEOUT: Final = 5.0
"""Seconds a reload waits for the plugin's running handlers before giving up (the old version stays)."""

STAGES: Final = ("compile", "hold", "drain", "shutdown", "unplug", "import", "activate", "release")
"""The stages of a swap, in order; ``on_stage`` hears each one as it begins."""

_LIVE: Final = (PluginState.LOADED, PluginState.ACTIVE)
_RELOADABLE: Final = (PluginState.LOADED, PluginState.ACTIVE, PluginState.FAILED)

StageCallback = Callable[[str], None]
EventCallback = Callable[[dict[str, Any]], None]


@final
@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a successful reload did."""

    plugins: tuple[str, ...]
    """The plugins swapped, in dependency order: those asked for and the active plugins requiring them."""
    versions: Mapping[str, str | None]
    """Each swapped plugin's version now."""
    seconds: float
    """How long it took, compile check included."""
    warnings: tuple[str, ...] = ()
    """What went wrong without stopping the reload (an old version whose shutdown raised)."""
    held: int = 0
    """How many dispatches arrived during the swap and waited for it (then reached the new version)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the ``flext dev`` control channel prints it)."""
        return {
            "plugins": list(self.plugins),
            "versions": dict(self.versions),
            "seconds": round(self.seconds, 4),
            "warnings": list(self.warnings),
            "held": self.held,
        }


def reload_plugin(
    kernel: FlextKernel,
    name: str,
    *,
    changed: Collection[Path] = (),
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    on_stage: StageCallback | None = None,
) -> FlextResult[ReloadReport]:
    """Swap plugin ``name`` (and the active plugins that require it) for its current source.

    Args:
        kernel: the running kernel.
        name: the plugin to reload; an active plugin, or a failed one to try again.
        changed: the files that changed, compiled first; empty compiles all of the plugin's files.
        drain_timeout: seconds to wait for the plugin's running handlers.
        on_stage: called with each stage name of ``STAGES`` as it begins.

    Returns:
        A ``ReloadReport``, or a failure saying why, with the old version
        still running: ``PLUGIN_LOAD_FAILED`` (``error_data["stage"]`` is
        ``compile``, ``import`` or ``activate``), ``TIMEOUT`` (handlers still
        running), ``NOT_FOUND`` or ``VALIDATION_ERROR`` (not reloadable).

    """
    return reload_plugins(kernel, [name], changed=changed, drain_timeout=drain_timeout, on_stage=on_stage)


def reload_plugins(
    kernel: FlextKernel,
    names: Iterable[str],
    *,
    changed: Collection[Path] = (),
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    on_stage: StageCallback | None = None,
) -> FlextResult[ReloadReport]:
    """Swap several plugins at once, all or nothing; see ``reload_plugin``."""
    started = time.perf_counter()

    def swap(records: list[PluginRecord]) -> FlextResult[ReloadReport]:
        _enter(on_stage, "compile")
        broken = _compile_errors(records, changed)
        if broken is not None:
            return broken

        swapper = _Swap(kernel, records, drain_timeout, on_stage)

        def report(warnings: list[str]) -> ReloadReport:
            versions = {record.name: record.version for record in records}
            seconds = time.perf_counter() - started
            return ReloadReport(tuple(versions), versions, seconds, tuple(warnings), swapper.held())

        return swapper.run().map(report)

    with kernel.reload_lock:
        return _plan(kernel, list(names)).flat_map(swap)


def add_plugin(kernel: FlextKernel, candidate: Candidate) -> FlextResult[ReloadReport]:
    """Load and start a plugin that appeared while the kernel runs (a new file in a plugins directory).

    A plugin that fails stays in ``kernel.plugins.records`` as failed, with
    nothing registered, so that the next edit of its source retries it.
    """
    started = time.perf_counter()
    with kernel.reload_lock:
        if candidate.name in kernel.plugins.records:
            return FlextResult.fail(
                f"plugin {candidate.name!r} is already loaded", error_code=VALIDATION_ERROR
            )
        if candidate.location:
            broken = _compile_files(candidate.name, _python_files(Path(candidate.location)))  # a local plugin
            if broken is not None:
                return broken
        record = kernel.plugins.add(candidate)
        if record.state is PluginState.DISABLED:
            return FlextResult.fail(f"plugin {candidate.name!r} is disabled", error_code=VALIDATION_ERROR)
        stage = "import" if record.failed else "activate"
        if not kernel.plugins.activate_one(kernel, record.name):
            kernel.plugins.unregister(record.name)
            kernel.remove_contributions(record.name)
            for module in record.modules:
                sys.modules.pop(module, None)
            return _failure(record.name, [record.name], stage, record, rolled_back=False, verb="loaded")
    report = ReloadReport((record.name,), {record.name: record.version}, time.perf_counter() - started)
    return FlextResult.ok(report)


# Planning and the compile check.


def _plan(kernel: FlextKernel, names: list[str]) -> FlextResult[list[PluginRecord]]:
    """The records to swap, in dependency order: ``names`` plus the active plugins requiring them."""
    manager = kernel.plugins
    for name in names:
        record = manager.records.get(name)
        if record is None:
            known = ", ".join(sorted(manager.records)) or "none"
            return FlextResult.fail(f"no plugin named {name!r} (loaded: {known})", error_code=NOT_FOUND)
        if name == KERNEL_PLUGIN:
            return FlextResult.fail(
                f"plugin {name!r} is part of the kernel and cannot be reloaded", error_code=VALIDATION_ERROR
            )
        if record.state not in _RELOADABLE:
            return FlextResult.fail(
                f"plugin {name!r} is {record.state.value}; only loaded, active or failed plugins reload",
                error_code=VALIDATION_ERROR,
            )
    wanted = set(names)
    grown = True
    while grown:
        grown = False
        for record in manager.active_order():
            requires = record.manifest.requires if record.manifest else ()
            if record.name not in wanted and wanted.intersection(requires):
                wanted.add(record.name)
                grown = True
    order = [record.name for record in manager.active_order() if record.name in wanted]
    order += [name for name in names if name not in order]  # failed plugins are not in the order
    return FlextResult.ok([manager.records[name] for name in order])


def _compile_errors(records: list[PluginRecord], changed: Collection[Path]) -> FlextResult[Any] | None:
    for record in records:
        files, directories = _sources(record)
        if changed:
            mine = [Path(path) for path in changed if _belongs(Path(path).resolve(), files, directories)]
        else:
            mine = sorted(files) + [path for folder in directories for path in _python_files(folder)]
        broken = _compile_files(record.name, mine, [r.name for r in records])
        if broken is not None:
            return broken
    return None


def _compile_files(
    plugin: str, paths: Iterable[Path], plugins: list[str] | None = None
) -> FlextResult[Any] | None:
    """Compile each existing ``.py`` file; a failure naming the file and line of the first error."""
    for path in paths:
        if path.suffix != ".py":
            continue
        try:
            source = path.read_bytes()
        except OSError:
            continue  # deleted: the import will say what that means
        try:
            compile(source, str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            where = f"{path}, line {line}" if line else str(path)
            message = getattr(exc, "msg", None) or str(exc)
            return FlextResult.fail(
                f"plugin {plugin!r} not reloaded: {type(exc).__name__} in {where}: {message}; "
                "the running version is unchanged",
                error_code=PLUGIN_LOAD_FAILED,
                error_data={
                    "plugin": plugin,
                    "plugins": plugins or [plugin],
                    "stage": "compile",
                    "file": str(path),
                    "line": line,
                    "reason": f"{type(exc).__name__}: {message}",
                    "rolled_back": False,
                },
            )
    return None


def _python_files(location: Path) -> list[Path]:
    if location.is_dir():
        return sorted(path for path in location.rglob("*.py") if "__pycache__" not in path.parts)
    return [location]


# Which plugin owns a file.


def _sources(record: PluginRecord) -> tuple[set[Path], set[Path]]:
    """The files and package directories of ``record``'s source (resolved paths)."""
    files: set[Path] = set()
    directories: set[Path] = set()
    for name in record.modules:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if isinstance(file, str):
            files.add(Path(file).resolve())
        for entry in getattr(module, "__path__", None) or ():
            directories.add(Path(entry).resolve())
    location = record.candidate.location if record.candidate.source == "directory" else None
    if location:
        path = Path(location).resolve()
        (directories if path.is_dir() else files).add(path)
    elif not files:
        files_, directories_ = _spec_sources(record.candidate.target.partition(":")[0].split(".")[0])
        files |= files_
        directories |= directories_
    return files, directories


def _spec_sources(module_name: str) -> tuple[set[Path], set[Path]]:
    """Where an importable (but not imported) top-level module lives, without importing it."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return set(), set()
    if spec is None:
        return set(), set()
    directories = {Path(entry).resolve() for entry in spec.submodule_search_locations or ()}
    if directories:
        return set(), directories
    origin = spec.origin
    return ({Path(origin).resolve()} if origin and origin.endswith(".py") else set()), set()


def _belongs(path: Path, files: set[Path], directories: set[Path]) -> bool:
    return path in files or any(path.is_relative_to(folder) for folder in directories)


def plugins_for_paths(kernel: FlextKernel, paths: Iterable[Path]) -> dict[str, list[Path]]:
    """Map changed files to the plugins owning them (module files, package directories, local plugin files).

    The kernel's own plugin and disabled or stopped plugins own nothing here.
    """
    resolved = [(Path(path), Path(path).resolve()) for path in paths]
    owners: dict[str, list[Path]] = {}
    for record in kernel.plugins.records.values():
        if record.name == KERNEL_PLUGIN or record.state not in _RELOADABLE:
            continue
        files, directories = _sources(record)
        mine = [given for given, path in resolved if _belongs(path, files, directories)]
        if mine:
            owners[record.name] = mine
    return owners


def watch_paths(kernel: FlextKernel, plugin_dirs: Iterable[Path] = ()) -> list[Path]:
    """The default paths to watch: the plugin directories and the sources of the loaded plugins.

    Only existing paths; a path inside another one is left out.
    """
    found: set[Path] = set()
    for record in kernel.plugins.records.values():
        if record.name == KERNEL_PLUGIN or record.state not in _RELOADABLE:
            continue
        files, directories = _sources(record)
        found |= files | directories
    return _outermost(found, plugin_dirs)


def source_watch_paths(candidates: Iterable[Candidate], plugin_dirs: Iterable[Path] = ()) -> list[Path]:
    """Like ``watch_paths`` for plugins that are not imported (``flext dev --reload restart``)."""
    found: set[Path] = set()
    for candidate in candidates:
        if candidate.name == KERNEL_PLUGIN:
            continue
        if candidate.source == "directory" and candidate.location:
            found.add(Path(candidate.location).resolve())
        else:
            files, directories = _spec_sources(candidate.target.partition(":")[0].split(".")[0])
            found |= files | directories
    return _outermost(found, plugin_dirs)


def _outermost(paths: set[Path], plugin_dirs: Iterable[Path]) -> list[Path]:
    found = {path for path in paths if path.exists()}
    found |= {Path(folder).resolve() for folder in plugin_dirs if Path(folder).is_dir()}
    ordered = sorted(found, key=lambda path: (len(path.parts), str(path)))
    kept: list[Path] = []
    for path in ordered:
        if not any(path.is_relative_to(parent) for parent in kept):
            kept.append(path)
    return sorted(kept)


# The swap.


def _enter(on_stage: StageCallback | None, stage: str) -> None:
    if on_stage is not None:
        on_stage(stage)


class _Swap:
    """One swap of some plugins; ``run`` returns the warnings or the failure."""

    def __init__(
        self,
        kernel: FlextKernel,
        records: list[PluginRecord],
        drain_timeout: float,
        on_stage: StageCallback | None,
    ) -> None:
        self.kernel = kernel
        self.records = records
        self.names = [record.name for record in records]
        self.drain_timeout = drain_timeout
        self.on_stage = on_stage
        self.snapshot = kernel.plugins.snapshot(self.names)
        self.draining = True
        self.holds: list[tuple[BusBase, Hold]] = []
        self.purged: dict[str, Any] = {}
        self.warnings: list[str] = []

    def run(self) -> FlextResult[list[str]]:
        _enter(self.on_stage, "hold")
        self._hold()
        try:
            return self._swap()
        finally:
            _enter(self.on_stage, "release")
            for bus, hold in self.holds:
                bus.release(hold)

    def held(self) -> int:
        """How many dispatches waited at this swap's holds."""
        return sum(len(hold.waited) for _, hold in self.holds)

    def _hold(self) -> None:
        kernel, owners = self.kernel, self.names
        tracker = kernel.inflight

        def passthrough() -> bool:
            return self.draining and tracker.running_here(owners)

        for bus in (kernel.command_bus, kernel.query_bus, kernel.event_bus):
            self.holds.append((bus, bus.hold(owners, passthrough=passthrough)))
        # After the holds: a retired pipeline reroutes to a gate, never to itself.
        tracker.retire(owners)

    def _swap(self) -> FlextResult[list[str]]:
        kernel, manager = self.kernel, self.kernel.plugins
        _enter(self.on_stage, "drain")
        if not kernel.inflight.wait_idle(self.names, self.drain_timeout):
            return self._busy()
        self.draining = False
        try:
            _enter(self.on_stage, "shutdown")
            for record in reversed(self.records):
                if self.snapshot.records[record.name].state in _LIVE and not manager.shutdown_one(
                    kernel, record.name
                ):
                    self.warnings.append(f"{record.name}: the old version's shutdown failed: {record.reason}")
            _enter(self.on_stage, "unplug")
            for record in reversed(self.records):
                manager.unregister(record.name)
                kernel.remove_contributions(record.name)
            self._purge()
            _enter(self.on_stage, "import")
            for record in self.records:
                if manager.reimport(record.name).failed:
                    return self._rollback(record, "import")
            _enter(self.on_stage, "activate")
            for record in self.records:
                if not manager.activate_one(kernel, record.name):
                    return self._rollback(record, "activate")
        except BaseException:
            self._rollback(None, "internal")
            raise
        return FlextResult.ok(self.warnings)

    def _busy(self) -> FlextResult[list[str]]:
        tracker = self.kernel.inflight
        busy = ", ".join(f"{name} ({tracker.running(name)})" for name in self.names if tracker.running(name))
        return FlextResult.fail(
            f"plugin {self.names[0]!r} not reloaded: handlers still running after {self.drain_timeout:g}s: "
            f"{busy}; the running version is unchanged",
            error_code=TIMEOUT,
            error_data={
                "plugin": self.names[0],
                "plugins": self.names,
                "stage": "drain",
                "rolled_back": False,
            },
        )

    def _purge(self) -> None:
        """Take the old versions' modules out of ``sys.modules`` and drop their bytecode caches."""
        doomed: set[str] = set()
        for record in self.records:
            doomed.update(record.modules)
            packages = [f"{name}." for name in record.modules if hasattr(sys.modules.get(name), "__path__")]
            if packages:  # submodules imported after the plugin loaded (lazy imports) go too
                doomed.update(name for name in list(sys.modules) if name.startswith(tuple(packages)))
        for name in doomed:
            module = sys.modules.pop(name, None)
            if module is not None:
                self.purged[name] = module
                _drop_bytecode(module)
        importlib.invalidate_caches()
        linecache.checkcache()

    def _rollback(self, failed: PluginRecord | None, stage: str) -> FlextResult[list[str]]:
        """Put the old versions back, registered and started again; return the failure."""
        kernel, manager = self.kernel, self.kernel.plugins
        reason = _Reason(failed.name, failed.reason, failed.detail) if failed is not None else None
        for record in reversed(self.records):
            fresh = record.plugin is not self.snapshot.records[record.name].plugin
            if fresh and record.state is PluginState.ACTIVE:
                # A new version that started before a later one in the batch failed.
                manager.shutdown_one(kernel, record.name)
            manager.unregister(record.name)
            kernel.remove_contributions(record.name)
        for record in self.records:
            for name in record.modules:
                sys.modules.pop(name, None)
        sys.modules.update(self.purged)
        manager.restore(self.snapshot)
        problems: list[str] = []
        for record in self.records:
            saved = self.snapshot.records[record.name]
            if saved.state in _LIVE:
                record.state = PluginState.LOADED
                if not manager.activate_one(kernel, record.name):
                    problems.append(f"{record.name}: the old version failed to start again: {record.reason}")
            elif reason is not None and record.name == reason.name:
                # It had failed before the reload and still has, now for the new reason.
                record.fail(reason.reason or "reload failed", reason.detail)
        name = failed.name if failed is not None else self.names[0]
        return _failure(name, self.names, stage, reason, rolled_back=True, problems=problems)


@dataclass(frozen=True, slots=True)
class _Reason:
    """A failed record's reason, kept before the rollback restores the record."""

    name: str
    reason: str | None
    detail: str | None


def _failure(
    name: str,
    names: list[str],
    stage: str,
    failed: PluginRecord | _Reason | None,
    *,
    rolled_back: bool,
    problems: list[str] | None = None,
    verb: str = "reloaded",
) -> FlextResult[Any]:
    reason = (failed.reason if failed is not None else None) or "interrupted"
    outcome = "the previous version was restored" if rolled_back else "nothing was changed"
    if problems:
        outcome += f", but: {'; '.join(problems)}"
    return FlextResult.fail(
        f"plugin {name!r} not {verb} ({stage} failed): {reason}; {outcome}",
        error_code=PLUGIN_LOAD_FAILED,
        error_data={
            "plugin": name,
            "plugins": names,
            "stage": stage,
            "reason": reason,
            "rolled_back": rolled_back,
            "traceback": failed.detail if failed is not None else None,
            "problems": problems or [],
        },
    )


def _drop_bytecode(module: Any) -> None:
    # A .pyc is trusted when the source's mtime (whole seconds) and size match,
    # so an edit within the same second that keeps the size would load stale code.
    file = getattr(module, "__file__", None)
    if not isinstance(file, str) or not file.endswith(".py"):
        return
    # A read-only install cannot hold a cache we wrote, so failing to delete is fine.
    with contextlib.suppress(OSError, NotImplementedError, ValueError):
        Path(importlib.util.cache_from_source(file)).unlink(missing_ok=True)


# Watching.


class HotReloader:
    """Watch source paths and reload the plugins whose files change, from a background thread.

    Use it in any long-running command (``flext dev``, a REPL, a service)::

        with HotReloader(kernel, watch_paths(kernel, dirs), plugin_dirs=dirs, on_event=print):
            serve_forever()

    Args:
        kernel: the running kernel.
        paths: files and directories to watch (missing ones are skipped).
        plugin_dirs: local plugin directories; a new plugin appearing in one is loaded.
        on_event: receives one dict per event: ``reloading``, ``reloaded``,
            ``reload_failed``, ``loaded``, ``load_failed``, ``ignored``, ``watch_failed``.
        drain_timeout: passed to ``reload_plugins``.
        debounce_ms: longest time changes are gathered before a reload.
        step_ms: quiet time after a change before a reload.

    """

    def __init__(
        self,
        kernel: FlextKernel,
        paths: Iterable[Path],
        *,
        plugin_dirs: Iterable[Path] = (),
        on_event: EventCallback | None = None,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
        debounce_ms: int = 800,
        step_ms: int = 50,
    ) -> None:
        self.kernel = kernel
        """The kernel whose plugins are reloaded."""
        self.paths = sorted({Path(path).resolve() for path in paths if Path(path).exists()})
        """What is watched."""
        self.plugin_dirs = [Path(folder).resolve() for folder in plugin_dirs]
        """Where new plugins may appear."""
        self._on_event = on_event
        self._drain_timeout = drain_timeout
        self._debounce_ms = debounce_ms
        self._step_ms = step_ms
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, *, timeout: float = 10.0) -> None:
        """Start watching; return once the watcher is in place (so an edit right after is seen)."""
        if self._thread is not None or not self.paths:
            return
        self._thread = threading.Thread(target=self._run, name="flext-hot-reload", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)

    def stop(self) -> None:
        """Stop watching; a reload in progress finishes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> HotReloader:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _emit(self, event: dict[str, Any]) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _run(self) -> None:
        from watchfiles import PythonFilter, watch

        try:
            for changes in watch(
                *self.paths,
                watch_filter=PythonFilter(),
                debounce=self._debounce_ms,
                step=self._step_ms,
                stop_event=self._stop,
                rust_timeout=100,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                self._ready.set()  # the first yield (a timeout when idle) proves the watcher is in place
                if changes:
                    self.handle({Path(path) for _, path in changes})
        except Exception as exc:  # a dead watcher must say so, not vanish
            self._emit({"event": "watch_failed", "error": f"{type(exc).__name__}: {exc}"})
        finally:
            self._ready.set()

    def handle(self, changed: Collection[Path]) -> None:
        """Reload the plugins owning ``changed`` files and load new plugins; report through ``on_event``."""
        try:
            self._handle(changed)
        except (Exception, SystemExit) as exc:  # a plugin calling sys.exit must not end the watching
            self._emit({"event": "reload_failed", "plugin": None, "error": f"{type(exc).__name__}: {exc}"})

    def _handle(self, changed: Collection[Path]) -> None:
        with self.kernel.reload_lock:
            owners = plugins_for_paths(self.kernel, changed)
            order = [record.name for record in self.kernel.plugins.active_order()]
            names = sorted(
                owners, key=lambda name: (order.index(name) if name in order else len(order), name)
            )
            new = self._new_candidates(changed)
        claimed = {path for paths in owners.values() for path in paths}
        claimed |= {Path(candidate.location) for candidate in new if candidate.location}
        unclaimed = sorted(str(path) for path in changed if path not in claimed)
        if unclaimed and not new:
            self._emit({"event": "ignored", "files": unclaimed})
        done: set[str] = set()
        for name in names:
            if name in done:
                continue
            files = sorted(str(path) for path in owners[name])
            self._emit({"event": "reloading", "plugin": name, "files": files})
            result = reload_plugins(
                self.kernel, [name], changed=owners[name], drain_timeout=self._drain_timeout
            )
            if result.is_success:
                report = result.value
                done.update(report.plugins)
                for plugin in report.plugins:
                    self._emit(
                        {
                            "event": "reloaded",
                            "plugin": plugin,
                            "version": report.versions[plugin],
                            "seconds": round(report.seconds, 4),
                            "warnings": list(report.warnings),
                            "held": report.held,
                        }
                    )
            else:
                self._emit(_failure_event("reload_failed", name, result))
        for candidate in new:
            added = add_plugin(self.kernel, candidate)
            if added.is_success:
                version = added.value.versions[candidate.name]
                self._emit({"event": "loaded", "plugin": candidate.name, "version": version})
            else:
                self._emit(_failure_event("load_failed", candidate.name, added))

    def _new_candidates(self, changed: Collection[Path]) -> list[Candidate]:
        if not self.plugin_dirs:
            return []
        resolved = [Path(path).resolve() for path in changed]
        known = self.kernel.plugins.records
        found = []
        for candidate in local_candidates(self.plugin_dirs):
            if candidate.name in known or not candidate.location:
                continue
            location = Path(candidate.location).resolve()
            if any(path == location or path.is_relative_to(location) for path in resolved):
                found.append(candidate)
        return found


def _failure_event(kind: str, plugin: str, result: FlextResult[Any]) -> dict[str, Any]:
    data = result.error_data
    return {
        "event": kind,
        "plugin": plugin,
        "error": result.error,
        "code": result.error_code,
        "stage": data.get("stage"),
        "file": data.get("file"),
        "line": data.get("line"),
    }
