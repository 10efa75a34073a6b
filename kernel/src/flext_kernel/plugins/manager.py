"""PluginManager: import, gate, order and run plugins, isolating each one's failures.

pluggy holds the hook implementations and checks them against the specs; the
manager decides the order (a plugin after the plugins it requires) and calls
each plugin's hooks one plugin at a time, so that a plugin that raises is
marked failed with its reason while every other plugin keeps working.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pluggy

from flext_kernel.plugins import hookspecs
from flext_kernel.plugins.base import FlextPlugin, PluginState
from flext_kernel.plugins.discovery import Candidate
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
from flext_kernel.plugins.registry import CommandRegistry
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["PLUGIN_LOAD_FAILED", "PluginManager", "PluginRecord"]

PLUGIN_LOAD_FAILED: Final = "PLUGIN_LOAD_FAILED"
"""A plugin could not be imported, failed its version gate, or raised in a hook."""


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

    @property
    def name(self) -> str:
        """The plugin's name."""
        return self.candidate.name

    @property
    def failed(self) -> bool:
        """True once loading or a hook failed (a method, so type narrowing does not go stale)."""
        return self.state is PluginState.FAILED

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
            "version": manifest.version if manifest else self.candidate.version,
            "state": self.state.value,
            "source": self.candidate.source,
            "distribution": self.candidate.distribution,
            "description": manifest.description if manifest else "",
            "requires": list(manifest.requires) if manifest else [],
            "commands": [entry.name for entry in self.commands],
            "hooks": self.hooks,
            "reason": self.reason,
        }


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
        if name == "kernel":
            return True  # the kernel's own commands cannot be turned off
        if self._only is not None and name not in self._only:
            return False
        return name not in self._disabled

    def _load_one(self, record: PluginRecord) -> None:
        try:
            obj = _import(record.candidate.target)
        except Exception as exc:
            record.fail(f"import failed: {type(exc).__name__}: {exc}", traceback.format_exc())
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
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
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
        for hook, arguments in steps:
            for record in self.active_order():
                if not self._call(record, hook, **arguments()):
                    kernel.remove_contributions(record.name)
        for record in self.active_order():
            record.state = PluginState.ACTIVE

    def shutdown(self, kernel: FlextKernel) -> None:
        """Call ``flext_shutdown`` in reverse dependency order; failures are recorded, not raised."""
        for record in reversed(self.active_order()):
            if self._call(record, "flext_shutdown", kernel=kernel):
                record.state = PluginState.STOPPED

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
