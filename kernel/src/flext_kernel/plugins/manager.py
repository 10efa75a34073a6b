"""PluginManager: import, gate, order and run plugins, isolating each one's failures.

pluggy holds the hook specifications (the kernel's and those plugins define)
and implementations, checks one against the other, and runs every call with
its own call loop, so wrappers, ``tryfirst``/``trylast`` and ``firstresult``
behave as pluggy documents. The manager picks who takes part in a call (one
plugin's implementations inside every wrapper for the lifecycle, run in
dependency order; every active plugin for ``collect``) and finds which plugin
raised, so that plugin is marked failed with its reason while every other
plugin keeps working.

For hot reload (``flext_sdk.authoring.reload``) the manager also remembers
which modules each plugin imported, runs one plugin's lifecycle on its own
(``activate_one``, ``shutdown_one``), imports a plugin again
(``reimport``), and snapshots and restores records for rollbacks.

Hooks may be called from several threads at once (a service collecting
backends while a monitor asks for health). One lock guards the manager's
bookkeeping (pluggy's registrations, which pluggy does not guard, the
records' failures, the order); plugin code never runs under it, so a hook
that waits for another thread using the manager cannot deadlock. A plugin
that fails is cleaned up once, after the lock is released: shut down if it
had started, then handed to ``on_fail`` (the kernel removes its services
and handlers). See docs/plugins/hooks.md.
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import functools
import importlib
import inspect
import itertools
import os
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import TYPE_CHECKING, Any, Final

import pluggy
import pydantic

from flext_kernel.errors import PLUGIN_LOAD_FAILED  # also exported from here, as before
from flext_kernel.plugins import hookspecs
from flext_kernel.plugins.base import FlextPlugin, PluginState
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
from flext_kernel.plugins.registry import CommandRegistry
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["KERNEL_PLUGIN", "PLUGIN_LOAD_FAILED", "PluginManager", "PluginRecord", "PluginSnapshot"]

KERNEL_PLUGIN: Final = "kernel"
"""The kernel's own plugin (its CLI commands): always loaded, never disabled or reloaded."""
_SHARED_ROOTS: Final = frozenset({"__main__", "builtins", "flext_kernel", "flext_sdk"})
_LIVE: Final = (PluginState.LOADED, PluginState.ACTIVE)
_PLUGGY_DIR: Final = os.path.dirname(pluggy.__file__) + os.sep
_STARTUP: Final = "flext_startup"
_SHUTDOWN: Final = "flext_shutdown"
_HEALTH: Final = "flext_health"


@dataclass
class PluginRecord:
    """Everything the kernel knows about one plugin; ``flext plugin info`` prints it."""

    candidate: Candidate
    """Where it was found."""
    state: PluginState = PluginState.DISCOVERED
    """Its current state."""
    manifest: PluginManifest | None = None
    """Its manifest, once imported."""
    reason: str | None = None
    """Why it failed or is disabled."""
    detail: str | None = None
    """The traceback of a failure, shown with ``--debug``."""
    plugin: object | None = None
    """The object registered with pluggy (a module or a FlextPlugin instance)."""
    commands: list[CommandEntry] = field(default_factory=list)
    """The CLI commands it contributes."""
    hooks: list[str] = field(default_factory=list)
    """The hooks it implements."""
    modules: tuple[str, ...] = ()
    """The pure-Python modules it owns: its root package, and for a local plugin the modules next
    to it that its import brought in. Hot reload purges them from ``sys.modules``."""

    @property
    def name(self) -> str:
        """The plugin's name."""
        return self.candidate.name

    @property
    def failed(self) -> bool:
        """True once loading or a hook failed (a method, so type narrowing does not go stale)."""
        return self.state is PluginState.FAILED

    @property
    def version(self) -> str | None:
        """The manifest's version, else the distribution's."""
        return self.manifest.version if self.manifest else self.candidate.version

    def fail(self, reason: str, detail: str | None = None) -> None:
        """Mark the plugin failed; the reason is one line for users."""
        self.state = PluginState.FAILED
        self.reason = reason
        self.detail = detail

    def summary(self) -> dict[str, Any]:
        """The stable, JSON-ready view used by ``flext plugin list --output json``."""
        manifest = self.manifest
        return {
            "name": self.name,
            "version": self.version,
            "state": self.state.value,
            "source": self.candidate.source,
            "distribution": self.candidate.distribution,
            "description": manifest.description if manifest else "",
            "requires": list(manifest.requires) if manifest else [],
            "commands": [entry.name for entry in self.commands],
            "hooks": self.hooks,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PluginSnapshot:
    """Some plugins' records and the activation order, as ``PluginManager.restore`` needs them."""

    records: dict[str, PluginRecord]
    """Copies of the records, by name."""
    order: tuple[str, ...]
    """The dependency order at the time."""


class PluginManager:
    """Loads candidates into pluggy and runs their hooks in dependency order."""

    def __init__(
        self, kernel_version: str, *, disabled: Iterable[str] = (), only: Iterable[str] | None = None
    ) -> None:
        self.kernel_version = kernel_version
        """The flext-kernel version plugins are gated against."""
        self.hooks = pluggy.PluginManager(hookspecs.PROJECT)
        """The pluggy manager. ``hooks.hook.<name>(...)`` calls every registered plugin directly,
        without the manager's isolation or dependency order; ``collect`` adds both."""
        self.hooks.add_hookspecs(hookspecs)
        self._spec_owners = dict.fromkeys(_spec_names(self.hooks, hookspecs), KERNEL_PLUGIN)
        self.records: dict[str, PluginRecord] = {}
        """Every plugin seen, by name, in load order."""
        self.on_fail: Callable[[str], None] | None = None
        """Called with the name of each plugin that a hook failed (it or its wrapper raised), once
        it is unregistered and, if it had started, shut down; ``FlextKernel`` sets it to its
        ``remove_contributions``. Called on the failing call's thread, without the manager's lock."""
        self._disabled = set(disabled)
        self._only = set(only) if only is not None else None
        self._ordered: list[str] = []  # replaced, never changed in place (see _rank)
        self._ranked: tuple[list[str], int, dict[str, int]] | None = None
        self._lock = threading.RLock()
        self._fallen: deque[tuple[PluginRecord, list[pluggy.HookImpl]]] = deque()
        self._stopping: set[str] = set()
        self._stand_ins: dict[pluggy.HookImpl, pluggy.HookImpl] = {}
        self._kernel: FlextKernel | None = None

    # Loading.

    def load(self, candidates: Iterable[Candidate]) -> list[PluginRecord]:
        """Import, validate and register each candidate; return the records in dependency order."""
        for candidate in candidates:
            with self._lock:
                if candidate.name in self.records:
                    self.records[candidate.name].fail(
                        f"two plugins are named {candidate.name!r}; "
                        f"also found in {candidate.distribution or candidate.location}"
                    )
                    continue
                record = PluginRecord(candidate)
                self.records[candidate.name] = record
            if not self._wanted(candidate.name):
                record.state = PluginState.DISABLED
                record.reason = "disabled"
                continue
            self._load_one(record)
        self._fail_unspecified(self.records.values())
        return self._order()

    def _wanted(self, name: str) -> bool:
        if name == KERNEL_PLUGIN:
            return True  # the kernel's own commands cannot be turned off
        if self._only is not None and name not in self._only:
            return False
        return name not in self._disabled

    def add(self, candidate: Candidate) -> PluginRecord:
        """Load a plugin found after the others were loaded (a new file in a plugins directory).

        Its requirements must already be loaded or active; activate it with
        ``activate_one``.

        Raises:
            ValueError: a plugin of that name is already known.

        """
        with self._lock:
            if candidate.name in self.records:
                raise ValueError(f"a plugin named {candidate.name!r} is already known")
            record = PluginRecord(candidate)
            self.records[candidate.name] = record
        if not self._wanted(candidate.name):
            record.state = PluginState.DISABLED
            record.reason = "disabled"
            return record
        self._load_one(record)
        self._fail_unspecified([record])
        self._place(record)
        return record

    def reimport(self, name: str) -> PluginRecord:
        """Import plugin ``name`` again and register the new version's hooks.

        The caller has shut the old version down and purged its modules; on
        failure the record says why and nothing of the new version stays
        registered.
        """
        record = self.records[name]
        with self._lock:
            self._unregister(record)
            vars(record).update(vars(PluginRecord(record.candidate)))
        self._load_one(record)
        self._fail_unspecified([record])
        self._place(record)
        return record

    def _place(self, record: PluginRecord) -> None:
        """Check a late-loaded plugin's requirements and put it last in the order."""
        if record.state is not PluginState.LOADED:
            return
        assert record.manifest is not None  # loaded records have one
        with self._lock:
            for required in record.manifest.requires:
                dependency = self.records.get(required)
                if dependency is None or dependency.state not in _LIVE:
                    why = "is not installed" if dependency is None else f"is {dependency.state.value}"
                    record.fail(f"requires plugin {required!r}, which {why}")
                    self._unregister(record)
                    return
            self._ordered = [*(name for name in self._ordered if name != record.name), record.name]

    def snapshot(self, names: Iterable[str]) -> PluginSnapshot:
        """Copy the records of ``names`` and the order, for ``restore``."""
        with self._lock:
            copies = {
                name: dataclasses.replace(
                    self.records[name],
                    commands=list(self.records[name].commands),
                    hooks=list(self.records[name].hooks),
                )
                for name in names
            }
            return PluginSnapshot(copies, tuple(self._ordered))

    def restore(self, snapshot: PluginSnapshot) -> None:
        """Put the snapshotted records back; their plugin objects are registered with pluggy again.

        Whatever replaced them is unregistered. Re-activating a restored
        plugin (its services, handlers and ``flext_startup``) is the caller's job.
        """
        with self._lock:
            for name, saved in snapshot.records.items():
                record = self.records[name]
                self._unregister(record)
                vars(record).update(vars(dataclasses.replace(saved)))
                plugin = record.plugin
                if plugin is not None and not record.failed and not self.hooks.is_registered(plugin):
                    self._register(plugin, name)
            self._ordered = list(snapshot.order)

    def _load_one(self, record: PluginRecord) -> None:
        before = set(sys.modules)
        try:
            self._import_and_register(record)
        finally:
            record.modules = _owned_modules(record.candidate, before)

    def _import_and_register(self, record: PluginRecord) -> None:
        try:
            obj = _import(record.candidate.target)
        except Exception as exc:
            record.fail(f"import failed: {_one_line(exc)}", traceback.format_exc())
            return
        manifest = getattr(obj, "manifest", None)
        if not isinstance(manifest, PluginManifest):
            record.fail(f"{record.candidate.target} has no 'manifest' (a flext_sdk.PluginManifest)")
            return
        record.manifest = manifest
        if manifest.name != record.name:
            record.fail(
                f"manifest name {manifest.name!r} does not match the entry point name {record.name!r}"
            )
            return
        gate = _version_gate(manifest, self.kernel_version)
        if gate is not None:
            record.fail(gate)
            return
        if manifest.hookspecs is not None and not self._add_hookspecs(record, manifest.hookspecs):
            return
        if isinstance(obj, type) and issubclass(obj, FlextPlugin):
            obj = obj()
        with self._lock:
            try:
                # An implementation of a hook no plugin has specified yet waits: see _fail_unspecified.
                self._register(obj, record.name)
            except (ValueError, pluggy.PluginValidationError) as exc:
                if self.hooks.is_registered(obj):
                    self.hooks.unregister(obj)
                record.fail(f"invalid hooks: {exc}")
                return
            record.plugin = obj
            record.hooks = sorted(caller.name for caller in self.hooks.get_hookcallers(obj) or [])
            record.state = PluginState.LOADED
        record.commands = list(manifest.commands)
        if "flext_register_commands" in record.hooks:
            registry = CommandRegistry()
            if self._call(record, "flext_register_commands", registry=registry):
                record.commands.extend(registry.entries)

    def _add_hookspecs(self, record: PluginRecord, path: str) -> bool:
        """Add the hooks ``record``'s plugin defines; False (the plugin failed) if they cannot be.

        Plugins loaded earlier may already implement them (discovery order is
        arbitrary): they are registered again once the specs are in, so pluggy
        checks them against the specs and fails only an implementation that does not fit.
        """
        try:
            module = importlib.import_module(path)
        except Exception as exc:
            record.fail(f"hookspecs {path!r} could not be imported: {_one_line(exc)}", traceback.format_exc())
            return False
        names = _spec_names(self.hooks, module)
        problem = self._spec_problem(path, names, record.name)
        if problem is not None:
            record.fail(problem)
            return False
        if all(self._spec_owners.get(name) == record.name for name in names):
            return True  # imported again (hot reload): pluggy cannot replace a spec, the first ones stay
        with self._lock:
            parked = self._park(names)
            self._spec_owners.update(dict.fromkeys(names, record.name))
            try:
                self.hooks.add_hookspecs(module)
            except (ValueError, pluggy.PluginValidationError) as exc:
                record.fail(f"invalid hookspecs {path!r}: {exc}")
            finally:
                self._unpark(parked)
        return not record.failed

    def _spec_problem(self, path: str, names: list[str], owner: str) -> str | None:
        if not names:
            return f"hookspecs {path!r} has no function marked with flext_kernel.plugins.hookspecs.hookspec"
        for name in names:
            other = self._spec_owners.get(name, owner)
            if other != owner:
                return f"hookspecs {path!r} defines {name}, which plugin {other!r} already specifies"
        mine = {name for name, other in self._spec_owners.items() if other == owner}
        if mine and mine != set(names):
            return f"hookspecs {path!r} changed since the plugin was first loaded; restart to load them"
        return None

    def _park(self, names: list[str]) -> list[PluginRecord]:
        """Unregister the plugins that implement ``names`` before any plugin specified them."""
        waiting = {impl.plugin_name for name in names for impl in self._taking_part(name)}
        parked = [record for name, record in self.records.items() if name in waiting]
        for record in parked:
            self._unregister(record)
        return parked

    def _unpark(self, parked: list[PluginRecord]) -> None:
        for record in parked:
            try:
                self._register(record.plugin, record.name)
            except (ValueError, pluggy.PluginValidationError) as exc:
                self._unregister(record)
                record.fail(f"invalid hooks: {exc}")

    def _fail_unspecified(self, records: Iterable[PluginRecord]) -> None:
        """Fail each loaded plugin that implements a hook no loaded plugin specifies.

        Checked once every plugin is loaded, because the plugin that defines a
        hook may load after a plugin implementing it. A hook marked
        ``optionalhook=True`` may stay unspecified, as in pluggy.
        """
        with self._lock:
            known = [name for name, caller in vars(self.hooks.hook).items() if caller.has_spec()]
            for record in list(records):
                hook = self._unspecified(record)
                if hook is not None:
                    record.fail(_unspecified_reason(hook, known))
                    self._unregister(record)

    def _unspecified(self, record: PluginRecord) -> str | None:
        if record.state is not PluginState.LOADED or record.plugin is None or record.manifest is None:
            return None
        for required in record.manifest.requires:
            dependency = self.records.get(required)
            if dependency is None or dependency.state not in _LIVE:
                return None  # the likelier cause; ordering fails the plugin naming the requirement
        for caller in self.hooks.get_hookcallers(record.plugin) or []:
            mine = [impl for impl in caller.get_hookimpls() if impl.plugin_name == record.name]
            if not caller.has_spec() and not all(impl.optionalhook for impl in mine):
                return caller.name
        return None

    def _order(self) -> list[PluginRecord]:
        """Topologically sort loaded plugins; fail those with missing or cyclic requirements."""
        ordered: list[PluginRecord] = []
        visiting: list[str] = []
        done: set[str] = set()

        def visit(record: PluginRecord) -> bool:
            if record.name in done or record.state is not PluginState.LOADED:
                return record.state is PluginState.LOADED
            if record.name in visiting:
                cycle = [*visiting[visiting.index(record.name) :], record.name]
                for name in cycle[:-1]:
                    self.records[name].fail(f"requirement cycle: {' -> '.join(cycle)}")
                return False
            visiting.append(record.name)
            assert record.manifest is not None  # only loaded records are visited
            for required in record.manifest.requires:
                dependency = self.records.get(required)
                if dependency is None or dependency.state not in (PluginState.LOADED, PluginState.FAILED):
                    why = "is not installed" if dependency is None else f"is {dependency.state.value}"
                    record.fail(f"requires plugin {required!r}, which {why}")
                elif not visit(dependency) and not record.failed:
                    record.fail(f"requires plugin {required!r}, which failed: {dependency.reason}")
            visiting.pop()
            done.add(record.name)
            if record.state is PluginState.LOADED:
                ordered.append(record)
                return True
            self._unregister(record)
            return False

        with self._lock:
            for record in list(self.records.values()):
                if record.state is PluginState.LOADED:
                    visit(record)
            self._ordered = [record.name for record in ordered]
        return ordered

    # Running hooks.

    def active_order(self) -> list[PluginRecord]:
        """Loaded or active plugins, each after the plugins it requires."""
        return [self.records[name] for name in self._ordered if self.records[name].state in _LIVE]

    def activate(self, kernel: FlextKernel) -> None:
        """Register services and handlers, then start each plugin, in dependency order.

        A plugin is active as soon as its ``flext_startup`` returned, so a
        plugin failing while a later one starts is shut down (it had started).
        """
        self._kernel = kernel
        for hook, arguments in _activation_steps(kernel):
            for record in self.active_order():
                self._call_one(record, hook, arguments())
                if hook == _STARTUP:
                    self._started(record)

    def activate_one(self, kernel: FlextKernel, name: str) -> bool:
        """Register one loaded plugin's services and handlers and start it; return True if it is active.

        On failure the plugin is marked failed and its contributions are removed
        (through ``on_fail``).
        """
        self._kernel = kernel
        record = self.records[name]
        if record.state is not PluginState.LOADED:
            return False
        for hook, arguments in _activation_steps(kernel):
            if name in self._call_one(record, hook, arguments()):
                return False
        self._started(record)
        return not record.failed  # active, unless another thread's call failed it meanwhile

    def _started(self, record: PluginRecord) -> None:
        with self._lock:
            if record.state is PluginState.LOADED:  # not failed meanwhile
                record.state = PluginState.ACTIVE

    def shutdown(self, kernel: FlextKernel) -> None:
        """Call ``flext_shutdown`` in reverse dependency order; failures are recorded, not raised."""
        for record in reversed(self.active_order()):
            self.shutdown_one(kernel, record.name)

    def shutdown_one(self, kernel: FlextKernel, name: str) -> bool:
        """Call one plugin's ``flext_shutdown``; return False (the plugin marked failed) if it raised.

        Removing the plugin's own contributions is the caller's job; those of a
        plugin that fails during the call (this one, or a wrapper around it)
        are removed through ``on_fail``. A plugin that failed meanwhile (another
        thread's call) stays failed rather than stopped, and is not shut down
        a second time for that failure.
        """
        record = self.records[name]
        with self._lock:
            self._stopping.add(name)
        try:
            fallen = self._call_one(record, _SHUTDOWN, {"kernel": kernel})
        finally:
            with self._lock:
                self._stopping.discard(name)
                if not record.failed:
                    record.state = PluginState.STOPPED
        return name not in fallen

    def health(self) -> dict[str, FlextResult[dict[str, Any]]]:
        """Ask every active plugin that implements ``flext_health``, one plugin at a time.

        The answer is about one plugin, so each is asked on its own, inside
        every wrapper. A health check that raises reports a failure for its
        plugin (a finding, not a crash: the plugin keeps running); a wrapper
        that raises fails its own plugin, and the plugin it wrapped is asked
        again unless its own check raised.
        """
        report: dict[str, FlextResult[dict[str, Any]]] = {}
        for record in self.active_order():
            answer = self._health_of(record)
            if answer is not None:
                report[record.name] = answer
        return {name: answer for name, answer in report.items() if not self.records[name].failed}

    def collect(self, hook: str, **arguments: Any) -> list[tuple[str, Any]]:
        """Call ``hook`` once, through pluggy, on every active plugin; return ``(plugin, answer)`` pairs.

        For hooks that answer something (backends, projections). pluggy runs
        the call: wrappers wrap the whole call and see every answer,
        ``tryfirst``/``trylast`` and ``firstresult`` hold, and plugins of the
        same rank answer in dependency order. A plugin whose implementation
        or wrapper raises is marked failed and taken out, and the hook is
        called again for the others (so implementations must not have side
        effects). An exception no plugin raised (a missing argument) is raised.
        Every name in the pairs is a plugin's (see ``_Attempt.pairs``).

        Safe to call from several threads at once: the plugins' code runs
        outside the manager's lock, a plugin two calls find failing is
        failed and cleaned up once, and each call answers without it.
        """
        try:
            while True:
                attempt = self._attempt(hook, self._taking_part(hook), arguments)
                if attempt.error is None:
                    return attempt.pairs()
                culprits = attempt.culprits()
                if not culprits:
                    raise attempt.error
                for culprit, error in culprits:
                    self._fail(culprit, hook, error)
        finally:
            self._settle()

    def unregister(self, name: str) -> None:
        """Take a plugin out of pluggy (its container and bus contributions are the kernel's job)."""
        record = self.records.get(name)
        if record is not None:
            self._unregister(record)

    def failures(self) -> list[PluginRecord]:
        """The plugins that failed, for ``flext doctor`` and ``FLEXT_STRICT_PLUGINS``."""
        return [r for r in list(self.records.values()) if r.state is PluginState.FAILED]

    def _call(self, record: PluginRecord, hook: str, **arguments: Any) -> bool:
        """Call one plugin's implementation of ``hook``; False if that plugin failed."""
        return record.name not in self._call_one(record, hook, arguments)

    def _call_one(self, record: PluginRecord, hook: str, arguments: dict[str, Any]) -> list[str]:
        """Call ``record``'s implementations of ``hook`` inside every live wrapper; return who failed."""
        return self._run(record, hook, self._own_impls(record, hook), arguments)

    def _run(
        self, record: PluginRecord, hook: str, pending: list[pluggy.HookImpl], arguments: dict[str, Any]
    ) -> list[str]:
        """Call ``pending`` (``record``'s implementations of ``hook``) inside every live wrapper.

        The lifecycle runs one plugin at a time (a plugin after those it
        requires), so each wrapper wraps each plugin's call. An implementation
        that raised fails its plugin with its own exception, even when a
        wrapper translated it, and is never called again: what it registered
        before raising would be registered twice. A wrapper that raises on
        its own fails its plugin, and the implementations that had not run
        are called again without it, so the plugin called is not blamed for
        its wrapper. An exception no plugin can be blamed for fails the plugin
        called. Returns the plugins that failed.
        """
        fallen: list[str] = []
        while pending and record.name not in fallen:
            attempt = self._attempt(hook, [*pending, *self._wrappers(hook)], arguments)
            if attempt.error is None:
                break
            culprits: list[tuple[pluggy.HookImpl | str, Exception]] = [*attempt.culprits()]
            for culprit, error in culprits or [(record.name, attempt.error)]:
                fallen.append(self._fail(culprit, hook, error))
            finished = [impl for impl, _ in attempt.answered] + [impl for impl, _ in attempt.raised]
            pending = [impl for impl in pending if impl not in finished]
        self._settle()
        return fallen

    def _health_of(self, record: PluginRecord) -> FlextResult[dict[str, Any]] | None:
        """``record``'s health answer, inside every wrapper; None if it implements no check."""
        pending = self._own_impls(record, _HEALTH)
        try:
            while pending:
                attempt = self._attempt(_HEALTH, [*pending, *self._wrappers(_HEALTH)], {})
                if attempt.error is None:
                    return attempt.health()
                culprits = attempt.culprits()
                # Its own check (or its own wrapper) raising is a finding about it, not a failure.
                own = [error for culprit, error in culprits if culprit.plugin_name == record.name]
                for culprit, error in culprits:
                    if culprit.plugin_name != record.name:
                        self._fail(culprit, _HEALTH, error)
                if own or not culprits:
                    return FlextResult.from_exception(own[0] if own else attempt.error, PLUGIN_LOAD_FAILED)
            return None
        finally:
            self._settle()

    def _attempt(self, hook: str, impls: Iterable[pluggy.HookImpl], arguments: dict[str, Any]) -> _Attempt:
        """Call ``impls`` once with pluggy's own call loop, noting which plugin answered or raised what.

        pluggy's ``_hookexec`` runs wrappers, ordering and ``firstresult``
        exactly as it does for ``hooks.hook.<name>(...)`` (and reports to its
        tracing); the manager only picks which implementations take part.
        Implementations go in as stand-ins (made once per implementation, see
        ``_stand_in``) that note their answer or exception in the attempt
        ``_ATTEMPT`` holds for this thread and call; wrappers go in as they are.
        """
        caller: pluggy.HookCaller | None = getattr(self.hooks.hook, hook, None)
        firstresult = bool(caller is not None and caller.spec and caller.spec.opts.get("firstresult"))
        attempt = _Attempt(wrappers=[])
        calls: list[pluggy.HookImpl] = []
        for impl in self._call_order(impls):
            if _is_wrapper(impl):
                attempt.wrappers.append(impl)
                calls.append(impl)
            else:
                calls.append(self._stand_in(impl))
        token = _ATTEMPT.set(attempt)
        try:
            # The private entry point is the one that takes a chosen list: subset_hook_caller can
            # only leave whole plugins out (their wrappers with them) and cannot take stand-ins.
            result = self.hooks._hookexec(hook, calls, arguments, firstresult)
        except Exception as exc:
            attempt.error = exc
        else:
            attempt.result = result if isinstance(result, list) else [] if result is None else [result]
        finally:
            _ATTEMPT.reset(token)
        return attempt

    def _stand_in(self, impl: pluggy.HookImpl) -> pluggy.HookImpl:
        """The recording stand-in for ``impl``, made on first use.

        Making one costs more than the call itself (pluggy reads the
        function's signature), so each is kept until its plugin is registered
        or unregistered again. A race makes two at worst, both correct.
        """
        stand_in = self._stand_ins.get(impl)
        if stand_in is None:
            stand_in = self._stand_ins[impl] = _recording(impl)
        return stand_in

    def _call_order(self, impls: Iterable[pluggy.HookImpl]) -> list[pluggy.HookImpl]:
        """``impls`` in pluggy's list order, with plugins in dependency order where pluggy leaves it open.

        pluggy calls its list from the end: wrappers first (outermost), then
        ``tryfirst``, plain, ``trylast`` implementations. Within each of those
        groups pluggy calls the last registered first; FLEXT calls a plugin
        before the plugins that require it, the order the lifecycle uses.
        """
        rank = self._rank()
        last = len(rank)

        def key(impl: pluggy.HookImpl) -> tuple[bool, int, int]:
            group = 2 if impl.tryfirst else 0 if impl.trylast else 1
            return _is_wrapper(impl), group, -rank.get(impl.plugin_name, last)

        return sorted(impls, key=key)

    def _rank(self) -> dict[str, int]:
        """Each plugin's position: the dependency order, then the others in load order.

        Kept until the order is replaced (it is never changed in place) or a
        plugin is added (records are never removed).
        """
        ordered, known = self._ordered, len(self.records)
        cached = self._ranked
        if cached is not None and cached[0] is ordered and cached[1] == known:
            return cached[2]
        names = dict.fromkeys([*ordered, *self.records])
        rank = {name: position for position, name in enumerate(names)}
        self._ranked = (ordered, known, rank)
        return rank

    def _taking_part(self, hook: str) -> list[pluggy.HookImpl]:
        """The implementations of ``hook`` whose plugin is loaded or active; stopped ones sit out.

        pluggy hands out a copy of its list, so a plugin unregistered meanwhile cannot disturb it.
        """
        caller: pluggy.HookCaller | None = getattr(self.hooks.hook, hook, None)
        impls = caller.get_hookimpls() if caller is not None else []
        return [impl for impl in impls if self._live(impl.plugin_name)]

    def _wrappers(self, hook: str) -> list[pluggy.HookImpl]:
        return [impl for impl in self._taking_part(hook) if _is_wrapper(impl)]

    def _own_impls(self, record: PluginRecord, hook: str) -> list[pluggy.HookImpl]:
        caller: pluggy.HookCaller | None = getattr(self.hooks.hook, hook, None)
        impls = caller.get_hookimpls() if caller is not None else []
        return [impl for impl in impls if impl.plugin_name == record.name and not _is_wrapper(impl)]

    def _live(self, name: str) -> bool:
        record = self.records.get(name)
        return record is not None and record.state in _LIVE

    def _fail(self, culprit: pluggy.HookImpl | str, hook: str, error: Exception) -> str:
        """Mark ``culprit``'s plugin failed for raising ``error`` and unregister it; return its name.

        A plugin already failed (by another thread's call, or earlier in this
        one) keeps its first reason and is cleaned up once. The clean-up that
        runs code outside the manager (the plugin's ``flext_shutdown`` if it
        had started, then ``on_fail``) is queued for ``_settle``: it must not
        run under the lock, where a plugin waiting for another thread that
        uses the manager would deadlock.
        """
        name = culprit if isinstance(culprit, str) else culprit.plugin_name
        what = f"{hook} wrapper" if not isinstance(culprit, str) and _is_wrapper(culprit) else hook
        with self._lock:
            record = self.records[name]
            if record.failed:
                return name
            # Started, and not failing in (or during) its own shutdown: it may hold resources.
            started = record.state is PluginState.ACTIVE and name not in self._stopping
            stop = self._own_impls(record, _SHUTDOWN) if started else []
            record.fail(f"{what} raised {_one_line(error)}", "".join(traceback.format_exception(error)))
            self._unregister(record)
            self._fallen.append((record, stop))
        return name

    def _settle(self) -> None:
        """Shut down the plugins that failed since, if they had started, then hand each to ``on_fail``.

        Called at the end of every call that can fail a plugin, without the
        lock. A call made from inside a hook (a ``flext_startup`` that
        collects) leaves it to the outermost call on its thread, so that no
        plugin is shut down or unplugged while a hook of it may be running.
        The shutdown runs the implementations kept before the plugin was
        unregistered, inside every live wrapper, with the kernel that
        activated it; it raising fails nobody again (the plugin keeps its first reason).
        """
        if _ATTEMPT.get(None) is not None:
            return
        while True:
            with self._lock:
                if not self._fallen:
                    return
                record, stop = self._fallen.popleft()
            if stop and self._kernel is not None:
                self._run(record, _SHUTDOWN, stop, {"kernel": self._kernel})
            if self.on_fail is not None:
                self.on_fail(record.name)

    def _register(self, plugin: object, name: str) -> None:
        """Register ``plugin`` with pluggy (which is not thread-safe) and forget the stand-ins."""
        with self._lock:
            self.hooks.register(plugin, name=name)
            self._stand_ins.clear()

    def _unregister(self, record: PluginRecord) -> None:
        with self._lock:
            if record.plugin is not None and self.hooks.is_registered(record.plugin):
                self.hooks.unregister(record.plugin)
                self._stand_ins.clear()


_Culprit = tuple[pluggy.HookImpl, Exception]
"""An implementation or wrapper to fail, with the exception to fail it for."""


@dataclass
class _Attempt:
    """One call through pluggy: who answered or raised what, and how the call ended."""

    wrappers: list[pluggy.HookImpl]
    """The wrappers that took part, innermost first."""
    answered: list[tuple[pluggy.HookImpl, Any]] = field(default_factory=list)
    """Implementations that returned, with their answer, in call order."""
    raised: list[_Culprit] = field(default_factory=list)
    """Implementations that raised, with the exception."""
    result: list[Any] = field(default_factory=list)
    """The call's answers once every wrapper had its say (a ``firstresult`` answer as one item)."""
    error: Exception | None = None
    """What the call raised."""

    def culprits(self) -> list[_Culprit]:
        """Who made the call raise ``error``, each with its own exception; empty if nobody can be told.

        An implementation that raised fails with its own exception, whatever
        a wrapper made of it: passed on, translated (``raise X from exc``,
        or a raise inside ``except``), or swallowed before raising something
        else. A wrapper is blamed only when ``error`` does not lead back
        (through ``__cause__``/``__context__``) to an implementation's
        exception: then it raised on its own. A missing argument is the caller's fault.
        """
        error = self.error
        if error is None or isinstance(error, pluggy.HookCallError):
            return []
        culprits = list(self.raised)
        if not any(_leads_to(error, raised) for _, raised in self.raised):
            wrapper = _raising_wrapper(error, self.wrappers)
            if wrapper is not None:
                culprits.append((wrapper, error))
        return culprits

    def pairs(self) -> list[tuple[str, Any]]:
        """Each answer with the plugin that gave it.

        A wrapper may drop, reorder, replace or add answers: an answer given
        by an implementation keeps its plugin; one a wrapper put in goes to
        the plugin whose answer it displaced, in order, else to the outermost
        wrapper's plugin (the last to have its say, and a name callers can
        look up in ``records``).
        """
        given = [(impl.plugin_name, answer) for impl, answer in self.answered if answer is not None]
        if len(given) == len(self.result) and all(
            mine is answer for (_, mine), answer in zip(given, self.result, strict=True)
        ):
            return given  # no wrapper changed anything: the common case
        slots: dict[int, list[int]] = {}
        for index, (_, answer) in enumerate(given):
            slots.setdefault(id(answer), []).append(index)
        names: list[str | None] = []
        for answer in self.result:
            slot = slots.get(id(answer))
            names.append(given[slot.pop(0)][0] if slot else None)
        kept = {index for slot in slots.values() for index in slot}
        displaced = iter([name for index, (name, _) in enumerate(given) if index in kept])
        outermost = self.wrappers[-1].plugin_name if self.wrappers else None
        pairs: list[tuple[str, Any]] = []
        for name, answer in zip(names, self.result, strict=True):
            credited = name or next(displaced, None) or outermost
            assert credited is not None  # without a wrapper every answer is an implementation's
            pairs.append((credited, answer))
        return pairs

    def health(self) -> FlextResult[dict[str, Any]] | None:
        """A plugin's ``flext_health`` answer: its last ``FlextResult``, or the failure it raised."""
        if self.error is not None:
            return FlextResult.from_exception(self.error, PLUGIN_LOAD_FAILED)
        found = [answer for answer in self.result if isinstance(answer, FlextResult)]
        return found[-1] if found else None


_ATTEMPT: Final[contextvars.ContextVar[_Attempt]] = contextvars.ContextVar("flext_attempt")
"""The attempt the stand-ins of the current thread's (and nested) call report to."""


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    return bool(impl.wrapper or impl.hookwrapper)


def _leads_to(error: BaseException, origin: BaseException) -> bool:
    """True if ``error`` is ``origin`` or was raised from or while handling it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if current is origin:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _recording(impl: pluggy.HookImpl) -> pluggy.HookImpl:
    """A stand-in for ``impl`` that notes its answer or exception in the current attempt.

    It keeps the plugin, options and argument names (``functools.wraps``
    lets pluggy read the original's signature), so pluggy calls it as it
    would ``impl``; the note is what attributes answers and failures to
    plugins. The attempt comes from ``_ATTEMPT``, not from the stand-in, so
    one stand-in serves every call, on any thread.
    """
    function = impl.function

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            answer = function(*args, **kwargs)
        except Exception as exc:
            _ATTEMPT.get().raised.append((impl, exc))
            raise
        _ATTEMPT.get().answered.append((impl, answer))
        return answer

    return pluggy.HookImpl(impl.plugin, impl.plugin_name, call, impl.opts)


def _raising_wrapper(error: BaseException, wrappers: list[pluggy.HookImpl]) -> pluggy.HookImpl | None:
    """The wrapper that raised ``error`` (or, through its context, the exception behind it).

    A traceback grows at its head each time the exception is raised again
    (pluggy throws it into every wrapper on the way out), so the frames
    where it was first raised are its tail, below the last pluggy frame.
    When pluggy raised it itself ("did not yield", "has second yield"), its
    frame holds the wrapper's generator.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = [frame for frame, _ in traceback.walk_tb(current.__traceback__)]
        tail = list(itertools.takewhile(lambda frame: not _in_pluggy(frame), reversed(frames)))
        places: list[tuple[FrameType | None, CodeType]] = [(frame, frame.f_code) for frame in tail]
        if frames and not tail:
            held = frames[-1].f_locals.values()
            places = [(None, value.gi_code) for value in held if inspect.isgenerator(value)]
        for frame, code in places:
            for impl in wrappers:
                if _runs(frame, code, impl.function):
                    return impl
        current = current.__cause__ or current.__context__
    return None


def _in_pluggy(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(_PLUGGY_DIR)


def _runs(frame: FrameType | None, code: CodeType, function: Callable[..., object]) -> bool:
    """True if ``code`` (run by ``frame``, if known) is ``function``'s, for a method on the same instance."""
    if code is not _code(function):
        return False
    owner = getattr(function, "__self__", None)
    return owner is None or frame is None or frame.f_locals.get(code.co_varnames[0]) is owner


def _code(function: Callable[..., object]) -> CodeType | None:
    code: CodeType | None = getattr(getattr(function, "__func__", function), "__code__", None)
    return code


def _activation_steps(kernel: FlextKernel) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    return [
        ("flext_register_services", lambda: {"container": kernel.container}),
        (
            "flext_register_handlers",
            lambda: {
                "command_bus": kernel.command_bus,
                "query_bus": kernel.query_bus,
                "event_bus": kernel.event_bus,
            },
        ),
        ("flext_startup", lambda: {"kernel": kernel}),
    ]


def _spec_names(hooks: pluggy.PluginManager, namespace: ModuleType) -> list[str]:
    """The hooks ``namespace`` specifies (its functions marked with ``hookspec``)."""
    return [name for name in dir(namespace) if hooks.parse_hookspec_opts(namespace, name) is not None]


def _unspecified_reason(hook: str, known: list[str]) -> str:
    reason = (
        f"invalid hooks: implements {hook}, which no installed plugin specifies; "
        "is the plugin that defines it installed and enabled?"
    )
    near = difflib.get_close_matches(hook, known, n=1, cutoff=0.85)
    return f"{reason} (or is it a typo for {near[0]}?)" if near else reason


def _root_module(module_name: str) -> str:
    """The outermost regular package of ``module_name`` (namespace packages are shared, so skipped)."""
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        module = sys.modules.get(name)
        if module is None or getattr(module, "__file__", None) is not None:
            return name
    return module_name


def _owned_modules(candidate: Candidate, before: set[str]) -> tuple[str, ...]:
    """The pure-Python modules a plugin owns once imported (see ``PluginRecord.modules``)."""
    root = _root_module(candidate.target.partition(":")[0])
    if candidate.name == KERNEL_PLUGIN or root in _SHARED_ROOTS:
        return ()  # part of the kernel, or a module that is not the plugin's alone
    prefix = f"{root}."
    local = None
    if candidate.source == "directory" and candidate.location:
        local = Path(candidate.location).resolve().parent
    owned: list[str] = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not file.endswith(".py"):
            continue  # namespace packages, built-ins and compiled extensions cannot be reloaded
        mine = name == root or name.startswith(prefix)
        # A local plugin also owns the modules next to it that its import brought in (its helpers).
        helper = local is not None and name not in before and Path(file).resolve().is_relative_to(local)
        if mine or helper:
            owned.append(name)
    return tuple(sorted(owned))


def _import(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


def _version_gate(manifest: PluginManifest, kernel_version: str) -> str | None:
    if _plainly_at_least(manifest.kernel, kernel_version):
        return None  # the usual range (the default ">=0.1"), met without importing packaging
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        supported = SpecifierSet(manifest.kernel)
    except InvalidSpecifier:
        return f"manifest kernel range {manifest.kernel!r} is not a valid version specifier"
    if not supported.contains(kernel_version, prereleases=True):
        return f"supports flext-kernel {manifest.kernel}, but this is {kernel_version}"
    return None


def _plainly_at_least(supported: str, kernel_version: str) -> bool:
    """Whether ``supported`` is ``>=X.Y...`` and ``kernel_version`` a plain release that meets it.

    Every boot checks every plugin's range, and importing ``packaging`` for
    the default one costs more than the rest of the check. Release numbers
    compare as tuples here: whenever tuple order says "at least", PEP 440's
    order (which pads the shorter one with zeros) says so too, so True is
    always right. Anything else (other operators, pre-releases, local
    versions, a tuple order that says "less") answers False, and the caller
    asks ``packaging``.
    """
    floor = supported.strip().removeprefix(">=").strip()
    if floor == supported.strip() or not _is_release(floor) or not _is_release(kernel_version):
        return False
    return _release(kernel_version) >= _release(floor)


def _is_release(version: str) -> bool:
    return all(part.isdigit() and part.isascii() for part in version.split("."))


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _one_line(exc: Exception) -> str:
    """A plugin's import error as one line: a bad manifest names its model, fields and messages."""
    if isinstance(exc, pydantic.ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return f"invalid {exc.title}: {problems}"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
