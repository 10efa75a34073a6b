"""PluginContract: the tests every FLEXT plugin passes, shipped as a class to subclass.

A plugin author writes::

    class TestMyPlugin(PluginContract):
        plugin = "my_pkg.plugin:MyPlugin"

and gets, for free, the checks the kernel relies on: a valid manifest, hooks
the kernel knows, command targets that import, a clean start in a kernel of
its own, a healthy report, a clean stop, and nothing left behind when the
plugin is unloaded. First-party plugins use it exactly as third parties do.
Each failure says what is wrong and how to fix it. Tests that cannot run
because an earlier step failed (a plugin that does not import has no hooks to
check) are skipped with the reason, so the failing test is the one to read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NoReturn

import pytest

from flext_sdk.testing._checks import command_problems, declared_commands, hook_problems, manifest_problems
from flext_sdk.testing._kernels import FlextKernelFactory, isolate_home
from flext_sdk.testing._registrations import Registration, kernel_registrations, recording
from flext_sdk.testing._resolve import (
    PluginImportError,
    PluginSpec,
    describe_spec,
    guess_name,
    hook_object,
    load_spec,
    manifest_of,
)

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.manager import PluginRecord
    from flext_kernel.plugins.manifest import PluginManifest

__all__ = ["BootedPlugin", "PluginContract"]


@dataclass(frozen=True, slots=True)
class BootedPlugin:
    """The plugin under test, booted alone (with its ``required_plugins``) in a fresh kernel."""

    name: str
    """The plugin's name (its manifest's, or a guess if it does not import)."""
    kernel: FlextKernel
    """The kernel; closed at teardown if the test did not close it."""
    registrations: tuple[tuple[str, Registration], ...]
    """Every registration plugins made on the kernel while it booted, with where it was made."""

    @property
    def record(self) -> PluginRecord:
        """The kernel's record of the plugin: state, reason, traceback."""
        return self.kernel.plugins.records[self.name]


def _fail(message: str) -> NoReturn:
    __tracebackhide__ = True  # the message is the report; the contract's frames add nothing
    pytest.fail(message, pytrace=False)


class PluginContract:
    """Subclass as ``Test<Something>`` and set ``plugin``; every ``test_*`` here then runs for it.

    ``plugin`` is an import target (``"my_pkg.plugin"`` or
    ``"my_pkg.plugin:MyPlugin"``, as in the entry point) or the object itself
    (a module, a ``FlextPlugin`` subclass, an object with a ``manifest``). A
    plugin that requires others lists them in ``required_plugins`` the same
    way. Override a test to add set-up it needs (a database for its health
    check, say), or to skip it with a reason.
    """

    plugin: ClassVar[PluginSpec]
    """The plugin under test; required."""
    required_plugins: ClassVar[tuple[PluginSpec, ...]] = ()
    """Plugins loaded alongside it: those its manifest ``requires``."""
    optional_plugins: ClassVar[tuple[PluginSpec, ...]] = ()
    """Plugins whose hooks it implements with ``optionalhook=True`` without requiring them; their
    hookspecs are checked (so a typo is still caught), but they are not loaded."""

    # Helpers.

    def _spec(self) -> PluginSpec:
        spec = getattr(type(self), "plugin", None)
        if spec is None:
            _fail(
                f"{type(self).__name__} does not say which plugin to test; "
                'set plugin = "my_pkg.plugin:MyPlugin" (or the plugin object) on the class'
            )
        return spec

    def _load(self, *, skip: bool) -> tuple[object, PluginManifest]:
        """Import the plugin and read its manifest; fail, or skip (for later tests), if that fails."""
        __tracebackhide__ = True
        try:
            obj = load_spec(self._spec())
            return obj, manifest_of(obj)
        except PluginImportError as exc:
            problem = str(exc)  # reported outside the handler, so pytest shows no exception chain
        if skip:
            pytest.skip(f"the plugin does not import (test_manifest_is_valid says why): {problem}")
        _fail(problem)

    @staticmethod
    def _require_active(booted: BootedPlugin) -> None:
        __tracebackhide__ = True
        if booted.record.state.value != "active":
            pytest.skip(
                f"plugin {booted.name!r} did not activate (test_plugin_activates_in_an_isolated_kernel "
                f"says why): {booted.record.reason}"
            )

    @pytest.fixture
    def booted_plugin(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BootedPlugin]:
        """The plugin booted in a fresh kernel with a temporary ``FLEXT_HOME``, closed afterwards."""
        from flext_kernel.kernel import FlextKernel

        isolate_home(monkeypatch, tmp_path / "flext-home")
        spec = self._spec()
        try:
            name = manifest_of(load_spec(spec)).name
        except PluginImportError:
            name = guess_name(spec)
        factory = FlextKernelFactory()
        try:
            with recording() as made:
                # What a kernel registers by itself, so that it is not blamed on the plugin.
                baseline = FlextKernel()
                kernel = factory(*self.required_plugins, spec, strict=False)
            own = kernel_registrations(baseline, made)
            registrations = tuple(
                (where, entry)
                for where, entry in kernel_registrations(kernel, made)
                if not any(w == where and e.method == entry.method and e.key is entry.key for w, e in own)
            )
            baseline.close()
            yield BootedPlugin(name, kernel, registrations)
        finally:
            factory.close()

    # The contract.

    def test_manifest_is_valid(self) -> None:
        """The plugin imports and its ``manifest`` is a valid ``PluginManifest`` the kernel accepts."""
        _, manifest = self._load(skip=False)
        problems = manifest_problems(manifest)
        if problems:
            _fail(f"the manifest of plugin {manifest.name!r} has problems:\n- " + "\n- ".join(problems))

    def test_hooks_match_the_kernel_hookspecs(self) -> None:
        """Every hook implementation names a kernel hook and takes only that hook's arguments."""
        obj, manifest = self._load(skip=True)
        optional = self._manifests(self.optional_plugins)
        problems = hook_problems(hook_object(obj), [manifest, *self._required_manifests(), *optional])
        if problems:
            _fail(
                f"the hooks of plugin {manifest.name!r} ({describe_spec(obj)}) do not match the kernel's "
                "hookspecs and those of the plugins it requires:\n- " + "\n- ".join(problems)
            )

    def test_command_targets_import(self) -> None:
        """Every command target, declared in the manifest or by ``flext_register_commands``, imports."""
        obj, manifest = self._load(skip=True)
        commands, problems = declared_commands(hook_object(obj), manifest)
        problems += command_problems(commands)
        if problems:
            _fail(f"commands of plugin {manifest.name!r} are broken:\n- " + "\n- ".join(problems))

    def test_plugin_activates_in_an_isolated_kernel(self, booted_plugin: BootedPlugin) -> None:
        """The plugin loads, registers its services and handlers, and starts, alone in a kernel."""
        record = booted_plugin.record
        if record.state.value == "active":
            return
        hint = ""
        if (record.reason or "").startswith("requires plugin"):
            hint = "\nList the plugins it requires in required_plugins on the test class."
        detail = f"\n\n{record.detail.rstrip()}" if record.detail else ""
        _fail(
            f"plugin {booted_plugin.name!r} did not activate in an isolated kernel; it is "
            f"{record.state.value}: {record.reason}{hint}{detail}"
        )

    def test_health_reports_success(self, booted_plugin: BootedPlugin) -> None:
        """``flext_health`` answers ``FlextResult.ok({...details})`` in a freshly started kernel."""
        self._require_active(booted_plugin)
        answer = booted_plugin.kernel.plugins.health().get(booted_plugin.name)
        if answer is None:
            pytest.skip(f"plugin {booted_plugin.name!r} implements no flext_health hook")
        if answer.is_failure:
            _fail(
                f"flext_health of plugin {booted_plugin.name!r} reports a failure right after start-up: "
                f"{answer.error} ({answer.error_code}). Return FlextResult.ok({{...details}}) when the "
                "plugin works; if it needs an outside service, provide one in this test class by "
                "overriding test_health_reports_success"
            )
        if not isinstance(answer.value, dict):
            _fail(
                f"flext_health of plugin {booted_plugin.name!r} succeeded with a "
                f"{type(answer.value).__name__}; the details must be a dict, e.g. {{'status': 'ok'}}"
            )

    def test_close_stops_the_plugin(self, booted_plugin: BootedPlugin) -> None:
        """Closing the kernel runs ``flext_shutdown`` cleanly and leaves the plugin STOPPED."""
        self._require_active(booted_plugin)
        try:
            booted_plugin.kernel.close()
        except Exception as exc:
            raise AssertionError(
                f"closing a kernel holding plugin {booted_plugin.name!r} raised {type(exc).__name__}: {exc}"
            ) from exc
        record = booted_plugin.record
        if record.state.value != "stopped":
            detail = f"\n\n{record.detail.rstrip()}" if record.detail else ""
            _fail(
                f"closing the kernel did not stop plugin {booted_plugin.name!r}; it is {record.state.value}: "
                f"{record.reason}. flext_shutdown (FlextPlugin.shutdown) must release what start-up "
                f"acquired and return FlextResult.ok(None) instead of raising or failing{detail}"
            )

    def test_registrations_are_owned_and_released(self, booted_plugin: BootedPlugin) -> None:
        """Everything the plugin registered carries ``owner=<its name>`` and is gone once it is unloaded."""
        self._require_active(booted_plugin)
        kernel, name = booted_plugin.kernel, booted_plugin.name
        allowed = {name} | self._required_names()
        unowned = [
            f"{entry.describe(where)} with owner={entry.owner!r}"
            for where, entry in booted_plugin.registrations
            if entry.owner not in allowed
        ]
        if unowned:
            _fail(
                f"plugin {name!r} registered these without owner={name!r}, so unloading or reloading it "
                "would leave them behind:\n- " + "\n- ".join(unowned) + f"\nPass owner={name!r} to every "
                "register, register_singleton, register_factory, register_scoped, subscribe and use call"
            )
        kernel.close()  # removes each plugin's owned registrations after its shutdown
        left = [
            entry.describe(where)
            for where, entry in booted_plugin.registrations
            if entry.owner == name and _still_registered(kernel, where, entry)
        ]
        if left:
            _fail(
                f"after closing the kernel and unloading plugin {name!r}, these are still registered:\n- "
                + "\n- ".join(left)
            )

    def _required_manifests(self) -> list[PluginManifest]:
        return self._manifests(self.required_plugins)

    @staticmethod
    def _manifests(specs: tuple[PluginSpec, ...]) -> list[PluginManifest]:
        found: list[PluginManifest] = []
        for spec in specs:
            try:
                found.append(manifest_of(load_spec(spec)))
            except PluginImportError:
                continue
        return found

    def _required_names(self) -> set[str]:
        return {manifest.name for manifest in self._required_manifests()}


def _still_registered(kernel: FlextKernel, where: str, entry: Registration) -> bool:
    """Whether a container key or a command/query handler is still there (subscriptions go by owner)."""
    if where == "container":
        return entry.key in kernel.container
    if entry.method == "register" and where in ("command_bus", "query_bus"):
        bus = kernel.command_bus if where == "command_bus" else kernel.query_bus
        return bus.has_handler(entry.key)  # type: ignore[arg-type]  # recorded from a register(type, ...) call
    return False
