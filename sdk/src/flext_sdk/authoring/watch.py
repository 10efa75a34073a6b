"""Watching plugin sources and swapping the plugins whose files change: ``flext dev``'s engine.

The swap itself is the kernel's (``flext_sdk.authoring.reload``), since any
long-running host may reload a plugin; watching files is a development tool,
so it lives here with ``flext dev`` and brings watchfiles only to those who
develop plugins. ``HotReloader`` runs the watcher in a background thread and
reports each outcome as the event dicts of ``docs/plugins/hot-reload.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.plugins.discovery import Candidate, local_candidates
from flext_kernel.plugins.manager import KERNEL_PLUGIN
from flext_sdk.authoring.reload import (
    DEFAULT_DRAIN_TIMEOUT,
    RELOADABLE,
    add_plugin,
    candidate_sources,
    plugin_sources,
    reload_plugins,
)

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.manager import PluginRecord
    from flext_kernel.result import FlextResult

__all__ = [
    "STOP_GRACE",
    "HotReloader",
    "ignored_events",
    "plugins_for_paths",
    "source_watch_paths",
    "watch_paths",
]

STOP_GRACE: Final = 5.0
"""Seconds ``HotReloader.stop`` waits beyond the drain timeout, for a reload to start the new version."""

EventCallback = Callable[[dict[str, Any]], None]


# Which plugin owns a file.


def plugins_for_paths(kernel: FlextKernel, paths: Iterable[Path]) -> dict[str, list[Path]]:
    """Map changed files to the plugins owning them (module files, package directories, local plugin files).

    The kernel's own plugin and disabled or stopped plugins own nothing here.
    """
    resolved = [(Path(path), Path(path).resolve()) for path in paths]
    owners: dict[str, list[Path]] = {}
    for record in kernel.plugins.records.values():
        if not _watchable(record):
            continue
        sources = plugin_sources(record)
        mine = [given for given, path in resolved if path in sources]
        if mine:
            owners[record.name] = mine
    return owners


def watch_paths(kernel: FlextKernel, plugin_dirs: Iterable[Path] = ()) -> list[Path]:
    """The default paths to watch: the plugin directories and the sources of the loaded plugins.

    Only existing paths; a path inside another one is left out.
    """
    found: set[Path] = set()
    for record in kernel.plugins.records.values():
        if _watchable(record):
            sources = plugin_sources(record)
            found |= sources.files | sources.directories
    return _outermost(found, plugin_dirs)


def source_watch_paths(candidates: Iterable[Candidate], plugin_dirs: Iterable[Path] = ()) -> list[Path]:
    """Like ``watch_paths`` for plugins that are not imported (``flext dev --reload restart``)."""
    found: set[Path] = set()
    for candidate in candidates:
        if candidate.name != KERNEL_PLUGIN:
            sources = candidate_sources(candidate)
            found |= sources.files | sources.directories
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


def _watchable(record: PluginRecord) -> bool:
    """The kernel's own plugin and disabled or stopped plugins are not watched."""
    return record.name != KERNEL_PLUGIN and record.state in RELOADABLE


# Why a change reloads nothing.

_RESTART = "then restart flext dev"


def ignored_events(kernel: FlextKernel, files: Iterable[Path]) -> list[dict[str, Any]]:
    """``ignored`` events for changed files no plugin owns: one per reason, with ``reason`` and ``hint``.

    The common surprise is editing the checkout of a plugin that runs from an
    installed copy (``pip install DIR`` rather than ``pip install -e DIR``):
    the file has the plugin's package name in its path, yet is not the file
    the kernel imported.
    """
    groups: dict[tuple[str | None, str, str], list[str]] = {}
    for path in files:
        groups.setdefault(_why_ignored(kernel, Path(path)), []).append(str(path))
    return [
        {"event": "ignored", "files": sorted(found), "plugin": plugin, "reason": reason, "hint": hint}
        for (plugin, reason, hint), found in groups.items()
    ]


def _why_ignored(kernel: FlextKernel, path: Path) -> tuple[str | None, str, str]:
    """(the plugin concerned or None, why ``path`` reloads nothing, what to do)."""
    resolved = path.resolve()
    outside: tuple[str | None, str, str] | None = None
    for record in kernel.plugins.records.values():
        name = record.name
        if name == KERNEL_PLUGIN:
            continue
        if not _watchable(record):
            if resolved in candidate_sources(record.candidate):
                return (
                    name,
                    f"plugin {name!r} is {record.state.value}",
                    f"flext plugin enable {name}, {_RESTART}",
                )
            continue
        sources = plugin_sources(record)
        where = min(sources.directories | sources.files, default=None)
        if where is None:
            continue
        package = record.candidate.target.partition(":")[0].split(".")[0]
        if package in (resolved.stem, *resolved.parent.parts):
            return name, *_copy_of(record, where, resolved)
        project = _project_of(where) if record.candidate.distribution else None
        if outside is None and project is not None and resolved.is_relative_to(project):
            outside = (
                name,
                f"not a file of plugin {name!r}: only its package {where} is reloaded",
                "nothing to do for tests, docs or scripts",
            )
    hint = f"put the plugin in a plugins directory, or 'flext plugin install -e DIR' it, {_RESTART}"
    return outside or (None, "not a file of any loaded plugin", hint)


def _copy_of(record: PluginRecord, where: Path, path: Path) -> tuple[str, str]:
    """Why an edit to another copy of ``record``'s source is ignored, and the fix."""
    runs = f"plugin {record.name!r} runs from {where}, not from this file"
    distribution = record.candidate.distribution
    if distribution is None:  # a plugin of a plugins directory
        return runs, f"edit {where} instead"
    why = "an editable install of another directory" if _editable(distribution) else "not an editable install"
    project = _project_of(path) or path.parent
    return f"{runs} ({distribution} is {why})", f"flext plugin install -e {project}, {_RESTART}"


def _editable(distribution: str) -> bool:
    """True if ``distribution`` was installed in editable mode (PEP 660, recorded per PEP 610)."""
    import importlib.metadata
    import json

    try:
        info = json.loads(importlib.metadata.distribution(distribution).read_text("direct_url.json") or "{}")
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return isinstance(info, dict) and bool(info.get("dir_info", {}).get("editable"))


def _project_of(path: Path) -> Path | None:
    """The nearest directory holding ``pyproject.toml`` at or above ``path``."""
    return next((folder for folder in (path, *path.parents) if (folder / "pyproject.toml").is_file()), None)


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
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="flext-hot-reload", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop watching; return False if the watcher thread is still busy after ``timeout`` seconds.

        The watcher sees the request within 100 ms when idle; a reload in
        progress finishes first, and that is what can take long (handlers
        drained for up to ``drain_timeout``, a plugin's shutdown or import
        that hangs). The default waits ``drain_timeout`` plus ``STOP_GRACE``.
        When it expires the thread is left behind: a daemon, so it does not
        keep the process alive, it ends on its own once that reload returns
        and starts no other; ``start`` does nothing until it has ended.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(self._drain_timeout + STOP_GRACE if timeout is None else timeout)
        if thread.is_alive():
            return False
        self._thread = None
        return True

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
        unclaimed = sorted(path for path in changed if path not in claimed)
        if unclaimed and not new:
            for event in ignored_events(self.kernel, unclaimed):
                self._emit(event)
        done: set[str] = set()
        for name in names:
            if self._stop.is_set():
                return  # stopping: the reload under way finished, no other starts
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
            if self._stop.is_set():
                return
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
