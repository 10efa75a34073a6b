"""The pieces behind PluginContract, tested directly: target resolution, checks, the registration recorder."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
from flext_kernel.container import FlextContainer
from flext_sdk import FlextCommand, FlextDomainEvent, FlextKernel, FlextResult, PluginManifest, hookimpl
from flext_sdk.testing._checks import hook_problems, manifest_problems
from flext_sdk.testing._registrations import kernel_registrations, recording
from flext_sdk.testing._resolve import PluginImportError, import_target, parked_target

TARGET = re.compile(r"^[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?$")


@settings(max_examples=200)
@given(st.text(max_size=30).filter(lambda text: not TARGET.match(text)))
def test_malformed_targets_are_refused_before_any_import(text: str) -> None:
    with pytest.raises(PluginImportError, match=r"must look like 'package\.module'"):
        import_target(text)


def test_missing_attribute_names_the_part_after_the_colon() -> None:
    with pytest.raises(PluginImportError) as caught:
        import_target("json:nope", what="command target")
    assert str(caught.value) == (
        "command target 'json:nope': module 'json' has no attribute 'nope'; fix the part after ':'"
    )


def test_parked_objects_are_importable_only_inside_the_block() -> None:
    class Local:
        manifest = PluginManifest(name="local")

    plugin = Local()
    with parked_target(plugin) as target:
        assert import_target(target) is plugin
    with pytest.raises(PluginImportError, match="no module named"):
        import_target(target)


def test_an_importable_class_keeps_its_own_target() -> None:
    with parked_target(FlextContainer) as target:
        assert target == "flext_kernel.container:FlextContainer"


def test_a_manifest_that_skipped_validation_is_caught() -> None:
    # model_construct skips validation; the kernel would still accept the object.
    manifest = PluginManifest.model_construct(name="Not Valid", kernel=">=0.1", requires=(), commands=())
    problems = manifest_problems(manifest)
    assert len(problems) == 1
    assert problems[0].startswith("the manifest does not validate as a PluginManifest")


def test_manifest_requirements_are_checked() -> None:
    problems = manifest_problems(PluginManifest(name="loop", requires=("loop", "Not A Name"), kernel="~~1"))
    assert "the plugin requires itself ('loop')" in problems[1]
    assert "requires names 'Not A Name'" in problems[2]
    assert "is not a PEP 440 version specifier" in problems[0]
    assert "reserved" in manifest_problems(PluginManifest(name="kernel"))[0]


def test_hook_problems_accepts_a_correct_plugin_and_specname() -> None:
    class Fine:
        manifest = PluginManifest(name="fine")

        @hookimpl(specname="flext_health")
        def report(self) -> FlextResult[dict[str, str]]:
            return FlextResult.ok({})

        def flext_helper_value(self) -> None:  # pragma: no cover - never called
            """A flext_ method without a marker is reported even if it is not meant as a hook."""

    problems = hook_problems(Fine())
    assert len(problems) == 1, problems  # the specname implementation is accepted
    assert problems[0].startswith(
        "'flext_helper_value' looks like a hook but the kernel has no hook of that name"
    )
    assert "it has no @hookimpl marker, so nothing calls it; rename it to one of: " in problems[0]
    assert "flext_health, " in problems[0]


def test_hook_problems_reports_a_misnamed_specname() -> None:
    class Wrong:
        @hookimpl(specname="flext_healht")
        def report(self) -> None:
            return None

    assert (
        "'report' is marked @hookimpl but the kernel has no hook named 'flext_healht'"
        in (hook_problems(Wrong())[0])
    )


# The registration recorder.


class Ping(FlextCommand):
    text: str


class Ask(FlextCommand):
    text: str


class Happened(FlextDomainEvent):
    text: str


class Service:
    pass


class Other:
    pass


def _register(kernel: FlextKernel, operation: str, owner: str | None) -> tuple[str, str, object]:
    if operation == "service":
        kernel.container.register_singleton(Service, owner=owner)
        return ("container", "register_singleton", Service)
    if operation == "instance":
        kernel.container.register(Other, Other(), owner=owner)
        return ("container", "register", Other)
    if operation == "command":
        kernel.command_bus.register(Ping, lambda c: FlextResult.ok(None), owner=owner)
        return ("command_bus", "register", Ping)
    if operation == "query":
        kernel.command_bus.register(Ask, lambda c: FlextResult.ok(None), owner=owner)
        return ("command_bus", "register", Ask)
    kernel.event_bus.subscribe(Happened, lambda e: None, owner=owner)
    return ("event_bus", "subscribe", Happened)


OPERATIONS = st.lists(st.sampled_from(["service", "instance", "command", "query", "event"]), unique=True)
OWNERS = st.one_of(st.none(), st.sampled_from(["alpha", "beta"]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["service", "instance", "command", "query", "event"]), OWNERS)))
def test_recording_sees_exactly_the_registrations_made(operations: list[tuple[str, str | None]]) -> None:
    unique = list(dict(operations).items())  # one registration per key, as the buses and container demand
    with recording() as made:
        baseline = FlextKernel()
        kernel = FlextKernel()
        expected = [(*_register(kernel, operation, owner), owner) for operation, owner in unique]
        FlextContainer().register(Service, Service())  # another container: not the kernel's
    mine = kernel_registrations(kernel, made)
    kernel_own = len(kernel_registrations(baseline, made))
    seen = [(where, entry.method, entry.key, entry.owner) for where, entry in mine[kernel_own:]]
    assert seen == expected


def test_recording_restores_the_classes_even_when_the_block_raises() -> None:
    classes = (FlextContainer, FlextCommandBus, FlextQueryBus, FlextEventBus)
    before = [dict(vars(cls)) for cls in classes]

    def boom() -> None:
        with recording():
            assert "use" in vars(FlextCommandBus)  # the spy shadows the inherited method
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        boom()
    assert [dict(vars(cls)) for cls in classes] == before
    assert "use" not in vars(FlextCommandBus)


def test_a_failed_registration_is_not_recorded() -> None:
    with recording() as made:
        container = FlextContainer()
        container.register(Service, Service(), owner="x")
        with pytest.raises(Exception, match="already registered"):
            container.register(Service, Service(), owner="y")
    assert [entry.owner for entry in made] == ["x"]
