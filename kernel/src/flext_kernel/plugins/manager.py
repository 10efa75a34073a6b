"""PluginManager: load plugins, run hooks through pluggy, isolate failures (docs/kernel/plugin-host.md)."""

from __future__ import annotations

import contextlib
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import TYPE_CHECKING, Any, Final

import pluggy
import pydantic

from flext_kernel.errors import PLUGIN_LOAD_FAILED  # also exported from here, as before
from flext_kernel.plugins import hookspecs, isolation
from flext_kernel.plugins.base import FlextPlugin, PluginState
from flext_kernel.plugins.discovery import Candidate, canonical_name
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
    """Its pure-Python modules (its package; a local plugin's helpers too): what hot reload purges."""

    @property
    def name(self) -> str:
        """The plugin's name."""
        return self.candidate.name

    @property
    def owners(self) -> tuple[str, ...]:
        """The names its registrations may carry as ``owner``: its name, and its manifest's spelling of it."""
        declared = self.manifest.name if self.manifest else self.name
        return (self.name,) if declared == self.name else (self.name, declared)

    @property
    def failed(self) -> bool:
        """True once loading or a hook failed."""
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
        self,
        kernel_version: str,
        *,
        disabled: Iterable[str] = (),
        only: Iterable[str] | None = None,
        import_timeout: float | None = None,
        hung_imports: isolation.HungImports | None = None,
        pins: Mapping[str, str] | None = None,
    ) -> None:
        self.kernel_version = kernel_version
        """The flext-kernel version plugins are gated against."""
        self.import_timeout = isolation.import_timeout() if import_timeout is None else import_timeout or None
        """Seconds a plugin's import may take (``FLEXT_PLUGIN_IMPORT_TIMEOUT``, else 10; 0: no limit)."""
        self._hung = hung_imports
        self._pins = {path: canonical_name(name) for path, name in pins.items()} if pins is not None else None
        self.hooks = pluggy.PluginManager(hookspecs.PROJECT)
        """The pluggy manager; ``hooks.hook.<name>(...)`` is the bare call, without isolation or order."""
        self.hooks.add_hookspecs(hookspecs)
        self._spec_owners = dict.fromkeys(_spec_names(self.hooks, hookspecs), KERNEL_PLUGIN)
        self.records: dict[str, PluginRecord] = _Names()
        """Every plugin seen, by name, in load order; any spelling of a name finds it (``canonical_name``)."""
        self.on_fail: Callable[[str], None] | None = None
        """Called, without the lock, with each plugin a hook failed: the kernel's ``remove_contributions``."""
        self._disabled = {canonical_name(name) for name in disabled}
        self._only = {canonical_name(name) for name in only} if only is not None else None
        self._ordered: list[str] = []  # replaced, never changed in place: read without the lock
        self._lock = threading.RLock()
        self._fallen: deque[tuple[PluginRecord, list[pluggy.HookImpl]]] = deque()
        self._stopping: set[str] = set()
        self._stand_ins: dict[pluggy.HookImpl, pluggy.HookImpl] = {}
        self._kernel: FlextKernel | None = None

    # Loading.

    def load(self, candidates: Iterable[Candidate]) -> list[PluginRecord]:
        """Import, validate and register each candidate; return the records in dependency order."""
        with isolation.plugin_code():
            for candidate in candidates:
                if self._admit(candidate) is None:
                    self.records[candidate.name].fail(
                        f"two plugins are named {candidate.name!r}; "
                        f"also found in {candidate.distribution or candidate.location}"
                    )
        self._fail_unspecified(self.records.values())
        self._settle_claims(sorted(self.records.values(), key=_seniority))
        return self._order()

    def add(self, candidate: Candidate) -> PluginRecord:
        """Load a plugin found late (a new file in a plugins directory); start it with ``activate_one``.

        Raises:
            ValueError: a plugin of that name is already known.

        """
        record = self._admit(candidate)
        if record is None:
            raise ValueError(f"a plugin named {candidate.name!r} is already known")
        self._place(record)
        return record

    def reimport(self, name: str) -> PluginRecord:
        """Import plugin ``name`` again (its old version shut down and purged) and register the new hooks.

        On failure the record says why and nothing of the new version stays registered.
        """
        record = self.records[name]
        with self._lock:
            self._unregister(record)
            vars(record).update(vars(PluginRecord(record.candidate)))
        self._load_one(record)
        self._place(record)
        return record

    def snapshot(self, names: Iterable[str]) -> PluginSnapshot:
        """Copy the records of ``names`` and the order, for ``restore``."""
        copies: dict[str, PluginRecord] = {}
        with self._lock:
            for name in names:
                record = self.records[name]
                copies[name] = dataclasses.replace(
                    record, commands=list(record.commands), hooks=list(record.hooks)
                )
            return PluginSnapshot(copies, tuple(self._ordered))

    def restore(self, snapshot: PluginSnapshot) -> None:
        """Put the snapshotted records back and register their plugins again; the caller re-activates them."""
        with self._lock:
            for name, saved in snapshot.records.items():
                record = self.records[name]
                self._unregister(record)
                vars(record).update(vars(dataclasses.replace(saved)))
                plugin = record.plugin
                if plugin is not None and not record.failed and not self.hooks.is_registered(plugin):
                    self._register(plugin, name)
            self._ordered = list(snapshot.order)

    def _admit(self, candidate: Candidate) -> PluginRecord | None:
        """Record ``candidate`` and load it unless it is disabled; None if its name is taken."""
        if candidate.name != canonical_name(candidate.name):
            candidate = dataclasses.replace(candidate, name=canonical_name(candidate.name))
        with self._lock:
            if candidate.name in self.records:
                return None
            record = self.records[candidate.name] = PluginRecord(candidate)
        if self._wanted(candidate.name):
            self._load_one(record)
        else:
            record.state = PluginState.DISABLED
            record.reason = "disabled"
        return record

    def _wanted(self, name: str) -> bool:
        if name == KERNEL_PLUGIN:
            return True  # the kernel's own commands cannot be turned off
        if self._only is not None and name not in self._only:
            return False
        return name not in self._disabled

    def _place(self, record: PluginRecord) -> None:
        """Check a late-loaded plugin's hooks and requirements, and put it last in the order."""
        self._fail_unspecified([record])
        others = sorted((other for other in self.records.values() if other is not record), key=_seniority)
        self._settle_claims([*others, record])  # a newcomer: it yields to every live plugin
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

    def _settle_claims(self, order: list[PluginRecord]) -> None:
        """Give every command path one plugin, the first in ``order`` unless the user pinned another."""
        owners: dict[tuple[str, ...], PluginRecord] = {}
        with self._lock:
            for record in order:
                if record.state in _LIVE and record.name != KERNEL_PLUGIN:
                    self._claim(record, owners)

    def _claim(self, record: PluginRecord, owners: dict[tuple[str, ...], PluginRecord]) -> None:
        for entry in list(record.commands):
            held = next(((at, rival) for at, rival in owners.items() if _overlap(at, entry.path)), None)
            if held is None:
                owners[entry.path] = record
                continue
            path, rival = held
            pinned = self._pinned(path, entry.path)
            if pinned == rival.name:
                record.commands.remove(entry)
            elif pinned == record.name:
                rival.commands = [other for other in rival.commands if other.path != path]
                del owners[path]
                owners[entry.path] = record
            else:
                record.fail(_clash_reason(entry.path, path, rival.name, record.name))
                self._unregister(record)
                for mine in [at for at, owner in owners.items() if owner is record]:
                    del owners[mine]
                return

    def _pinned(self, *paths: tuple[str, ...]) -> str | None:
        """The plugin the user pinned one of ``paths`` to (``plugins.db``), read only when claims clash."""
        if self._pins is None:
            from flext_kernel.errors import FlextError
            from flext_kernel.paths import config_dir
            from flext_kernel.plugins.state import PluginStateStore

            try:
                self._pins = PluginStateStore(config_dir() / "plugins.db").pins()
            except FlextError:
                self._pins = {}  # unreadable: nothing pinned, so nothing installed is replaced
        return next((self._pins[key] for key in map(" ".join, paths) if key in self._pins), None)

    def _load_one(self, record: PluginRecord) -> None:
        before = set(sys.modules)
        try:
            hung = self._hung_imports().reason(record.name, record.candidate.version)
            if hung is not None:
                record.fail(hung)
                return
            self._import_and_register(record, before)
        finally:
            record.modules = _owned_modules(record.candidate, before)

    def _hung_imports(self) -> isolation.HungImports:
        if self._hung is None:
            from flext_kernel.paths import cache_dir

            self._hung = isolation.HungImports(cache_dir() / "plugin-imports.json")
        return self._hung

    def _import_and_register(self, record: PluginRecord, before: set[str]) -> None:
        limit, target = self.import_timeout, record.candidate.target

        def remember() -> None:  # on the watchdog's thread, before the import is interrupted
            files = _files(record.candidate, before)
            reason = f"import did not finish in {limit:g} s"
            self._hung_imports().remember(record.name, record.candidate.version, files, reason)

        try:
            obj = isolation.contained(lambda: _import(target), what="import", limit=limit, on_expiry=remember)
        except isolation.PluginMisbehaved as exc:
            record.fail(str(exc), traceback.format_exc())
            return
        except Exception as exc:
            record.fail(f"import failed: {_one_line(exc)}", traceback.format_exc())
            return
        self._hung_imports().forget(record.name)
        manifest = getattr(obj, "manifest", None)
        if not isinstance(manifest, PluginManifest):
            record.fail(_manifest_problem(record.candidate.target, manifest))
            return
        record.manifest = manifest
        if canonical_name(manifest.name) != record.name:
            record.fail(
                f"manifest name {manifest.name!r} does not match the plugin's name {record.name!r} "
                f"({_found_as(record.candidate)}; names compare lower case, with '-', '_' and '.' alike)"
            )
            return
        gate = _version_gate(manifest, self.kernel_version)
        if gate is not None:
            record.fail(gate)
            return
        if manifest.hookspecs is not None and not self._add_hookspecs(record, manifest.hookspecs):
            return
        if isinstance(obj, type) and issubclass(obj, FlextPlugin):
            made = f"{obj.__name__}()"
            try:
                obj = isolation.contained(obj, what=made)
            except Exception as exc:
                problem = str(exc) if isinstance(exc, isolation.PluginMisbehaved) else _one_line(exc)
                record.fail(f"{made} failed: {problem}", traceback.format_exc())
                return
        with self._lock:
            # An implementation of a hook no plugin has specified yet waits: see _fail_unspecified.
            if not self._register_or_fail(record, obj):
                return
            record.plugin = obj
            record.hooks = sorted(caller.name for caller in self.hooks.get_hookcallers(obj) or [])
            record.state = PluginState.LOADED
        record.commands = list(manifest.commands)
        if "flext_register_commands" in record.hooks:
            registry = CommandRegistry()
            if record.name not in self._call_one(record, "flext_register_commands", {"registry": registry}):
                record.commands.extend(registry.entries)

    def _add_hookspecs(self, record: PluginRecord, path: str) -> bool:
        """Add the hooks ``record``'s plugin defines (parking their implementers); False if it failed."""
        try:
            module = isolation.contained(
                lambda: importlib.import_module(path), what="hookspecs import", limit=self.import_timeout
            )
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
                for parked_record in parked:
                    self._register_or_fail(parked_record, parked_record.plugin)
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

    def _fail_unspecified(self, records: Iterable[PluginRecord]) -> None:
        """Fail each loaded plugin implementing a hook that no plugin specifies (unless ``optionalhook``)."""
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
        """Register services and handlers, then start each plugin, in dependency order."""
        self._kernel = kernel
        with isolation.plugin_code():
            for hook, arguments in _activation_steps(kernel):
                for record in self.active_order():
                    self._call_one(record, hook, arguments)
                    if hook == _STARTUP:
                        self._started(record)

    def activate_one(self, kernel: FlextKernel, name: str) -> bool:
        """Register one loaded plugin's services and handlers and start it; return True if it is active."""
        self._kernel = kernel
        record = self.records[name]
        if record.state is not PluginState.LOADED:
            return False
        with isolation.plugin_code():
            for hook, arguments in _activation_steps(kernel):
                if name in self._call_one(record, hook, arguments):
                    return False
        self._started(record)
        return not record.failed  # active, unless another thread's call failed it meanwhile

    def _started(self, record: PluginRecord) -> None:
        with self._lock:
            if record.state is PluginState.LOADED:  # not failed meanwhile
                record.state = PluginState.ACTIVE

    def shutdown_one(self, kernel: FlextKernel, name: str) -> bool:
        """Call one plugin's ``flext_shutdown``; return False (the plugin marked failed) if it raised.

        Removing its contributions is the caller's job.
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
        """Ask each active plugin's ``flext_health``; a check that raises is a failure in the report."""
        report: dict[str, FlextResult[dict[str, Any]]] = {}
        for record in self.active_order():
            answer = self._health_of(record)
            if answer is not None:
                report[record.name] = answer
        return {name: answer for name, answer in report.items() if not self.records[name].failed}

    def collect(self, hook: str, **arguments: Any) -> list[tuple[str, Any]]:
        """Call ``hook`` once, through pluggy, on every active plugin; return ``(plugin, answer)`` pairs.

        A plugin that raises fails and the hook is called again without it; an exception no plugin
        raised is raised. Thread-safe.
        """
        try:
            while True:
                attempt = self._attempt(hook, self._taking_part(hook), arguments)
                if attempt.error is None:
                    return attempt.pairs()
                if not self._blame(hook, attempt.culprits()):
                    raise attempt.error
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

    def _call_one(
        self,
        record: PluginRecord,
        hook: str,
        arguments: dict[str, Any],
        pending: list[pluggy.HookImpl] | None = None,
    ) -> list[str]:
        """Call ``record``'s implementations of ``hook`` (or ``pending``) in every wrapper; return who failed.

        Only those a failing wrapper kept from running are called again.
        """
        if pending is None:
            pending = self._own_impls(record, hook)
        fallen: list[str] = []
        while pending and record.name not in fallen:
            attempt = self._attempt(hook, [*pending, *self._wrappers(hook)], arguments)
            if attempt.error is None:
                break
            fallen += self._blame(hook, attempt.culprits() or [(record.name, attempt.error)])
            finished = [impl for impl, _ in attempt.answered] + [impl for impl, _ in attempt.raised]
            pending = [impl for impl in pending if impl not in finished]
        self._settle()
        return fallen

    def _health_of(self, record: PluginRecord) -> FlextResult[dict[str, Any]] | None:
        """``record``'s last ``FlextResult`` from ``flext_health``, in every wrapper; None without a check."""
        pending = self._own_impls(record, _HEALTH)
        try:
            while pending:
                attempt = self._attempt(_HEALTH, [*pending, *self._wrappers(_HEALTH)], {})
                if attempt.error is None:
                    found = [answer for answer in attempt.result if isinstance(answer, FlextResult)]
                    return found[-1] if found else None
                culprits = attempt.culprits()
                # Its own check (or its own wrapper) raising is a finding about it, not a failure.
                own = [error for culprit, error in culprits if culprit.plugin_name == record.name]
                self._blame(_HEALTH, [pair for pair in culprits if pair[0].plugin_name != record.name])
                if own or not culprits:
                    return FlextResult.from_exception(own[0] if own else attempt.error, PLUGIN_LOAD_FAILED)
            return None
        finally:
            self._settle()

    def _attempt(self, hook: str, impls: Iterable[pluggy.HookImpl], arguments: dict[str, Any]) -> _Attempt:
        """Call ``impls`` once with pluggy's own call loop, noting which plugin answered or raised what."""
        caller: pluggy.HookCaller | None = getattr(self.hooks.hook, hook, None)
        firstresult = bool(caller is not None and caller.spec and caller.spec.opts.get("firstresult"))
        ordered = self._call_order(impls)
        attempt = _Attempt(wrappers=[impl for impl in ordered if _is_wrapper(impl)])
        calls = [impl if _is_wrapper(impl) else self._stand_in(impl) for impl in ordered]
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
        """The recording stand-in for ``impl``, made on first use, kept until the registrations change."""
        stand_in = self._stand_ins.get(impl)
        if stand_in is None:
            stand_in = self._stand_ins[impl] = _recording(impl)  # a race makes two, both correct
        return stand_in

    def _call_order(self, impls: Iterable[pluggy.HookImpl]) -> list[pluggy.HookImpl]:
        """``impls`` in pluggy's list order (called from the end), plugins of a rank in dependency order."""
        names = dict.fromkeys([*self._ordered, *self.records])  # the dependency order, then load order
        rank = {name: position for position, name in enumerate(names)}
        last = len(rank)

        def key(impl: pluggy.HookImpl) -> tuple[bool, int, int]:
            group = 2 if impl.tryfirst else 0 if impl.trylast else 1
            return _is_wrapper(impl), group, -rank.get(impl.plugin_name, last)

        return sorted(impls, key=key)

    def _impls(self, hook: str) -> list[pluggy.HookImpl]:
        """Every implementation and wrapper of ``hook``: pluggy's copy, which unregistering cannot disturb."""
        caller: pluggy.HookCaller | None = getattr(self.hooks.hook, hook, None)
        return caller.get_hookimpls() if caller is not None else []

    def _taking_part(self, hook: str) -> list[pluggy.HookImpl]:
        """The implementations of ``hook`` whose plugin is loaded or active; stopped ones sit out."""
        return [impl for impl in self._impls(hook) if self._live(impl.plugin_name)]

    def _wrappers(self, hook: str) -> list[pluggy.HookImpl]:
        return [impl for impl in self._taking_part(hook) if _is_wrapper(impl)]

    def _own_impls(self, record: PluginRecord, hook: str) -> list[pluggy.HookImpl]:
        return [
            impl for impl in self._impls(hook) if impl.plugin_name == record.name and not _is_wrapper(impl)
        ]

    def _live(self, name: str) -> bool:
        record = self.records.get(name)
        return record is not None and record.state in _LIVE

    def _blame(self, hook: str, culprits: Iterable[tuple[pluggy.HookImpl | str, Exception]]) -> list[str]:
        """Fail each culprit's plugin for its exception; return their names."""
        return [self._fail(culprit, hook, error) for culprit, error in culprits]

    def _fail(self, culprit: pluggy.HookImpl | str, hook: str, error: Exception) -> str:
        """Mark ``culprit``'s plugin failed and unregister it, once; queue its clean-up for ``_settle``."""
        name = culprit if isinstance(culprit, str) else culprit.plugin_name
        what = f"{hook} wrapper" if not isinstance(culprit, str) and _is_wrapper(culprit) else hook
        with self._lock:
            record = self.records[name]
            if record.failed:
                return name  # failed already: the first reason stays
            # Started, and not failing in (or during) its own shutdown: it may hold resources.
            started = record.state is PluginState.ACTIVE and name not in self._stopping
            stop = self._own_impls(record, _SHUTDOWN) if started else []
            misbehaved = isinstance(error, isolation.PluginMisbehaved)
            reason = str(error) if misbehaved else f"{what} raised {_one_line(error)}"
            record.fail(reason, "".join(traceback.format_exception(error)))
            self._unregister(record)
            self._fallen.append((record, stop))
        return name

    def _settle(self) -> None:
        """Shut down the plugins failed since (if started) and hand each to ``on_fail``, once no hook runs.

        Runs plugin code, so never under the lock.
        """
        if _ATTEMPT.get(None) is not None:
            return
        while True:
            with self._lock:
                if not self._fallen:
                    return
                record, stop = self._fallen.popleft()
            if stop and self._kernel is not None:
                self._call_one(record, _SHUTDOWN, {"kernel": self._kernel}, stop)
            if self.on_fail is not None:
                self.on_fail(record.name)

    def _register(self, plugin: object, name: str) -> None:
        """Register ``plugin`` with pluggy (which is not thread-safe) and forget the stand-ins."""
        with self._lock:
            self.hooks.register(plugin, name=name)
            self._stand_ins.clear()

    def _register_or_fail(self, record: PluginRecord, plugin: object) -> bool:
        """Register ``plugin`` as ``record``'s; if pluggy refuses its hooks, fail it, registering nothing."""
        try:
            self._register(plugin, record.name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            if self.hooks.is_registered(plugin):
                self.hooks.unregister(plugin)
            record.fail(f"invalid hooks: {exc}")
            return False
        return True

    def _unregister(self, record: PluginRecord) -> None:
        with self._lock:
            if record.plugin is not None and self.hooks.is_registered(record.plugin):
                self.hooks.unregister(record.plugin)
                self._stand_ins.clear()


class _Names(dict[str, PluginRecord]):
    """Records by canonical name; a lookup by any spelling of a name (``plugin_cmd``) finds it."""

    def __getitem__(self, name: str) -> PluginRecord:
        found = dict.get(self, name)
        return found if found is not None else dict.__getitem__(self, canonical_name(name))

    def get(self, name: str, default: Any = None) -> Any:  # dict.get, any spelling
        found = dict.get(self, name)
        return found if found is not None else dict.get(self, canonical_name(name), default)

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (
            isinstance(name, str) and dict.__contains__(self, canonical_name(name))
        )


def _seniority(record: PluginRecord) -> tuple[bool, str]:
    """Installed plugins (entry points) before local ones (plugin directories), then by name."""
    return record.candidate.source == "directory", record.name


def _overlap(held: tuple[str, ...], claimed: tuple[str, ...]) -> bool:
    """True if the two paths are one command, or one is a group holding the other."""
    shorter = min(len(held), len(claimed))
    return held[:shorter] == claimed[:shorter]


def _clash_reason(claimed: tuple[str, ...], held: tuple[str, ...], owner: str, name: str) -> str:
    what = "is" if claimed == held else f"overlaps 'flext {' '.join(held)}', which is"
    command = " ".join(claimed)
    return (
        f"its command 'flext {command}' {what} plugin {owner!r}'s; "
        f"to use this plugin's instead: flext plugin pin '{command}' {name}"
    )


def _manifest_problem(target: str, manifest: object) -> str:
    if manifest is None:
        return f"{target} has no 'manifest'; add one: manifest = PluginManifest(name=..., version=...)"
    kind = type(manifest).__name__
    return f"{target}: manifest must be a PluginManifest, got {kind}; build it with PluginManifest(...)"


def _found_as(candidate: Candidate) -> str:
    if candidate.source == "directory":
        return f"from the file {Path(candidate.location or candidate.target).name}"
    if candidate.source == "entry-point":
        return "from its entry point"
    return "as given"


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
        """Who made the call raise ``error``, each with its own exception; empty if nobody can be told."""
        error = self.error
        if error is None or isinstance(error, pluggy.HookCallError):
            return []
        culprits = list(self.raised)
        if not any(link is raised for link in _chain(error) for _, raised in self.raised):
            wrapper = _raising_wrapper(error, self.wrappers)
            if wrapper is not None:
                culprits.append((wrapper, error))
        return culprits

    def pairs(self) -> list[tuple[str, Any]]:
        """Each answer with the plugin that gave it (see docs/plugins/hooks.md for a wrapper's answers)."""
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


_ATTEMPT: Final[contextvars.ContextVar[_Attempt]] = contextvars.ContextVar("flext_attempt")
"""The attempt the stand-ins of the current thread's (and nested) call report to."""


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    return bool(impl.wrapper or impl.hookwrapper)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, then what it was raised from or while handling, and so on (each once)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _recording(impl: pluggy.HookImpl) -> pluggy.HookImpl:
    """A stand-in for ``impl`` (same argument names) noting its answer or exception in the current attempt."""
    function = impl.function

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            answer = function(*args, **kwargs)
        except Exception as exc:
            _ATTEMPT.get().raised.append((impl, exc))
            raise
        except BaseException as exc:  # exit, interrupt, time limit; the user's Ctrl-C is raised again
            failure = isolation.misbehaved(exc, impl.opts.get("specname") or function.__name__)
            _ATTEMPT.get().raised.append((impl, failure))
            raise failure from exc
        _ATTEMPT.get().answered.append((impl, answer))
        return answer

    return pluggy.HookImpl(impl.plugin, impl.plugin_name, call, impl.opts)


def _raising_wrapper(error: BaseException, wrappers: list[pluggy.HookImpl]) -> pluggy.HookImpl | None:
    """The wrapper that raised ``error`` (or an exception in its chain), found in its traceback."""
    for current in _chain(error):
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
    return None


def _in_pluggy(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(_PLUGGY_DIR)


def _runs(frame: FrameType | None, code: CodeType, function: Callable[..., object]) -> bool:
    """True if ``code`` (run by ``frame``, if known) is ``function``'s, for a method on the same instance."""
    if code is not getattr(getattr(function, "__func__", function), "__code__", None):
        return False
    owner = getattr(function, "__self__", None)
    return owner is None or frame is None or frame.f_locals.get(code.co_varnames[0]) is owner


def _activation_steps(kernel: FlextKernel) -> list[tuple[str, dict[str, Any]]]:
    buses = {"command_bus": kernel.command_bus, "query_bus": kernel.query_bus, "event_bus": kernel.event_bus}
    return [
        ("flext_register_services", {"container": kernel.container}),
        ("flext_register_handlers", buses),
        (_STARTUP, {"kernel": kernel}),
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


def _files(candidate: Candidate, before: set[str]) -> dict[str, int]:
    """The modification times of the files a plugin's import has loaded so far (its own modules)."""
    paths = [getattr(sys.modules.get(name), "__file__", None) for name in _owned_modules(candidate, before)]
    paths.append(candidate.location)
    stamps = {}
    for path in paths:
        with contextlib.suppress(OSError, TypeError):
            stamps[os.path.abspath(path)] = os.stat(path).st_mtime_ns  # type: ignore[arg-type]  # None: TypeError
    return stamps


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
    """True if ``supported`` is ``>=X.Y...`` and release ``kernel_version`` meets it; False: ask packaging."""
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
