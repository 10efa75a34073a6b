"""Hot reload: swap a plugin for the current version of its source inside a running kernel.

A long-running process (``flext dev``, a service, a REPL) uses it so that an
edited plugin takes effect without a restart and without losing a message:
``reload_plugin`` compiles the new source, holds the plugin's message types
on the buses, drains its running handlers, unplugs the old version, imports
and starts the new one, and rolls back to the old one if that fails. Active
plugins that require the reloaded one are swapped with it, since they
imported its modules. Watching files is a development tool and lives in
``flext_sdk.authoring.watch``; the stages, guarantees and limits are in
``docs/plugins/hot-reload.md``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import linecache
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType
from typing import TYPE_CHECKING, Any, Final, final

from flext_kernel.errors import NOT_FOUND, TIMEOUT, VALIDATION_ERROR
from flext_kernel.lazy import lazy_exports
from flext_kernel.plugins import isolation
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.plugins.manager import KERNEL_PLUGIN, PLUGIN_LOAD_FAILED, PluginRecord
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.bus import BusBase, Hold
    from flext_kernel.kernel import FlextKernel

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT",
    "RELOADABLE",
    "STAGES",
    "PluginSources",
    "ReloadReport",
    "add_plugin",
    "candidate_sources",
    "plugin_sources",
    "reload_plugin",
    "reload_plugins",
]

DEFAULT_DRAIN_TIMEOUT: Final = 5.0
"""Seconds a reload waits for the plugin's running handlers before giving up (the old version stays)."""

STAGES: Final = ("compile", "hold", "drain", "shutdown", "unplug", "import", "activate", "release")
"""The stages of a swap, in order; ``on_stage`` hears each one as it begins."""

RELOADABLE: Final = (PluginState.LOADED, PluginState.ACTIVE, PluginState.FAILED)
"""The states a plugin can be reloaded from (a failed one: that is how a fix takes effect)."""

_LIVE: Final = (PluginState.LOADED, PluginState.ACTIVE)

_LAZY_GETATTR: Final = lazy_exports(__name__, {}, {})[0].__code__
"""The code of every ``__getattr__`` ``flext_kernel.lazy`` makes: how a lazy package front is recognised."""

StageCallback = Callable[[str], None]


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
        if not _activate(kernel, record):
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
        if record.state not in RELOADABLE:
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
        sources = plugin_sources(record)
        mine = (
            [Path(path) for path in changed if Path(path).resolve() in sources]
            if changed
            else sources.python_files()
        )
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


# Which files are a plugin's.


@final
@dataclass(frozen=True, slots=True)
class PluginSources:
    """The source files and package directories of a plugin (resolved paths)."""

    files: frozenset[Path]
    """Module files: a one-module plugin, or the modules it owns outside its packages."""
    directories: frozenset[Path]
    """Package directories: everything below one belongs to the plugin."""

    def __contains__(self, path: object) -> bool:
        """True if ``path`` (resolved) is one of the files or lies in one of the directories."""
        if not isinstance(path, Path):
            return False
        return path in self.files or any(path.is_relative_to(folder) for folder in self.directories)

    def python_files(self) -> list[Path]:
        """Every ``.py`` file of the plugin, sorted within each group."""
        return sorted(self.files) + [
            path for folder in sorted(self.directories) for path in _python_files(folder)
        ]


def plugin_sources(record: PluginRecord) -> PluginSources:
    """Where ``record``'s source is: the files of the modules it owns, or where its import would look."""
    files: set[Path] = set()
    directories: set[Path] = set()
    for name in record.modules:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if isinstance(file, str):
            files.add(Path(file).resolve())
        for entry in getattr(module, "__path__", None) or ():
            directories.add(Path(entry).resolve())
    found = PluginSources(frozenset(files), frozenset(directories))
    local = record.candidate.source == "directory" and bool(record.candidate.location)
    if local or not files:
        spec = candidate_sources(record.candidate)  # a local plugin's location, or a module never imported
        found = PluginSources(found.files | spec.files, found.directories | spec.directories)
    return found


def candidate_sources(candidate: Candidate) -> PluginSources:
    """Where a plugin that may not be imported lives: its location, else where its module would be found."""
    if candidate.source == "directory" and candidate.location:
        path = Path(candidate.location).resolve()
        return PluginSources(frozenset(), frozenset({path})) if path.is_dir() else _file(path)
    try:
        spec = importlib.util.find_spec(candidate.target.partition(":")[0].split(".")[0])
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        directories = frozenset(Path(entry).resolve() for entry in spec.submodule_search_locations)
        return PluginSources(frozenset(), directories)
    if spec is not None and spec.origin is not None and spec.origin.endswith(".py"):
        return _file(Path(spec.origin).resolve())
    return PluginSources(frozenset(), frozenset())  # compiled, built in, or not found


def _file(path: Path) -> PluginSources:
    return PluginSources(frozenset({path}), frozenset())


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
        self.owners = [owner for record in records for owner in record.owners]
        self.drain_timeout = drain_timeout
        self.on_stage = on_stage
        self.snapshot = kernel.plugins.snapshot(self.names)
        self.draining = True
        self.holds: list[tuple[BusBase, Hold]] = []
        self.purged: dict[str, Any] = {}
        self.forgotten: list[tuple[dict[str, Any], str, Any]] = []
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
        kernel, owners = self.kernel, self.owners
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
        if not kernel.inflight.wait_idle(self.owners, self.drain_timeout):
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
                if not _activate(kernel, record):
                    return self._rollback(record, "activate")
        except BaseException:
            self._rollback(None, "internal")
            raise
        return FlextResult.ok(self.warnings)

    def _busy(self) -> FlextResult[list[str]]:
        tracker = self.kernel.inflight
        busy = ", ".join(f"{name} ({tracker.running(name)})" for name in self.owners if tracker.running(name))
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
        self.forgotten = _forget_reexports(self.purged)
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
        new = {name: sys.modules.pop(name, None) for record in self.records for name in record.modules}
        _forget_reexports(new)
        sys.modules.update(self.purged)
        for namespace, name, value in self.forgotten:
            namespace[name] = value
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


def _activate(kernel: FlextKernel, record: PluginRecord) -> bool:
    """``activate_one``, within the import time limit: a ``flext_startup`` that never returns fails it."""
    manager = kernel.plugins
    try:
        return isolation.contained(
            lambda: manager.activate_one(kernel, record.name), what="start-up", limit=manager.import_timeout
        )
    except isolation.PluginMisbehaved as exc:  # interrupted between its hooks rather than inside one
        record.fail(str(exc))
        return False


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


def _forget_reexports(modules: Mapping[str, object]) -> list[tuple[dict[str, Any], str, Any]]:
    """Drop what lazy package fronts kept of ``modules``; return ``(namespace, name, value)`` of each.

    A front made by ``flext_kernel.lazy`` (``flext_sdk``, a plugin's package)
    stores a name in its globals on first use. A front that is not purged
    would keep handing out the old class after a reload (``flext_sdk.FlextEventStore``
    once ``eventsourcing`` is swapped), so the name is dropped and the next
    use imports it from the new module.
    """
    gone = set(modules)
    dropped: list[tuple[dict[str, Any], str, Any]] = []
    for module in list(sys.modules.values()):
        namespace, locations = _lazy_front(module)
        for name, source in locations.items():
            if source in gone and name in namespace:
                dropped.append((namespace, name, namespace.pop(name)))
    return dropped


def _lazy_front(module: object) -> tuple[dict[str, Any], Mapping[str, str]]:
    """A module's globals and, for a ``flext_kernel.lazy`` front, the names it re-exports and from where."""
    try:
        # Not getattr: a lazily loaded module (importlib.util.LazyLoader) would load on any attribute.
        namespace = object.__getattribute__(module, "__dict__")
    except AttributeError:
        return {}, {}
    getter = namespace.get("__getattr__") if isinstance(namespace, dict) else None
    if not isinstance(getter, FunctionType) or getter.__code__ is not _LAZY_GETATTR:
        return {}, {}
    cells = dict(zip(getter.__code__.co_freevars, getter.__closure__ or (), strict=True))
    locations: Mapping[str, str] = cells["locations"].cell_contents
    return namespace, locations


def _drop_bytecode(module: Any) -> None:
    # A .pyc is trusted when the source's mtime (whole seconds) and size match,
    # so an edit within the same second that keeps the size would load stale code.
    file = getattr(module, "__file__", None)
    if not isinstance(file, str) or not file.endswith(".py"):
        return
    # A read-only install cannot hold a cache we wrote, so failing to delete is fine.
    with contextlib.suppress(OSError, NotImplementedError, ValueError):
        Path(importlib.util.cache_from_source(file)).unlink(missing_ok=True)
