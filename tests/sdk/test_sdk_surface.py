"""The SDK re-exports the kernel's objects themselves, not copies, and its surface is pinned."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import flext_sdk
import flext_sdk.testing

# Where each SDK name really lives: a plugin written against the SDK must get
# the very object the kernel uses (an isinstance check or a hook marker from a
# copy would silently not match).
HOMES = {
    "FlextAggregateRoot": "flext_eventsourcing.aggregate",
    "when": "flext_eventsourcing.aggregate",
    "FlextEventStore": "flext_eventsourcing.eventstore",
    "RecordedEvent": "flext_eventsourcing.eventstore",
    "NO_STREAM": "flext_eventsourcing.eventstore",
    "ANY": "flext_eventsourcing.eventstore",
    "STREAM_EXISTS": "flext_eventsourcing.eventstore",
    "AggregateRepository": "flext_eventsourcing.repository",
    "FlextProjection": "flext_eventsourcing.projection",
    "Projection": "flext_eventsourcing.projection",
    "ReadModel": "flext_eventsourcing.projection",
    "ProjectionRunner": "flext_eventsourcing.projection_runner",
    "CommandEntry": "flext_kernel.plugins.manifest",
    "GroupEntry": "flext_kernel.plugins.manifest",
    "CommandRegistry": "flext_kernel.plugins.registry",
    "Failure": "flext_kernel.result",
    "FlextCommand": "flext_kernel.messages",
    "FlextCommandBus": "flext_kernel.bus",
    "FlextContainer": "flext_kernel.container",
    "FlextDomainEvent": "flext_kernel.messages",
    "FlextEventBus": "flext_kernel.bus",
    "FlextKernel": "flext_kernel.kernel",
    "FlextPlugin": "flext_kernel.plugins.base",
    "FlextQuery": "flext_kernel.messages",
    "FlextQueryBus": "flext_kernel.bus",
    "FlextResult": "flext_kernel.result",
    "PluginManifest": "flext_kernel.plugins.manifest",
    "PluginState": "flext_kernel.plugins.base",
    "Success": "flext_kernel.result",
    "command_handler": "flext_kernel.handlers",
    "event_handler": "flext_kernel.handlers",
    "hookimpl": "flext_kernel.plugins.hookspecs",
    "query_handler": "flext_kernel.handlers",
    "safe": "flext_kernel.result",
    "causation_scope": "flext_kernel.correlation",
    "correlation_scope": "flext_kernel.correlation",
    "current_correlation_id": "flext_kernel.correlation",
    "in_current_context": "flext_kernel.correlation",
    "new_correlation_id": "flext_kernel.correlation",
}


def test_sdk_surface_is_pinned() -> None:
    assert set(flext_sdk.__all__) == set(HOMES)


def test_sdk_names_are_the_kernel_objects() -> None:
    # In a fresh interpreter: the hot-reload tests replace first-party modules in this one, so an
    # object the SDK handed out before a reload is (rightly) not the reloaded module's.
    code = (
        "import importlib, json, sys, flext_sdk\n"
        "homes = json.loads(sys.argv[1])\n"
        "print(json.dumps(sorted(n for n, m in homes.items()"
        " if getattr(flext_sdk, n) is not getattr(importlib.import_module(m), n))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(HOMES)], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []


def test_kernel_top_level_names_agree_with_the_sdk() -> None:
    import flext_kernel

    for name in flext_sdk.__all__:
        if name in flext_kernel.__all__:
            assert getattr(flext_sdk, name) is getattr(flext_kernel, name), name


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'FlextNothing'"):
        _ = flext_sdk.FlextNothing  # type: ignore[attr-defined]
    assert dir(flext_sdk) == sorted(flext_sdk.__all__)


def test_importing_the_sdk_loads_no_plugin_machinery() -> None:
    # A lazily imported CLI command that needs only FlextResult must not pay for pluggy and the buses.
    code = (
        "import sys, flext_sdk; flext_sdk.FlextResult; "
        "print(sorted(m for m in ('pluggy', 'flext_kernel.bus', 'flext_kernel.kernel') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_testing_surface_is_pinned() -> None:
    assert set(flext_sdk.testing.__all__) == {
        "CliResult",
        "EventStoreContract",
        "FlextCliRunner",
        "FlextKernelFactory",
        "PluginContract",
        "PluginSpec",
        "ProjectionStoreContract",
        "flext_command",
    }


def test_the_testing_package_and_pytest_plugin_import_nothing_of_the_kernel() -> None:
    # The pytest plugin loads in every pytest run of the environment; the kernel is imported by fixtures
    # (flext_kernel.lazy, the package front's stdlib-only helper, is all that comes with flext_sdk).
    code = (
        "import sys, flext_sdk.testing, flext_sdk.testing.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith(('flext_kernel.', 'pydantic'))"
        " and m not in ('flext_kernel.version', 'flext_kernel.lazy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_event_store_contract_is_resolved_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    fake = types.ModuleType("flext_sdk.testing.eventstore")
    fake.EventStoreContract = sentinel = type("EventStoreContract", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "flext_sdk.testing.eventstore", fake)
    cached = vars(flext_sdk.testing).pop("EventStoreContract", None)
    try:
        assert flext_sdk.testing.EventStoreContract is sentinel
    finally:
        vars(flext_sdk.testing).pop("EventStoreContract", None)
        if cached is not None:
            vars(flext_sdk.testing)["EventStoreContract"] = cached
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        _ = flext_sdk.testing.Nothing  # type: ignore[attr-defined]
