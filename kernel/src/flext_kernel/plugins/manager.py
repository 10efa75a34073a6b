"""PluginManager: import, gate, order and run plugins, isolating each one's failures.

pluggy holds the hook implementations and checks them against the specs; the
manager decides the order (a plugin after the plugins it requires) and calls
each plugin's hooks one plugin at a time, so that a plugin that raises is
marked failed with its reason while every other plugin keeps working.

For hot reload (``flext_kernel.plugins.reload``) the manager also remembers
which modules each plugin imported, runs one plugin's lifecycle on its own
(``activate_one``, ``shutdown_one``), imports a plugin again
(``reimport``), and snapshots and restores records for rollbacks.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pluggy
import pydantic

from flext_kernel.plugins import hookspecs
from flext_kernel.plugins.base import FlextPlugin, PluginState
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
from flext_kernel.plugins.registry import CommandRegistry
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["KERNEL_PLUGIN", "PLUGIN_LOAD_FAILED", "PluginManager", "PluginRecord", "PluginSnapshot"]

PLUGIN_LOAD_FAILED: Final = "PLUGIN_LOAD_FAILED"
"""A plugin could not be imported, failed its version gate, or raised in a hook."""
KERNEL_PLUGIN: Final = "kernel"
"""The kernel's own plugin (its CLI commands): always loaded, never disabled or reloaded."""
_SHARED_ROOTS: Final = frozenset({"__main__", "builtins", "flext_kernel", "flext_sdk"})


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
        """The pluggy manager; ``hooks.hook.<name>(...)`` broadcasts to every loaded plugin."""
        self.hooks.add_hookspecs(hookspecs)
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
        self._place(record)
        return record

    def _place(self, record: PluginRecord) -> None:
        """Check a late-loaded plugin's requirements and put it last in the order."""
        if record.state is not PluginState.LOADED:
            return
        assert record.manifest is not None  # loaded records have one
        live = (PluginState.LOADED, PluginState.ACTIVE)
        for required in record.manifest.requires:
            dependency = self.records.get(required)
            if dependency is None or dependency.state not in live:
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
        if isinstance(obj, type) and issubclass(obj, FlextPlugin):
            obj = obj()
        try:
            self.hooks.register(obj, name=record.name)
            self.hooks.check_pending()
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
        live = (PluginState.LOADED, PluginState.ACTIVE)
        return [self.records[name] for name in self._ordered if self.records[name].state in live]

    def activate(self, kernel: FlextKernel) -> None:
        """Register services and handlers, then start each plugin, in dependency order."""
        for hook, arguments in _activation_steps(kernel):
            for record in self.active_order():
                if not self._call(record, hook, **arguments()):
                    kernel.remove_contributions(record.name)
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
            if not self._call(record, hook, **arguments()):
                kernel.remove_contributions(name)
                return False
        record.state = PluginState.ACTIVE
        return True

    def shutdown(self, kernel: FlextKernel) -> None:
        """Call ``flext_shutdown`` in reverse dependency order; failures are recorded, not raised."""
        for record in reversed(self.active_order()):
            self.shutdown_one(kernel, record.name)

    def shutdown_one(self, kernel: FlextKernel, name: str) -> bool:
        """Call one plugin's ``flext_shutdown``; return False (the plugin marked failed) if it raised."""
        record = self.records[name]
        if not self._call(record, "flext_shutdown", kernel=kernel):
            return False
        record.state = PluginState.STOPPED
        return True

    def health(self) -> dict[str, FlextResult[dict[str, Any]]]:
        """Ask every active plugin that implements ``flext_health``."""
        report: dict[str, FlextResult[dict[str, Any]]] = {}
        for record in self.active_order():
            for impl in self._impls(record, "flext_health"):
                try:
                    answer = impl.function()
                except Exception as exc:
                    answer = FlextResult.from_exception(exc, PLUGIN_LOAD_FAILED)
                if isinstance(answer, FlextResult):
                    report[record.name] = answer
        return report

    def collect(self, hook: str, **arguments: Any) -> list[tuple[str, Any]]:
        """Call ``hook`` on every active plugin, in dependency order; return ``(plugin, answer)`` pairs.

        For hooks that answer something (backends, projections). A plugin that
        raises is marked failed and left out; the others still answer.
        """
        answers: list[tuple[str, Any]] = []
        for record in self.active_order():
            for impl in self._impls(record, hook):
                try:
                    answer = impl.function(*[arguments[name] for name in impl.argnames])
                except Exception as exc:
                    record.fail(f"{hook} raised {type(exc).__name__}: {exc}", traceback.format_exc())
                    self._unregister(record)
                    break
                if answer is not None:
                    answers.append((record.name, answer))
        return answers

    def unregister(self, name: str) -> None:
        """Take a plugin out of pluggy (its container and bus contributions are the kernel's job)."""
        record = self.records.get(name)
        if record is not None:
            self._unregister(record)

    def failures(self) -> list[PluginRecord]:
        """The plugins that failed, for ``flext doctor`` and ``FLEXT_STRICT_PLUGINS``."""
        return [r for r in self.records.values() if r.state is PluginState.FAILED]

    def _impls(self, record: PluginRecord, hook: str) -> list[pluggy.HookImpl]:
        caller = getattr(self.hooks.hook, hook)
        return [impl for impl in caller.get_hookimpls() if impl.plugin_name == record.name]

    def _call(self, record: PluginRecord, hook: str, **arguments: Any) -> bool:
        """Call one plugin's implementation of ``hook``; on an exception mark it failed."""
        for impl in self._impls(record, hook):
            try:
                impl.function(*[arguments[name] for name in impl.argnames])
            except Exception as exc:
                record.fail(f"{hook} raised {type(exc).__name__}: {exc}", traceback.format_exc())
                self._unregister(record)
                return False
        return True

    def _unregister(self, record: PluginRecord) -> None:
        if record.plugin is not None and self.hooks.is_registered(record.plugin):
            self.hooks.unregister(record.plugin)


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
