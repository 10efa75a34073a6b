"""Every first-party plugin hot-reloads inside one running kernel that holds them all.

Each test boots the installed first-party plugins (entry points, as ``flext``
finds them) with the default event store in a SQLite file, reloads one
plugin, and checks that the new code answers: the plugin's modules are new
objects, it registered the same services, handlers, hooks and commands as
before, its services resolve to objects of the new classes, its hooks
answer, and ``dbt`` and ``pipeline`` teach the store's codec their event
classes again without ``ALREADY_REGISTERED``. The checks read what each
plugin registers, so a plugin that gains a handler or a service is covered
without a change here; ``RunDbt`` has explicit in-flight checks.

A reload replaces modules for the whole process, so every test puts the
first-party modules (and what the SDK's lazy front kept of them) back
afterwards, for the tests that imported the old ones.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flext_kernel.kernel import FlextKernel
from flext_kernel.messages import message_type_name
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import discover
from flext_kernel.result import FlextResult
from flext_sdk.authoring.reload import reload_plugin

FIRST_PARTY = (
    "eventsourcing",
    "eventstore-sqlite",
    "eventstore-postgres",  # loads without a server: nothing connects until a store is opened
    "events",
    "singer",
    "ldif",
    "sqlite",
    "dbt",
    "pipeline",
    "algar",
    "tap-oracle-wms",
    "scheduler",
    "gruponos",
    "meltano",
    "target-oracle",
    "observability",
    "logs",
    "service",
    "monitor",
    "secrets",
    "shell",
    "audit",
    "sdk",
)
# Hooks the kernel calls with arguments, in the lifecycle or on removal; the others are asked below.
LIFECYCLE = frozenset(
    {
        "flext_register_services",
        "flext_register_handlers",
        "flext_startup",
        "flext_shutdown",
        "flext_register_commands",
        "flext_contributions_removed",
    }
)
WAIT = 10.0  # a bound for what the tests wait on; never reached when the code works


def _first_party(module: str) -> bool:
    return module.split(".")[0] == "flext_eventsourcing" or module.startswith("flext_plugin_")


@pytest.fixture
def modules_put_back() -> Iterator[None]:
    """Put the first-party modules, and the names lazy fronts re-export, back as they were."""
    saved = {name: module for name, module in sys.modules.items() if _first_party(name)}
    fronts = {
        name: dict(vars(module))
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in ("flext_sdk", "flext_kernel") and isinstance(module, ModuleType)
    }
    yield
    for name in [name for name in sys.modules if _first_party(name)]:
        del sys.modules[name]
    sys.modules.update(saved)
    for name, before in fronts.items():
        namespace = vars(sys.modules[name])
        for key in set(namespace.get("__all__", ())) - set(before):
            namespace.pop(key, None)  # a re-export first used during the test: the new version's
        namespace.update(before)


@pytest.fixture
def kernel(
    flext_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, modules_put_back: None
) -> Iterator[FlextKernel]:
    """A kernel of every first-party plugin, the default event store a SQLite file."""
    monkeypatch.setenv("FLEXT_EVENTSTORE_URL", str(tmp_path / "events.db"))
    candidates = [candidate for candidate in discover([]) if candidate.name in FIRST_PARTY]
    assert sorted(candidate.name for candidate in candidates) == sorted(FIRST_PARTY)
    booted = FlextKernel.boot(candidates, strict=True).unwrap()
    yield booted
    booted.close()


def _contributions(kernel: FlextKernel) -> dict[str, set[str]]:
    """What each plugin contributes, by name (classes are replaced by a reload, their names are not)."""
    found: dict[str, set[str]] = defaultdict(set)
    for key, registration in kernel.container._registrations.items():
        if registration.owner is not None:
            found[registration.owner].add(f"service {_name(key)}")
    buses = {"command": kernel.command_bus, "query": kernel.query_bus, "event": kernel.event_bus}
    for record in kernel.plugins.records.values():
        for kind, bus in buses.items():
            found[record.name] |= {f"{kind} {message_type_name(t)}" for t in bus._types_of([record.name])}
        found[record.name] |= {f"hook {hook}" for hook in record.hooks}
        found[record.name] |= {f"command {' '.join(entry.path)}" for entry in record.commands}
    return dict(found)


def _name(key: object) -> str:
    return (
        key
        if isinstance(key, str)
        else f"{getattr(key, '__module__', '')}.{getattr(key, '__qualname__', key)}"
    )


def _current(obj: object) -> bool:
    """True if ``obj``'s class is the one its module defines now (not a class a reload replaced)."""
    cls = type(obj)
    module = sys.modules.get(cls.__module__)
    found: Any = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls


def _teach_codec(kernel: FlextKernel) -> Any:
    """Have dbt and pipeline register their event classes in the default store's codec, as they do."""
    from flext_sdk import FlextEventStore

    store = kernel.container.resolve(FlextEventStore)
    importlib.import_module("flext_plugin_dbt.events").register_events(store)
    importlib.import_module("flext_plugin_pipeline.journal").register_events(store)
    importlib.import_module("flext_plugin_gruponos.deploy").register_events(store)
    return store


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_each_first_party_plugin_reloads_and_its_new_code_answers(kernel: FlextKernel, name: str) -> None:
    _teach_codec(kernel)  # so that a codec left holding the old classes would refuse the new ones
    before = _contributions(kernel)
    old_records = {record.name: (record.plugin, record.modules) for record in kernel.plugins.records.values()}
    old_modules = {module: sys.modules[module] for _, modules in old_records.values() for module in modules}

    report = reload_plugin(kernel, name).unwrap()

    assert name in report.plugins
    assert kernel.plugins.failures() == []
    assert all(record.state is PluginState.ACTIVE for record in kernel.plugins.records.values())
    assert _contributions(kernel) == before
    for swapped in report.plugins:
        plugin, modules = old_records[swapped]
        if modules:  # the sdk plugin's modules are the SDK's, which a reload leaves alone
            assert kernel.plugins.records[swapped].plugin is not plugin
        for module in modules:  # one imported lazily is imported again when first used
            assert sys.modules.get(module) is not old_modules[module], module
        _check_services(kernel, swapped)
        _check_hooks(kernel, swapped)
    _check_codec(kernel)


def _check_services(kernel: FlextKernel, plugin: str) -> None:
    """Each service ``plugin`` registered resolves, to an object of the class its module defines now."""
    owned: list[Any] = [key for key, reg in kernel.container._registrations.items() if reg.owner == plugin]
    for key in owned:
        service = kernel.container.resolve(key)
        assert _current(service), (plugin, key, type(service))


def _check_hooks(kernel: FlextKernel, plugin: str) -> None:
    """Each hook ``plugin`` implements that takes no arguments is answered by the new version."""
    record = kernel.plugins.records[plugin]
    for hook in record.hooks:
        caller = getattr(kernel.plugins.hooks.hook, hook)
        if hook in LIFECYCLE or caller.spec is None or caller.spec.argnames:
            continue
        answers = dict(kernel.plugins.collect(hook))
        assert answers.get(plugin) is not None, (plugin, hook)
        assert kernel.plugins.failures() == []
    if plugin == "pipeline":  # a projection comes from the hook on demand, never from a cache
        stores = kernel.container.resolve(sys.modules["flext_eventsourcing.stores"].EventStores)
        projections = stores.projections()
        assert [type(p).__name__ for p in projections] == ["PipelineStatus"]
        assert all(_current(projection) for projection in projections)


def _check_codec(kernel: FlextKernel) -> None:
    """dbt and pipeline register their (current) event classes again, and reading finds them."""
    store = _teach_codec(kernel)  # raised ALREADY_REGISTERED before unplugging cleaned the codec
    dbt_events = sys.modules["flext_plugin_dbt.events"]
    pipeline_events = sys.modules["flext_plugin_pipeline.events"]
    assert store.codec.event_class("dbt.InvocationCompleted") is dbt_events.DbtInvocationCompleted
    assert store.codec.event_class("pipeline.RunStarted") is pipeline_events.PipelineRunStarted
    assert _current(store)


def test_reloading_a_required_plugin_swaps_its_dependants_in_dependency_order(kernel: FlextKernel) -> None:
    order = [record.name for record in kernel.plugins.active_order()]
    store_before = _teach_codec(kernel)

    eventsourcing = reload_plugin(kernel, "eventsourcing").unwrap()
    singer = reload_plugin(kernel, "singer").unwrap()

    dependants = {"eventstore-sqlite", "eventstore-postgres", "events", "dbt", "pipeline"}
    dependants |= {"scheduler", "gruponos", "meltano", "monitor"}
    assert set(eventsourcing.plugins) == {"eventsourcing", *dependants}
    assert eventsourcing.plugins[0] == "eventsourcing"
    assert list(eventsourcing.plugins) == sorted(eventsourcing.plugins, key=order.index)
    assert singer.plugins == ("singer", "pipeline", "gruponos")
    # The SDK's re-export is the new class again, and the container knows it.
    from flext_sdk import FlextEventStore

    assert FlextEventStore is sys.modules["flext_eventsourcing.eventstore"].FlextEventStore
    store = kernel.container.resolve(FlextEventStore)
    assert store is not store_before  # the old one was closed with the old eventsourcing
    assert isinstance(store, sys.modules["flext_eventsourcing.eventstore_base"].EventStoreBase)
    _check_codec(kernel)


# RunDbt in flight.


class _Runs:
    """Stands in for dbt's runner: the old version's run blocks until released, the new one answers."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def old(self, project_dir: Path, command: str, **_: Any) -> FlextResult[str]:
        self.entered.set()
        assert self.release.wait(WAIT)
        return FlextResult.ok(f"old {command}")

    @staticmethod
    def new(project_dir: Path, command: str, **_: Any) -> FlextResult[str]:
        return FlextResult.ok(f"new {command}")


def _runner() -> Any:
    """dbt's runner module as it is now (the handler imports ``run_dbt`` from it on each command)."""
    return importlib.import_module("flext_plugin_dbt.runner")


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("reloaded", ["dbt", "eventsourcing"])
def test_a_run_dbt_in_flight_finishes_on_the_old_version_and_one_sent_during_the_swap_reaches_the_new(
    kernel: FlextKernel, tmp_path: Path, reloaded: str
) -> None:
    from flext_sdk.contracts.dbt import RunDbt

    runs = _Runs()
    _runner().run_dbt = runs.old
    stages: list[str] = []

    def on_stage(stage: str) -> None:
        stages.append(stage)
        if stage == "release":  # the new version is active; its runner is imported when first used
            _runner().run_dbt = runs.new

    old_plugin = sys.modules["flext_plugin_dbt.plugin"]
    first, first_out = _in_thread(
        lambda: kernel.command_bus.dispatch(RunDbt(project_dir=tmp_path, command="run"))
    )
    assert runs.entered.wait(WAIT)
    swap, swap_out = _in_thread(lambda: reload_plugin(kernel, reloaded, on_stage=on_stage))
    _wait_for(lambda: "drain" in stages, "the swap to drain")
    second, second_out = _in_thread(
        lambda: kernel.command_bus.dispatch(RunDbt(project_dir=tmp_path, command="test"))
    )
    time.sleep(0.05)
    assert kernel.inflight.running("dbt") == 1  # only the first: the second waits at the hold
    assert swap.is_alive()
    assert second.is_alive()
    assert "shutdown" not in stages  # the old dbt is not shut down under its running handler

    runs.release.set()
    for thread in (first, swap, second):
        thread.join(WAIT)
    report = swap_out[0].unwrap()
    assert "dbt" in report.plugins
    assert report.held >= 1
    assert first_out[0].unwrap() == "old run"
    assert second_out[0].unwrap() == "new test"
    assert sys.modules["flext_plugin_dbt.plugin"] is not old_plugin
    assert kernel.command_bus.dispatch(RunDbt(project_dir=tmp_path, command="build")).unwrap() == "new build"
    assert kernel.inflight.running("dbt") == 0
    _check_codec(kernel)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)
