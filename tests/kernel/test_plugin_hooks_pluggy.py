"""Every hook call goes through pluggy: wrappers, ordering, firstresult, plugin-defined hooks, isolation.

Plugins are real modules in a plugins directory, loaded with real pluggy.
"""

from __future__ import annotations

import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import local_candidates
from flext_kernel.plugins.manager import PluginManager

HEAD = (
    "from flext_kernel.plugins.hookspecs import hookimpl, hookspec\n"
    "from flext_kernel.plugins.manifest import PluginManifest\n"
)
UNSPECIFIED = "which no installed plugin specifies; is the plugin that defines it installed and enabled?"


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """A plugins directory whose modules are forgotten after the test."""
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def plugin(directory: Path, module: str, body: str = "", **manifest: str) -> None:
    """Write plugin ``module`` (its name is the module's) with ``manifest`` fields given as source."""
    fields = "".join(f", {key}={value}" for key, value in manifest.items())
    source = f"{HEAD}manifest = PluginManifest(name={module!r}{fields})\n{textwrap.dedent(body)}"
    (directory / f"{module}.py").write_text(source, encoding="utf-8")


def specs(directory: Path, module: str, body: str) -> None:
    """Write a hookspecs module (a leading ``_`` keeps discovery from taking it for a plugin)."""
    (directory / f"{module}.py").write_text(HEAD + textwrap.dedent(body), encoding="utf-8")


def load(directory: Path, **options: object) -> PluginManager:
    manager = PluginManager("0.1.0", **options)  # type: ignore[arg-type]
    manager.load(local_candidates([directory]))
    return manager


def boot(directory: Path) -> FlextKernel:
    return FlextKernel.boot(local_candidates([directory])).unwrap()


def module(name: str) -> ModuleType:
    return sys.modules[name]


def states(manager: PluginManager) -> dict[str, PluginState]:
    return {name: record.state for name, record in manager.records.items()}


ANSWER_SCHEMA = """
@hookimpl
def flext_answer():
    return {"type": "object"}
"""


def answer_hook(directory: Path) -> None:
    """Define ``flext_answer`` (no arguments, answered by every plugin) through a plugin named ``answers``.

    The kernel's hooks either take arguments or are asked one plugin at a
    time (``flext_health``); a plain collected hook is a plugin-defined one.
    """
    specs(directory, "_answer_specs", "@hookspec\ndef flext_answer():\n    '''Answer a dict.'''\n")
    plugin(directory, "answers", hookspecs="'_answer_specs'")


def test_a_wrapper_runs_around_another_plugins_implementation_and_can_change_its_answer(
    plugin_dir: Path,
) -> None:
    answer_hook(plugin_dir)
    plugin(
        plugin_dir,
        "tracer",
        """
        CALLS = []

        @hookimpl(wrapper=True)
        def flext_startup(kernel):
            CALLS.append("enter")
            result = yield
            CALLS.append("exit")
            return result

        @hookimpl(wrapper=True)
        def flext_answer():
            answers = yield
            CALLS.append(f"saw {answers}")
            return [{**answer, "traced": True} for answer in answers]
        """,
    )
    plugin(
        plugin_dir,
        "worker",
        ANSWER_SCHEMA
        + textwrap.dedent(
            """
            @hookimpl
            def flext_startup(kernel):
                import tracer
                tracer.CALLS.append("worker started")
            """
        ),
    )
    kernel = boot(plugin_dir)
    assert module("tracer").CALLS == ["enter", "worker started", "exit"]
    assert kernel.plugins.collect("flext_answer") == [("worker", {"type": "object", "traced": True})]
    assert module("tracer").CALLS[-1] == "saw [{'type': 'object'}]"
    assert states(kernel.plugins) == {
        "answers": PluginState.ACTIVE,
        "tracer": PluginState.ACTIVE,
        "worker": PluginState.ACTIVE,
    }
    kernel.close()


def test_an_old_style_hookwrapper_sees_the_outcome_and_can_force_another(plugin_dir: Path) -> None:
    answer_hook(plugin_dir)
    plugin(
        plugin_dir,
        "legacy",
        """
        SEEN = []

        @hookimpl(hookwrapper=True)
        def flext_answer():
            outcome = yield
            SEEN.append(outcome.get_result())
            outcome.force_result([*outcome.get_result(), {"added": "by legacy"}])
        """,
    )
    plugin(plugin_dir, "worker", ANSWER_SCHEMA)
    manager = load(plugin_dir)
    assert manager.collect("flext_answer") == [
        ("worker", {"type": "object"}),
        ("legacy", {"added": "by legacy"}),
    ]
    assert module("legacy").SEEN == [[{"type": "object"}]]


def test_tryfirst_and_trylast_order_a_collecting_hook_across_plugins(plugin_dir: Path) -> None:
    answer_hook(plugin_dir)

    def answering(name: str, marker: str = "") -> str:
        return f"@hookimpl{marker}\ndef flext_answer():\n    return {{'from': {name!r}}}\n"

    plugin(plugin_dir, "base", answering("base"))
    plugin(plugin_dir, "early", answering("early", "(tryfirst=True)"))
    plugin(plugin_dir, "late", answering("late", "(trylast=True)"))
    plugin(plugin_dir, "user", answering("user"), requires="('base',)")
    manager = load(plugin_dir)
    answered = [name for name, _ in manager.collect("flext_answer")]
    # tryfirst, then dependency order (pluggy alone would call 'user' before 'base'), then trylast.
    assert answered == ["early", "base", "user", "late"]


def test_a_plugin_defined_firstresult_hook_returns_the_first_answer(plugin_dir: Path) -> None:
    specs(
        plugin_dir,
        "_resolver_specs",
        """
        @hookspec(firstresult=True)
        def flext_resolve(key):
            '''Answer the value of ``key``; the first plugin that knows it wins.'''
        """,
    )
    plugin(plugin_dir, "host", hookspecs="'_resolver_specs'")
    plugin(
        plugin_dir,
        "blank",
        "ASKED = []\n@hookimpl(tryfirst=True)\ndef flext_resolve(key):\n    ASKED.append(key)\n",
    )
    plugin(plugin_dir, "answerer", "@hookimpl\ndef flext_resolve(key):\n    return f'answerer:{key}'\n")
    plugin(
        plugin_dir,
        "second",
        "@hookimpl\ndef flext_resolve(key):\n    return f'second:{key}'\n",
        requires="('answerer',)",
    )
    manager = load(plugin_dir)
    # 'answerer' and 'blank' load before 'host' defines the hook: they wait for it, then are checked.
    assert set(states(manager).values()) == {PluginState.LOADED}
    assert manager.collect("flext_resolve", key="k") == [("answerer", "answerer:k")]
    assert module("blank").ASKED == ["k"]
    assert isinstance(manager.hooks.hook.flext_resolve(key="k"), str)  # one answer, not a list


def test_a_plugin_defined_hook_is_callable_and_an_unspecified_one_fails_its_plugin(plugin_dir: Path) -> None:
    specs(plugin_dir, "_connector_specs", "@hookspec\ndef flext_connectors():\n    '''Name connectors.'''\n")
    plugin(plugin_dir, "connhost", hookspecs="'_connector_specs'")
    plugin(plugin_dir, "aconn", "@hookimpl\ndef flext_connectors():\n    return ['ldap']\n")
    plugin(plugin_dir, "bconn", "@hookimpl\ndef flext_connectors(kind):\n    return [kind]\n")
    plugin(
        plugin_dir,
        "cconn",
        "@hookimpl\ndef flext_connectors():\n    return ['csv']\n",
        requires="('connhost',)",
    )
    plugin(plugin_dir, "orphan", "@hookimpl\ndef flext_widgets():\n    return ['knob']\n")
    manager = load(plugin_dir)
    assert manager.collect("flext_connectors") == [("aconn", ["ldap"]), ("cconn", ["csv"])]
    orphan = manager.records["orphan"]
    assert orphan.state is PluginState.FAILED
    assert orphan.reason == f"invalid hooks: implements flext_widgets, {UNSPECIFIED}"
    # Loaded before the hook was defined, checked against it once it was: only 'bconn' is wrong.
    assert manager.records["bconn"].state is PluginState.FAILED
    assert "invalid hooks" in (manager.records["bconn"].reason or "")
    assert "kind" in (manager.records["bconn"].reason or "")
    assert states(manager)["aconn"] is PluginState.LOADED

    without_host = load(plugin_dir, disabled={"connhost"})
    assert (
        without_host.records["aconn"].reason == f"invalid hooks: implements flext_connectors, {UNSPECIFIED}"
    )
    # A plugin that requires the definer is told about the requirement, the likelier cause.
    assert without_host.records["cconn"].reason == "requires plugin 'connhost', which is disabled"
    assert without_host.collect("flext_connectors") == []


def test_a_misspelt_kernel_hook_is_named_with_the_hook_it_resembles(plugin_dir: Path) -> None:
    plugin(plugin_dir, "typo", "@hookimpl\ndef flext_regster_services(container):\n    pass\n")
    reason = load(plugin_dir).records["typo"].reason or ""
    assert reason.endswith("(or is it a typo for flext_register_services?)")


def test_a_hook_defined_twice_fails_the_second_definer(plugin_dir: Path) -> None:
    specs(plugin_dir, "_first_specs", "@hookspec\ndef flext_connectors():\n    '''Name connectors.'''\n")
    specs(plugin_dir, "_kernel_clash", "@hookspec\ndef flext_startup(kernel):\n    '''Again.'''\n")
    plugin(plugin_dir, "first", hookspecs="'_first_specs'")
    plugin(plugin_dir, "second", hookspecs="'_first_specs'")
    plugin(plugin_dir, "usurper", hookspecs="'_kernel_clash'")
    plugin(plugin_dir, "nothing", hookspecs="'_missing_specs'")
    manager = load(plugin_dir)
    assert manager.records["first"].state is PluginState.LOADED
    assert manager.records["second"].reason == (
        "hookspecs '_first_specs' defines flext_connectors, which plugin 'first' already specifies"
    )
    assert "which plugin 'kernel' already specifies" in (manager.records["usurper"].reason or "")
    assert (manager.records["nothing"].reason or "").startswith(
        "hookspecs '_missing_specs' could not be imported"
    )


SERVICES = """
class Clock{suffix}:
    pass

CALLS = []

@hookimpl
def flext_register_services(container):
    CALLS.append("services")
    container.register_singleton(Clock{suffix}, owner={name!r})

@hookimpl
def flext_register_handlers(command_bus, query_bus, event_bus):
    CALLS.append("handlers")

@hookimpl
def flext_startup(kernel):
    CALLS.append("startup")
    {startup}
"""

PASS_THROUGH = """
SEEN = []

@hookimpl(wrapper=True)
def {hook}({arguments}):
    try:
        return (yield)
    except Exception as exc:
        SEEN.append(repr(exc))
        raise
"""


RAISES_AFTER_REGISTERING = """
CALLS = []

class ClockW:
    pass

@hookimpl
def flext_register_services(container):
    CALLS.append("services")
    container.register_singleton(ClockW, owner="worker")
    raise KeyError("oops")
"""


def test_a_raising_lifecycle_hook_fails_only_its_plugin_even_inside_a_wrapper(plugin_dir: Path) -> None:
    plugin(plugin_dir, "tracer", PASS_THROUGH.format(hook="flext_startup", arguments="kernel"))
    plugin(plugin_dir, "good", SERVICES.format(name="good", suffix="A", startup="pass"))
    plugin(
        plugin_dir, "bad", SERVICES.format(name="bad", suffix="B", startup="raise RuntimeError('db down')")
    )
    kernel = boot(plugin_dir)
    bad = kernel.plugins.records["bad"]
    assert bad.state is PluginState.FAILED
    assert bad.reason == "flext_startup raised RuntimeError: db down"
    assert "Traceback" in (bad.detail or "")
    assert kernel.container.get(module("bad").ClockB).error_code == "NOT_FOUND"
    assert module("tracer").SEEN == ["RuntimeError('db down')"]  # the wrapper saw it pass
    assert kernel.plugins.records["good"].state is PluginState.ACTIVE
    assert kernel.plugins.records["tracer"].state is PluginState.ACTIVE
    assert kernel.container.get(module("good").ClockA).is_success
    kernel.close()


def test_a_raising_collect_implementation_fails_only_its_plugin(plugin_dir: Path) -> None:
    answer_hook(plugin_dir)
    plugin(plugin_dir, "tracer", PASS_THROUGH.format(hook="flext_answer", arguments=""))
    plugin(plugin_dir, "good", ANSWER_SCHEMA)
    plugin(plugin_dir, "bad", "@hookimpl\ndef flext_answer():\n    raise ValueError('no schema')\n")
    manager = load(plugin_dir)
    assert manager.collect("flext_answer") == [("good", {"type": "object"})]
    assert manager.records["bad"].state is PluginState.FAILED
    assert manager.records["bad"].reason == "flext_answer raised ValueError: no schema"
    assert module("tracer").SEEN == ["ValueError('no schema')"]
    assert manager.collect("flext_answer") == [("good", {"type": "object"})]
    assert {name: state for name, state in states(manager).items() if name != "bad"} == {
        "answers": PluginState.LOADED,
        "tracer": PluginState.LOADED,
        "good": PluginState.LOADED,
    }


def test_a_raising_wrapper_fails_its_own_plugin_and_the_wrapped_plugin_runs_once(plugin_dir: Path) -> None:
    # Two plugins: the first to fail is unregistered, so one plugin's second wrapper would never run.
    plugin(
        plugin_dir,
        "before",
        """
        @hookimpl(wrapper=True)
        def flext_register_services(container):
            raise RuntimeError("broke before")
            yield
        """,
    )
    plugin(
        plugin_dir,
        "after",
        """
        @hookimpl(wrapper=True)
        def flext_register_handlers(command_bus, query_bus, event_bus):
            yield
            raise RuntimeError("broke after")
        """,
    )
    plugin(plugin_dir, "worker", SERVICES.format(name="worker", suffix="W", startup="pass"))
    kernel = boot(plugin_dir)
    assert kernel.plugins.records["before"].state is PluginState.FAILED
    assert kernel.plugins.records["before"].reason == (
        "flext_register_services wrapper raised RuntimeError: broke before"
    )
    assert kernel.plugins.records["after"].state is PluginState.FAILED
    assert kernel.plugins.records["after"].reason == (
        "flext_register_handlers wrapper raised RuntimeError: broke after"
    )
    assert kernel.plugins.records["worker"].state is PluginState.ACTIVE
    # Called again without the wrapper that broke before it ran, not again after it had run.
    assert module("worker").CALLS == ["services", "handlers", "startup"]
    assert kernel.container.get(module("worker").ClockW).is_success
    kernel.close()


def test_a_wrapper_translating_an_exception_leaves_the_blame_with_the_implementation(
    plugin_dir: Path,
) -> None:
    answer_hook(plugin_dir)
    plugin(
        plugin_dir,
        "translator",
        """
        @hookimpl(wrapper=True)
        def flext_register_services(container):
            try:
                return (yield)
            except KeyError as exc:
                raise RuntimeError("translated") from exc

        @hookimpl(wrapper=True)
        def flext_answer():
            try:
                return (yield)
            except ValueError:
                raise RuntimeError("translated")
        """,
    )
    plugin(plugin_dir, "worker", RAISES_AFTER_REGISTERING)
    plugin(plugin_dir, "good", ANSWER_SCHEMA)
    plugin(
        plugin_dir,
        "bad",
        "ASKED = []\n@hookimpl\ndef flext_answer():\n"
        "    ASKED.append(1)\n    raise ValueError('no schema')\n",
    )
    kernel = boot(plugin_dir)
    worker = kernel.plugins.records["worker"]
    assert worker.reason == "flext_register_services raised KeyError: 'oops'"
    assert module("worker").CALLS == ["services"]  # not called again: it would register twice
    assert kernel.container.get(module("worker").ClockW).error_code == "NOT_FOUND"
    assert kernel.plugins.collect("flext_answer") == [("good", {"type": "object"})]
    assert kernel.plugins.records["bad"].reason == "flext_answer raised ValueError: no schema"
    assert module("bad").ASKED == [1]
    assert kernel.plugins.records["translator"].state is PluginState.ACTIVE
    kernel.close()


def test_an_implementation_that_raised_is_not_called_again_when_its_wrapper_fails(plugin_dir: Path) -> None:
    plugin(
        plugin_dir,
        "swallower",
        """
        @hookimpl(wrapper=True)
        def flext_register_services(container):
            try:
                return (yield)
            except KeyError:
                pass
            raise RuntimeError("lost it")
        """,
    )
    plugin(plugin_dir, "worker", RAISES_AFTER_REGISTERING)
    kernel = boot(plugin_dir)
    # The wrapper raised on its own (nothing links its error to the worker's): both fail, each for its own.
    assert kernel.plugins.records["swallower"].reason == (
        "flext_register_services wrapper raised RuntimeError: lost it"
    )
    assert kernel.plugins.records["worker"].reason == "flext_register_services raised KeyError: 'oops'"
    assert module("worker").CALLS == ["services"]
    kernel.close()


def test_a_wrapper_that_raises_or_does_not_yield_fails_its_own_plugin_in_collect(plugin_dir: Path) -> None:
    answer_hook(plugin_dir)
    plugin(
        plugin_dir,
        "lazy",
        "@hookimpl(wrapper=True)\ndef flext_answer():\n    if True:\n        return []\n    yield\n",
    )
    plugin(
        plugin_dir,
        "loud",
        "@hookimpl(wrapper=True)\ndef flext_answer():\n    yield\n    raise KeyError('loud')\n",
    )
    plugin(plugin_dir, "tracer", PASS_THROUGH.format(hook="flext_answer", arguments=""))
    plugin(plugin_dir, "worker", ANSWER_SCHEMA)
    manager = load(plugin_dir)
    assert manager.collect("flext_answer") == [("worker", {"type": "object"})]
    assert manager.records["loud"].reason == "flext_answer wrapper raised KeyError: 'loud'"
    lazy = manager.records["lazy"].reason or ""
    assert lazy.startswith("flext_answer wrapper raised RuntimeError: wrap_controller at")
    assert lazy.endswith("did not yield")
    assert states(manager)["tracer"] is PluginState.LOADED
    assert states(manager)["worker"] is PluginState.LOADED


def test_a_raising_health_check_reports_a_failure_and_a_wrapper_wraps_each_plugin(plugin_dir: Path) -> None:
    plugin(
        plugin_dir,
        "timer",
        "TIMED = []\n@hookimpl(wrapper=True)\ndef flext_health():\n"
        "    answers = yield\n    TIMED.append(len(answers))\n    return answers\n",
    )
    plugin(
        plugin_dir,
        "fine",
        "from flext_kernel.result import FlextResult\n"
        "@hookimpl\ndef flext_health():\n    return FlextResult.ok({'ok': True})\n",
    )
    plugin(plugin_dir, "sick", "@hookimpl\ndef flext_health():\n    raise ConnectionError('no server')\n")
    kernel = boot(plugin_dir)
    report = kernel.plugins.health()
    assert report["fine"].value == {"ok": True}
    assert "no server" in (report["sick"].error or "")
    assert kernel.plugins.records["sick"].state is PluginState.ACTIVE  # a finding, not a crash
    assert module("timer").TIMED == [1]  # once around 'fine'; 'sick' raised through it
    kernel.close()


def test_the_configuration_schema_is_declared_in_the_manifest_not_by_a_hook(plugin_dir: Path) -> None:
    plugin(plugin_dir, "declared", config_schema="{'type': 'object'}")
    plugin(plugin_dir, "hooked", "@hookimpl\ndef flext_config_schema():\n    return {'type': 'object'}\n")
    manager = load(plugin_dir)
    declared = manager.records["declared"].manifest
    assert declared is not None
    assert declared.config_schema == {"type": "object"}
    assert manager.records["hooked"].reason == f"invalid hooks: implements flext_config_schema, {UNSPECIFIED}"


def test_an_answer_a_wrapper_adds_is_credited_to_the_outermost_wrappers_plugin(plugin_dir: Path) -> None:
    answer_hook(plugin_dir)

    def adding(marker: str, name: str) -> str:
        return f"@hookimpl({marker})\ndef flext_answer():\n    return [*(yield), {{'added_by': {name!r}}}]\n"

    plugin(plugin_dir, "inner", adding("wrapper=True", "inner"))
    plugin(plugin_dir, "outer", adding("wrapper=True, tryfirst=True", "outer"))
    plugin(plugin_dir, "worker", ANSWER_SCHEMA)
    manager = load(plugin_dir)
    pairs = manager.collect("flext_answer")
    assert pairs == [
        ("worker", {"type": "object"}),
        ("outer", {"added_by": "inner"}),
        ("outer", {"added_by": "outer"}),
    ]
    assert all(name in manager.records for name, _ in pairs)  # callers look the plugin up


CONTRIBUTING = """
from flext_kernel.messages import FlextCommand

class Service{suffix}:
    pass

class Ping{suffix}(FlextCommand):
    pass

SHUT = []

@hookimpl
def flext_register_services(container):
    container.register_singleton(Service{suffix}, owner={name!r})

@hookimpl
def flext_register_handlers(command_bus):
    command_bus.register(Ping{suffix}, lambda command: None, owner={name!r})

@hookimpl
def flext_shutdown(kernel):
    # What it registered is still there while it shuts down, as on close.
    SHUT.append(kernel.container.get(Service{suffix}).is_success)
    {shutdown}
"""


def contributing(directory: Path, name: str, body: str = "", shutdown: str = "pass", **manifest: str) -> None:
    """A plugin ``name`` with a service, a command handler and a ``flext_shutdown`` noting its calls."""
    source = CONTRIBUTING.format(name=name, suffix=name.capitalize(), shutdown=shutdown)
    plugin(directory, name, source + textwrap.dedent(body), **manifest)


def left_behind(kernel: FlextKernel, name: str) -> list[str]:
    """What plugin ``name`` (made by ``contributing``) still has in the kernel."""
    found = module(name)
    suffix = name.capitalize()
    service = kernel.container.get(getattr(found, f"Service{suffix}")).is_success
    handler = kernel.command_bus.has_handler(getattr(found, f"Ping{suffix}"))
    return [what for what, there in (("service", service), ("handler", handler)) if there]


def test_a_plugin_failing_in_collect_is_shut_down_and_leaves_nothing_behind(plugin_dir: Path) -> None:
    answer_hook(plugin_dir)
    contributing(plugin_dir, "bad", "@hookimpl\ndef flext_answer():\n    raise RuntimeError('boom')\n")
    kernel = boot(plugin_dir)
    assert left_behind(kernel, "bad") == ["service", "handler"]
    assert kernel.plugins.collect("flext_answer") == []
    assert kernel.plugins.records["bad"].reason == "flext_answer raised RuntimeError: boom"
    assert module("bad").SHUT == [True]  # shut down first, then its contributions removed
    assert left_behind(kernel, "bad") == []
    kernel.close()
    assert module("bad").SHUT == [True]  # not again


def test_a_health_wrapper_that_raises_is_shut_down_and_leaves_nothing_behind(plugin_dir: Path) -> None:
    contributing(
        plugin_dir,
        "grumpy",
        "@hookimpl(wrapper=True)\ndef flext_health():\n    yield\n    raise RuntimeError('grr')\n",
    )
    plugin(
        plugin_dir,
        "fine",
        "from flext_kernel.result import FlextResult\n"
        "@hookimpl\ndef flext_health():\n    return FlextResult.ok({'ok': True})\n",
    )
    kernel = boot(plugin_dir)
    report = kernel.plugins.health()
    assert report["fine"].value == {"ok": True}  # asked again without the wrapper
    assert kernel.plugins.records["grumpy"].reason == "flext_health wrapper raised RuntimeError: grr"
    assert module("grumpy").SHUT == [True]
    assert left_behind(kernel, "grumpy") == []
    kernel.close()
    assert module("grumpy").SHUT == [True]


def test_a_plugin_failing_is_shut_down_only_if_it_had_started(plugin_dir: Path) -> None:
    answer_hook(plugin_dir)
    raising = "@hookimpl\ndef flext_answer():\n    raise RuntimeError('boom')\n"
    contributing(plugin_dir, "early", raising)
    plugin(
        plugin_dir,
        "asker",
        "@hookimpl\ndef flext_startup(kernel):\n    kernel.plugins.collect('flext_answer')\n",
        requires="('early',)",
    )
    # Starts after 'asker', so it has not started when asker's collect fails it.
    contributing(
        plugin_dir,
        "late",
        raising + "STARTED = []\n@hookimpl\ndef flext_startup(kernel):\n    STARTED.append(1)\n",
        requires="('asker',)",
    )
    kernel = boot(plugin_dir)
    assert kernel.plugins.records["early"].state is PluginState.FAILED
    assert kernel.plugins.records["late"].state is PluginState.FAILED
    assert kernel.plugins.records["asker"].state is PluginState.ACTIVE
    assert module("early").SHUT == [True]
    assert module("late").SHUT == []
    assert module("late").STARTED == []
    assert left_behind(kernel, "early") == []
    assert left_behind(kernel, "late") == []
    kernel.close()
    assert module("early").SHUT == [True]
    assert module("late").SHUT == []


def test_a_plugin_failing_in_or_during_its_own_shutdown_stays_failed_and_is_shut_down_once(
    plugin_dir: Path,
) -> None:
    answer_hook(plugin_dir)
    contributing(plugin_dir, "crashy", shutdown="raise RuntimeError('crash')")
    # Its shutdown asks the plugins a question its own answer fails: it fails during its shutdown.
    contributing(
        plugin_dir,
        "flaky",
        "@hookimpl\ndef flext_answer():\n    raise RuntimeError('flake')\n",
        shutdown="kernel.plugins.collect('flext_answer')",
    )
    kernel = boot(plugin_dir)
    kernel.close()
    crashy, flaky = kernel.plugins.records["crashy"], kernel.plugins.records["flaky"]
    assert (crashy.state, crashy.reason) == (PluginState.FAILED, "flext_shutdown raised RuntimeError: crash")
    assert (flaky.state, flaky.reason) == (PluginState.FAILED, "flext_answer raised RuntimeError: flake")
    assert module("crashy").SHUT == [True]
    assert module("flaky").SHUT == [True]
    assert left_behind(kernel, "crashy") == []
    assert left_behind(kernel, "flaky") == []


def collect_at_once(
    manager: PluginManager, hook: str, threads: int
) -> tuple[list[list[tuple[str, object]]], list[Exception]]:
    """Call ``manager.collect(hook)`` from ``threads`` threads released together; their answers and errors."""
    answers: list[list[tuple[str, object]]] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(threads)

    def ask() -> None:
        barrier.wait()
        try:
            answers.append(manager.collect(hook))
        except Exception as exc:
            errors.append(exc)

    running = [threading.Thread(target=ask) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return answers, errors


def test_concurrent_collects_fail_each_failing_plugin_once_and_never_crash(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_hook(plugin_dir)
    plugin(plugin_dir, "good", ANSWER_SCHEMA)
    bad = [f"bad{number}" for number in range(3)]
    for name in bad:
        plugin(plugin_dir, name, "@hookimpl\ndef flext_answer():\n    raise RuntimeError('boom')\n")
    candidates = local_candidates([plugin_dir])
    threads = 6
    for _ in range(20):
        manager = PluginManager("0.1.0")
        manager.load(candidates)
        cleaned: list[str] = []
        manager.on_fail = cleaned.append
        # A slow pluggy: the threads that find a plugin failing all get between its check and its unregister.
        is_registered = manager.hooks.is_registered

        def slowly(plugin: object, is_registered: Callable[[object], bool] = is_registered) -> bool:
            found = is_registered(plugin)
            time.sleep(0.002)
            return found

        monkeypatch.setattr(manager.hooks, "is_registered", slowly)
        answers, errors = collect_at_once(manager, "flext_answer", threads)
        assert errors == []  # the old manager raised pluggy's assertions, changed dicts
        assert answers == [[("good", {"type": "object"})]] * threads
        assert sorted(cleaned) == bad  # each failed and cleaned up once
        assert {manager.records[name].reason for name in bad} == {"flext_answer raised RuntimeError: boom"}
