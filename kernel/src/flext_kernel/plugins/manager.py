"""PluginManager: import, gate, order and run plugins, isolating each one's failures.

pluggy holds the hook specifications (the kernel's and those plugins define)
and implementations, checks one against the other, and runs every call with
its own call loop, so wrappers, ``tryfirst``/``trylast`` and ``firstresult``
behave as pluggy documents. The manager picks who takes part in a call (one
plugin's implementations inside every wrapper for the lifecycle, run in
dependency order; every active plugin for ``collect``) and finds which plugin
raised, so that plugin is marked failed with its reason while every other
plugin keeps working.

For hot reload (``flext_kernel.plugins.reload``) the manager also remembers
which modules each plugin imported, runs one plugin's lifecycle on its own
(``activate_one``, ``shutdown_one``), imports a plugin again
(``reimport``), and snapshots and restores records for rollbacks.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import inspect
import itertools
import os
import sys
import traceback
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
        self._disabled = set(disabled)
        self._only = set(only) if only is not None else None
        self._ordered: list[str] = []

    # Loading.

    def load(self, candidates: Iterable[Candidate]) -> list[PluginRecord]:
        """Import, validate and register each candidate; return the records in dependency order."""
        for candidate in candidates:
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
        for required in record.manifest.requires:
            dependency = self.records.get(required)
            if dependency is None or dependency.state not in _LIVE:
                why = "is not installed" if dependency is None else f"is {dependency.state.value}"
                record.fail(f"requires plugin {required!r}, which {why}")
                self._unregister(record)
                return
        if record.name in self._ordered:
            self._ordered.remove(record.name)
        self._ordered.append(record.name)

    def snapshot(self, names: Iterable[str]) -> PluginSnapshot:
        """Copy the records of ``names`` and the order, for ``restore``."""
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
        for name, saved in snapshot.records.items():
            record = self.records[name]
            self._unregister(record)
            vars(record).update(vars(dataclasses.replace(saved)))
            plugin = record.plugin
            if plugin is not None and not record.failed and not self.hooks.is_registered(plugin):
                self.hooks.register(plugin, name=name)
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
        try:
            # An implementation of a hook no plugin has specified yet waits: see _fail_unspecified.
            self.hooks.register(obj, name=record.name)
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
                self.hooks.register(record.plugin, name=record.name)
            except (ValueError, pluggy.PluginValidationError) as exc:
                self._unregister(record)
                record.fail(f"invalid hooks: {exc}")

    def _fail_unspecified(self, records: Iterable[PluginRecord]) -> None:
        """Fail each loaded plugin that implements a hook no loaded plugin specifies.

        Checked once every plugin is loaded, because the plugin that defines a
        hook may load after a plugin implementing it. A hook marked
        ``optionalhook=True`` may stay unspecified, as in pluggy.
        """
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
        """Register services and handlers, then start each plugin, in dependency order."""
        for hook, arguments in _activation_steps(kernel):
            for record in self.active_order():
                for name in self._call_one(record, hook, arguments()):
                    kernel.remove_contributions(name)
        for record in self.active_order():
            record.state = PluginState.ACTIVE

    def activate_one(self, kernel: FlextKernel, name: str) -> bool:
        """Register one loaded plugin's services and handlers and start it; return True if it is active.

        On failure the plugin is marked failed and its contributions are removed.
        """
        record = self.records[name]
        if record.state is not PluginState.LOADED:
            return False
        for hook, arguments in _activation_steps(kernel):
            fallen = self._call_one(record, hook, arguments())
            for each in fallen:
                kernel.remove_contributions(each)
            if name in fallen:
                return False
        record.state = PluginState.ACTIVE
        return True

    def shutdown(self, kernel: FlextKernel) -> None:
        """Call ``flext_shutdown`` in reverse dependency order; failures are recorded, not raised."""
        for record in reversed(self.active_order()):
            self.shutdown_one(kernel, record.name)

    def shutdown_one(self, kernel: FlextKernel, name: str) -> bool:
        """Call one plugin's ``flext_shutdown``; return False (the plugin marked failed) if it raised.

        Removing the plugin's own contributions is the caller's job; those of a
        wrapper plugin that raised around the call are removed here.
        """
        fallen = self._call_one(self.records[name], "flext_shutdown", {"kernel": kernel})
        for each in fallen:
            if each != name:
                kernel.remove_contributions(each)
        if name in fallen:
            return False
        self.records[name].state = PluginState.STOPPED
        return True

    def health(self) -> dict[str, FlextResult[dict[str, Any]]]:
        """Ask every active plugin that implements ``flext_health``, one plugin at a time.

        The answer is about one plugin, so each is asked on its own, inside
        every wrapper. A health check that raises reports a failure for its
        plugin (a finding, not a crash: the plugin keeps running); a wrapper
        that raises fails its own plugin, and the plugin it wrapped is asked again.
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
        """
        while True:
            attempt = self._attempt(hook, self._taking_part(hook), arguments)
            if attempt.error is None:
                return attempt.pairs()
            if attempt.culprit is None:
                raise attempt.error
            self._fail(attempt.culprit, hook, attempt.error)

    def unregister(self, name: str) -> None:
        """Take a plugin out of pluggy (its container and bus contributions are the kernel's job)."""
        record = self.records.get(name)
        if record is not None:
            self._unregister(record)

    def failures(self) -> list[PluginRecord]:
        """The plugins that failed, for ``flext doctor`` and ``FLEXT_STRICT_PLUGINS``."""
        return [r for r in self.records.values() if r.state is PluginState.FAILED]

    def _call(self, record: PluginRecord, hook: str, **arguments: Any) -> bool:
        """Call one plugin's implementation of ``hook``; False if that plugin failed."""
        return record.name not in self._call_one(record, hook, arguments)

    def _call_one(self, record: PluginRecord, hook: str, arguments: dict[str, Any]) -> list[str]:
        """Call ``record``'s implementations of ``hook`` inside every live wrapper; return who failed.

        The lifecycle runs one plugin at a time (a plugin after those it
        requires), so each wrapper wraps each plugin's call. A wrapper that
        raises fails its own plugin, and the implementations that had not
        finished are called again without it: the plugin called is not blamed
        for its wrapper, and nothing it registered is registered twice. An
        exception no plugin can be blamed for fails the plugin called.
        """
        fallen: list[str] = []
        pending = self._own_impls(record, hook)
        while pending and record.name not in fallen:
            attempt = self._attempt(hook, [*pending, *self._wrappers(hook)], arguments)
            if attempt.error is None:
                break
            fallen.append(self._fail(attempt.culprit or record.name, hook, attempt.error))
            done = [impl for impl, _ in attempt.answered]
            pending = [impl for impl in pending if impl not in done]
        return fallen

    def _health_of(self, record: PluginRecord) -> FlextResult[dict[str, Any]] | None:
        pending = self._own_impls(record, "flext_health")
        while pending:
            attempt = self._attempt("flext_health", [*pending, *self._wrappers("flext_health")], {})
            culprit = attempt.culprit
            if attempt.error is None or culprit is None or culprit.plugin_name == record.name:
                return attempt.health()
            self._fail(culprit, "flext_health", attempt.error)
        return None

    def _attempt(self, hook: str, impls: Iterable[pluggy.HookImpl], arguments: dict[str, Any]) -> _Attempt:
        """Call ``impls`` once with pluggy's own call loop, noting which plugin answered or raised what.

        pluggy's ``_hookexec`` runs wrappers, ordering and ``firstresult``
        exactly as it does for ``hooks.hook.<name>(...)`` (and reports to its
        tracing); the manager only picks which implementations take part.
        Implementations go in as stand-ins that note their answer or
        exception; wrappers go in as they are.
        """
        caller: pluggy.HookCaller | None = getattr(self.hooks.hook, hook, None)
        firstresult = bool(caller is not None and caller.spec and caller.spec.opts.get("firstresult"))
        ordered = self._call_order(impls)
        attempt = _Attempt(wrappers=[impl for impl in ordered if _is_wrapper(impl)])
        calls = [impl if _is_wrapper(impl) else _recording(impl, attempt) for impl in ordered]
        try:
            # The private entry point is the one that takes a chosen list: subset_hook_caller can
            # only leave whole plugins out (their wrappers with them) and cannot take stand-ins.
            result = self.hooks._hookexec(hook, calls, arguments, firstresult)
        except Exception as exc:
            attempt.error = exc
            attempt.culprit = attempt.blame(exc)
        else:
            attempt.result = result if isinstance(result, list) else [] if result is None else [result]
        return attempt

    def _call_order(self, impls: Iterable[pluggy.HookImpl]) -> list[pluggy.HookImpl]:
        """``impls`` in pluggy's list order, with plugins in dependency order where pluggy leaves it open.

        pluggy calls its list from the end: wrappers first (outermost), then
        ``tryfirst``, plain, ``trylast`` implementations. Within each of those
        groups pluggy calls the last registered first; FLEXT calls a plugin
        before the plugins that require it, the order the lifecycle uses.
        """
        names = dict.fromkeys([*self._ordered, *self.records])
        rank = {name: position for position, name in enumerate(names)}

        def key(impl: pluggy.HookImpl) -> tuple[bool, int, int]:
            group = 2 if impl.tryfirst else 0 if impl.trylast else 1
            return _is_wrapper(impl), group, -rank.get(impl.plugin_name, len(rank))

        return sorted(impls, key=key)

    def _taking_part(self, hook: str) -> list[pluggy.HookImpl]:
        """The implementations of ``hook`` whose plugin is loaded or active; stopped ones sit out."""
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
        """Mark ``culprit``'s plugin failed for raising ``error`` and unregister it; return its name."""
        name = culprit if isinstance(culprit, str) else culprit.plugin_name
        what = f"{hook} wrapper" if not isinstance(culprit, str) and _is_wrapper(culprit) else hook
        record = self.records[name]
        record.fail(f"{what} raised {_one_line(error)}", "".join(traceback.format_exception(error)))
        self._unregister(record)
        return name

    def _unregister(self, record: PluginRecord) -> None:
        if record.plugin is not None and self.hooks.is_registered(record.plugin):
            self.hooks.unregister(record.plugin)


@dataclass
class _Attempt:
    """One call through pluggy: who answered or raised what, and how the call ended."""

    wrappers: list[pluggy.HookImpl]
    """The wrappers that took part."""
    answered: list[tuple[pluggy.HookImpl, Any]] = field(default_factory=list)
    """Implementations that returned, with their answer, in call order."""
    raised: list[tuple[pluggy.HookImpl, Exception]] = field(default_factory=list)
    """Implementations that raised, with the exception."""
    result: list[Any] = field(default_factory=list)
    """The call's answers once every wrapper had its say (a ``firstresult`` answer as one item)."""
    error: Exception | None = None
    """What the call raised."""
    culprit: pluggy.HookImpl | None = None
    """The implementation or wrapper that raised ``error``, when it can be told."""

    def blame(self, error: Exception) -> pluggy.HookImpl | None:
        """The implementation that raised ``error``, else the wrapper running where it was raised.

        A wrapper may re-raise what an implementation raised: the
        implementation is blamed. A missing argument is the caller's fault.
        """
        if isinstance(error, pluggy.HookCallError):
            return None
        for impl, raised in self.raised:
            if raised is error:
                return impl
        return _raising_wrapper(error, self.wrappers)

    def pairs(self) -> list[tuple[str, Any]]:
        """Each answer with the plugin that gave it.

        A wrapper may drop, reorder, replace or add answers: an answer given
        by an implementation keeps its plugin; one a wrapper put in goes to
        the plugin whose answer it displaced, in order, else to the wrappers' plugins.
        """
        given = [(impl.plugin_name, answer) for impl, answer in self.answered if answer is not None]
        names: list[str | None] = []
        for answer in self.result:
            index = next((i for i, (_, mine) in enumerate(given) if mine is answer), None)
            names.append(None if index is None else given.pop(index)[0])
        wrappers = "+".join(sorted({impl.plugin_name for impl in self.wrappers}))
        displaced = iter([name for name, _ in given])
        return [
            (name or next(displaced, wrappers), answer)
            for name, answer in zip(names, self.result, strict=True)
        ]

    def health(self) -> FlextResult[dict[str, Any]] | None:
        """A plugin's ``flext_health`` answer: its last ``FlextResult``, or the failure it raised."""
        if self.error is not None:
            return FlextResult.from_exception(self.error, PLUGIN_LOAD_FAILED)
        found = [answer for answer in self.result if isinstance(answer, FlextResult)]
        return found[-1] if found else None


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    return bool(impl.wrapper or impl.hookwrapper)


def _recording(impl: pluggy.HookImpl, attempt: _Attempt) -> pluggy.HookImpl:
    """A stand-in for ``impl`` that notes its answer or exception in ``attempt``.

    It keeps the plugin, options and argument names (``functools.wraps``
    lets pluggy read the original's signature), so pluggy calls it as it
    would ``impl``; the note is what attributes answers and failures to plugins.
    """
    function = impl.function

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            answer = function(*args, **kwargs)
        except Exception as exc:
            attempt.raised.append((impl, exc))
            raise
        attempt.answered.append((impl, answer))
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
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        supported = SpecifierSet(manifest.kernel)
    except InvalidSpecifier:
        return f"manifest kernel range {manifest.kernel!r} is not a valid version specifier"
    if not supported.contains(kernel_version, prereleases=True):
        return f"supports flext-kernel {manifest.kernel}, but this is {kernel_version}"
    return None


def _one_line(exc: Exception) -> str:
    """A plugin's import error as one line: a bad manifest names its model, fields and messages."""
    if isinstance(exc, pydantic.ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return f"invalid {exc.title}: {problems}"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
