"""Hot reload in one process: real plugin files rewritten on disk and swapped in a running kernel.

Plugins record what happens to them in ``probe.EVENTS``; ``probe`` lives
outside the plugins directory, so it survives the reloads it observes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_kernel.bus import FlextCommandBus
from flext_kernel.cli.kernel_plugin import CANDIDATE
from flext_kernel.errors import NO_HANDLER
from flext_kernel.kernel import FlextKernel
from flext_kernel.messages import FlextCommand
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import Candidate, local_candidates
from flext_kernel.plugins.inflight import InflightTracker
from flext_kernel.plugins.manager import PLUGIN_LOAD_FAILED
from flext_kernel.result import FlextResult
from flext_sdk.authoring.reload import reload_plugin
from flext_sdk.authoring.watch import HotReloader, plugins_for_paths, watch_paths

WAIT = 10.0  # generous bound for anything a test waits on; never reached when the code works

PLUGIN = """
import time

import probe
from flext_kernel.messages import FlextCommand, FlextDomainEvent
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.plugins.manifest import PluginManifest
from flext_kernel.result import FlextResult

VERSION = {version}
manifest = PluginManifest(name="echo", version=str(VERSION))


class Ping(FlextCommand):
    text: str


class Pinged(FlextDomainEvent):
    text: str


class Greeter:
    def greet(self) -> str:
        return f"hello from v{{VERSION}}"


def handle(command):
    {handle}
    return FlextResult.ok(f"v{{VERSION}}:{{command.text}}")


def heard(event):
    probe.EVENTS.append(f"v{{VERSION}} heard {{event.text}}")


@hookimpl
def flext_register_services(container):
    container.register_singleton(Greeter, owner="echo")


@hookimpl
def flext_register_handlers(command_bus, event_bus):
    {register}
    command_bus.register(Ping, handle, owner="echo")
    event_bus.subscribe(Pinged, heard, owner="echo")


@hookimpl
def flext_startup(kernel):
    {startup}
    probe.EVENTS.append(f"start v{{VERSION}}")


@hookimpl
def flext_shutdown(kernel):
    probe.EVENTS.append(f"stop v{{VERSION}}")
    {shutdown}
"""

PROBE = "import threading\nEVENTS = []\nRELEASE = threading.Event()\nSTATE = {}\n"


def plugin_source(
    version: int,
    *,
    handle: str = "pass",
    startup: str = "pass",
    register: str = "pass",
    shutdown: str = "pass",
) -> str:
    return PLUGIN.format(
        version=version, handle=handle, startup=startup, register=register, shutdown=shutdown
    )


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[Path]:
    """A plugins directory and the probe module; every module they bring in is forgotten afterwards."""
    directory = tmp_path / "plugins"
    support = tmp_path / "support"
    directory.mkdir()
    support.mkdir()
    (support / "probe.py").write_text(PROBE, encoding="utf-8")
    before = set(sys.modules)
    sys.path.insert(0, str(support))
    yield directory
    for name in set(sys.modules) - before:
        del sys.modules[name]
    for entry in (str(support), str(directory)):
        while entry in sys.path:
            sys.path.remove(entry)


def write(directory: Path, module: str, source: str) -> Path:
    """Replace a module atomically, as editors do (a reader never sees half a file)."""
    path = directory / f"{module}.py"
    temporary = directory / f".{module}.tmp"
    temporary.write_text(textwrap.dedent(source), encoding="utf-8")
    temporary.replace(path)
    return path


def boot(directory: Path) -> FlextKernel:
    kernel = FlextKernel.boot(local_candidates([directory])).unwrap()
    failed = {record.name: record.reason for record in kernel.plugins.failures()}
    assert failed == {}, failed
    return kernel


def probe() -> ModuleType:
    return sys.modules["probe"]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


@pytest.fixture
def echo(plugins: Path) -> Iterator[tuple[FlextKernel, Path]]:
    write(plugins, "echo", plugin_source(1))
    kernel = boot(plugins)
    yield kernel, plugins
    kernel.close()


def test_reload_swaps_in_the_new_behaviour(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    old = sys.modules["echo"]
    assert kernel.command_bus.dispatch(old.Ping(text="a")).value == "v1:a"
    write(plugins, "echo", plugin_source(2))

    result = reload_plugin(kernel, "echo")

    report = result.unwrap()
    assert report.plugins == ("echo",)
    assert report.versions == {"echo": "2"}
    new = sys.modules["echo"]
    assert new is not old
    assert new.VERSION == 2
    # Messages built from the old class reach the new handler (routed by type name).
    assert kernel.command_bus.dispatch(old.Ping(text="a")).value == "v2:a"
    assert kernel.command_bus.dispatch(new.Ping(text="b")).value == "v2:b"
    assert kernel.container.resolve(new.Greeter).greet() == "hello from v2"
    assert kernel.event_bus.publish(old.Pinged(aggregate_id="x", text="e")).is_success
    assert probe().EVENTS == ["start v1", "stop v1", "start v2", "v2 heard e"]
    record = kernel.plugins.records["echo"]
    assert (record.state, record.version) == (PluginState.ACTIVE, "2")
    assert kernel.plugins.hooks.get_plugin("echo") is record.plugin is new
    assert kernel.event_bus.subscribers(new.Pinged) == ["echo.heard"]


FRONT = """
from flext_kernel.lazy import lazy_exports

__all__ = ["Ping", "VERSION"]
__getattr__, __dir__ = lazy_exports(__name__, globals(), {"Ping": "echo", "VERSION": "echo"})
"""


def test_a_lazy_front_that_stays_hands_out_the_new_version_and_the_old_one_after_a_rollback(
    echo: tuple[FlextKernel, Path],
) -> None:
    kernel, plugins = echo
    (Path(probe().__file__).parent / "front.py").write_text(FRONT, encoding="utf-8")
    import front  # type: ignore[import-not-found]  # written just above, as flext_sdk re-exports a plugin's names

    assert (front.Ping, front.VERSION) == (sys.modules["echo"].Ping, 1)  # now kept in its globals
    write(plugins, "echo", plugin_source(2))
    reload_plugin(kernel, "echo").unwrap()
    v2 = sys.modules["echo"]
    assert (front.Ping, front.VERSION) == (v2.Ping, 2)

    write(plugins, "echo", plugin_source(3, startup="import front; front.Ping; raise RuntimeError('no')"))
    failed = reload_plugin(kernel, "echo")
    assert failed.error_data["rolled_back"] is True
    assert sys.modules["echo"] is v2
    assert (front.Ping, front.VERSION) == (v2.Ping, 2)  # not version 3's, which front saw during the try


def test_a_syntax_error_leaves_the_old_version_untouched(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    old = sys.modules["echo"]
    path = write(plugins, "echo", plugin_source(2) + "\ndef broken(:\n    pass\n")

    result = reload_plugin(kernel, "echo", changed=[path])

    assert result.error_code == PLUGIN_LOAD_FAILED
    data = result.error_data
    assert (data["stage"], data["file"], data["rolled_back"]) == ("compile", str(path), False)
    assert isinstance(data["line"], int)
    assert "SyntaxError" in (result.error or "")
    assert f"line {data['line']}" in (result.error or "")
    assert sys.modules["echo"] is old
    assert probe().EVENTS == ["start v1"]  # never shut down
    assert kernel.command_bus.dispatch(old.Ping(text="a")).value == "v1:a"
    assert kernel.plugins.records["echo"].state is PluginState.ACTIVE


def test_an_import_error_rolls_back_to_the_old_version(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    old = sys.modules["echo"]
    write(plugins, "echo", "raise RuntimeError('boom at import')\n" + plugin_source(2))

    result = reload_plugin(kernel, "echo")

    assert result.error_code == PLUGIN_LOAD_FAILED
    assert result.error_data["stage"] == "import"
    assert result.error_data["rolled_back"] is True
    assert "boom at import" in (result.error or "")
    assert "previous version was restored" in (result.error or "")
    assert sys.modules["echo"] is old
    assert kernel.command_bus.dispatch(old.Ping(text="a")).value == "v1:a"
    assert kernel.container.resolve(old.Greeter).greet() == "hello from v1"
    assert probe().EVENTS == ["start v1", "stop v1", "start v1"]
    record = kernel.plugins.records["echo"]
    assert (record.state, record.version, record.reason) == (PluginState.ACTIVE, "1", None)


@pytest.mark.parametrize("where", ["main thread", "another thread"])
@pytest.mark.parametrize(
    ("stage", "source", "reason"),
    [
        ("import", "while True:\n    pass\n" + plugin_source(2), "import did not finish in 0.5 s"),
        ("activate", plugin_source(2, startup="while True: pass"), "flext_startup did not finish in 0.5 s"),
    ],
)
def test_a_new_version_that_never_finishes_is_interrupted_and_rolled_back(
    plugins: Path, monkeypatch: pytest.MonkeyPatch, stage: str, source: str, reason: str, where: str
) -> None:
    """Before, the swap never returned: the plugin stayed held, and its dispatches waited for ever."""
    monkeypatch.setenv("FLEXT_HOME", str(plugins.parent / "home"))  # where the hung import is remembered
    monkeypatch.setenv("FLEXT_PLUGIN_IMPORT_TIMEOUT", "0.5")
    write(plugins, "echo", plugin_source(1))
    kernel = boot(plugins)
    old = sys.modules["echo"]
    write(plugins, "echo", source)
    answers: list[FlextResult[Any]] = []
    if where == "main thread":
        answers.append(reload_plugin(kernel, "echo"))
    else:
        worker = threading.Thread(target=lambda: answers.append(reload_plugin(kernel, "echo")), daemon=True)
        worker.start()
        worker.join(WAIT)
    result = answers[0]
    assert result.error_code == PLUGIN_LOAD_FAILED
    assert (result.error_data["stage"], result.error_data["rolled_back"]) == (stage, True)
    assert reason in (result.error or "")
    assert kernel.command_bus.dispatch(old.Ping(text="a")).value == "v1:a"
    assert kernel.plugins.records["echo"].state is PluginState.ACTIVE

    write(plugins, "echo", plugin_source(3))
    bump = time.time_ns() + 1_000_000
    os.utime(plugins / "echo.py", ns=(bump, bump))  # a new mtime, even on coarse clocks
    assert reload_plugin(kernel, "echo").unwrap().versions == {"echo": "3"}
    assert kernel.command_bus.dispatch(old.Ping(text="b")).value == "v3:b"
    kernel.close()


RESOURCEFUL = """
import probe
from flext_kernel.messages import FlextCommand
from flext_kernel.plugins.base import FlextPlugin
from flext_kernel.plugins.manifest import PluginManifest
from flext_kernel.result import FlextResult

VERSION = {version}


class Ask(FlextCommand):
    pass


class Plugin(FlextPlugin):
    manifest = PluginManifest(name="resourceful", version=str(VERSION))

    def initialize(self, kernel):
        probe.EVENTS.append(f"initialize v{{VERSION}}")
        if {fail}:
            return FlextResult.fail("cannot reach LDAP", error_code="TIMEOUT")
        kernel.command_bus.register(Ask, lambda c: FlextResult.ok(VERSION), owner="resourceful")
        return FlextResult.ok(None)

    def shutdown(self):
        probe.EVENTS.append(f"shutdown v{{VERSION}}")
        return FlextResult.ok(None)
"""


def test_a_failing_initialize_rolls_back_to_the_old_plugin_object(plugins: Path) -> None:
    write(plugins, "resourceful", RESOURCEFUL.format(version=1, fail=False))
    local_candidates([plugins])  # puts the directory on sys.path
    candidate = Candidate(name="resourceful", target="resourceful:Plugin", source="directory")
    kernel = FlextKernel.boot([candidate]).unwrap()
    old_plugin = kernel.plugins.records["resourceful"].plugin
    ask = sys.modules["resourceful"].Ask
    assert kernel.command_bus.dispatch(ask()).value == 1
    write(plugins, "resourceful", RESOURCEFUL.format(version=2, fail=True))

    result = reload_plugin(kernel, "resourceful")

    assert result.error_data["stage"] == "activate"
    assert result.error_data["rolled_back"] is True
    assert "cannot reach LDAP" in (result.error or "")
    record = kernel.plugins.records["resourceful"]
    assert record.plugin is old_plugin
    assert kernel.plugins.hooks.get_plugin("resourceful") is old_plugin
    assert (record.state, record.version) == (PluginState.ACTIVE, "1")
    assert kernel.command_bus.dispatch(ask()).value == 1
    assert probe().EVENTS == ["initialize v1", "shutdown v1", "initialize v2", "initialize v1"]
    kernel.close()
    assert probe().EVENTS[-1] == "shutdown v1"


def test_an_in_flight_handler_finishes_before_the_old_version_shuts_down(
    echo: tuple[FlextKernel, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel, plugins = echo
    write(
        plugins,
        "echo",
        plugin_source(
            1,
            handle="probe.EVENTS.append('handler started'); probe.RELEASE.wait(10); "
            "probe.EVENTS.append('handler finished')",
        ),
    )
    assert reload_plugin(kernel, "echo").is_success
    probe().EVENTS.clear()
    ping = sys.modules["echo"].Ping
    results: list[FlextResult[Any]] = []
    worker = threading.Thread(target=lambda: results.append(kernel.command_bus.dispatch(ping(text="slow"))))
    worker.start()
    wait_until(lambda: "handler started" in probe().EVENTS, "the handler to start")
    running_when_draining: list[int] = []
    real_wait_idle = kernel.inflight.wait_idle

    def wait_idle(owners: Any, timeout: float) -> bool:
        # The reloader is about to wait: only now may the handler finish.
        running_when_draining.append(kernel.inflight.running("echo"))
        probe().RELEASE.set()
        return real_wait_idle(owners, timeout)

    monkeypatch.setattr(kernel.inflight, "wait_idle", wait_idle)
    write(plugins, "echo", plugin_source(2))

    result = reload_plugin(kernel, "echo", drain_timeout=WAIT)

    worker.join(WAIT)
    assert result.is_success, result.error
    assert running_when_draining == [1]
    events = probe().EVENTS
    assert events.index("handler finished") < events.index("stop v1") < events.index("start v2")
    assert [r.value for r in results] == ["v1:slow"]


def test_a_dispatch_during_the_swap_waits_and_reaches_the_new_version(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    old = sys.modules["echo"]
    # The new version registers its handler only after a while, so that a dispatch
    # made meanwhile finds no handler unless the swap holds it.
    write(plugins, "echo", plugin_source(2, register="time.sleep(0.2)"))
    results: list[FlextResult[Any]] = []
    workers: list[threading.Thread] = []

    def on_stage(stage: str) -> None:
        if stage == "import":  # the old handlers are gone, the new ones not there yet
            worker = threading.Thread(
                target=lambda: results.append(kernel.command_bus.dispatch(old.Ping(text="x")))
            )
            worker.start()
            workers.append(worker)
            wait_until(lambda: bool(kernel.command_bus._holds[0].waited), "the dispatch to wait at the hold")

    report = reload_plugin(kernel, "echo", on_stage=on_stage).unwrap()

    workers[0].join(WAIT)
    assert [r.value for r in results] == ["v2:x"]
    assert report.held == 1


def test_a_handler_dispatching_to_its_own_plugin_does_not_block_the_drain(plugins: Path) -> None:
    write(
        plugins,
        "echo",
        plugin_source(
            1,
            handle="if command.text == 'outer':\n"
            "        probe.STATE['draining'].wait(10)\n"
            "        return probe.STATE['bus'].dispatch(Ping(text='inner'))",
        ),
    )
    kernel = boot(plugins)
    draining = threading.Event()
    probe().STATE.update(draining=draining, bus=kernel.command_bus)
    ping = sys.modules["echo"].Ping
    results: list[FlextResult[Any]] = []
    worker = threading.Thread(target=lambda: results.append(kernel.command_bus.dispatch(ping(text="outer"))))
    worker.start()
    wait_until(lambda: kernel.inflight.running("echo") == 1, "the outer handler to run")
    write(plugins, "echo", plugin_source(2))

    started = time.monotonic()
    result = reload_plugin(
        kernel, "echo", drain_timeout=WAIT, on_stage=lambda s: s == "drain" and draining.set()
    )

    worker.join(WAIT)
    assert result.is_success, result.error
    assert time.monotonic() - started < WAIT / 2
    assert [r.value for r in results] == [
        "v1:inner"
    ]  # the nested call ran on the old version, inside the drain
    kernel.close()


def test_handlers_still_running_after_the_drain_timeout_keep_the_old_version(
    echo: tuple[FlextKernel, Path],
) -> None:
    kernel, plugins = echo
    write(plugins, "echo", plugin_source(1, handle="probe.RELEASE.wait(10)"))
    assert reload_plugin(kernel, "echo").is_success
    ping = sys.modules["echo"].Ping
    slow = threading.Thread(target=lambda: kernel.command_bus.dispatch(ping(text="slow")))
    slow.start()
    wait_until(lambda: kernel.inflight.running("echo") == 1, "the handler to run")
    write(plugins, "echo", plugin_source(2))

    result = reload_plugin(kernel, "echo", drain_timeout=0.05)

    assert result.error_code == "TIMEOUT"
    assert result.error_data["stage"] == "drain"
    assert "echo (1)" in (result.error or "")
    probe().RELEASE.set()
    slow.join(WAIT)
    assert probe().EVENTS.count("stop v1") == 1  # only the earlier, successful reload stopped a v1
    assert kernel.command_bus.dispatch(ping(text="after")).value == "v1:after"


def test_a_same_size_edit_within_the_same_second_is_not_hidden_by_the_bytecode_cache(
    plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A .pyc is trusted when the source's size and whole-second mtime match; pin both.
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = write(plugins, "echo", plugin_source(1))
    os.utime(path, (1_700_000_000, 1_700_000_000))
    kernel = boot(plugins)
    assert list((plugins / "__pycache__").glob("echo.*.pyc")), "the test needs a bytecode cache"
    path = write(plugins, "echo", plugin_source(2))
    os.utime(path, (1_700_000_000, 1_700_000_000))

    reload_plugin(kernel, "echo").unwrap()

    assert kernel.command_bus.dispatch(sys.modules["echo"].Ping(text="a")).value == "v2:a"
    kernel.close()


def test_a_failing_shutdown_is_reported_and_the_reload_goes_on(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    write(plugins, "echo", plugin_source(1, shutdown="raise RuntimeError('cannot close')"))
    assert reload_plugin(kernel, "echo").unwrap().warnings == ()
    write(plugins, "echo", plugin_source(2))
    report = reload_plugin(kernel, "echo").unwrap()
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("echo: the old version's shutdown failed")
    assert "cannot close" in report.warnings[0]
    assert kernel.command_bus.dispatch(sys.modules["echo"].Ping(text="a")).value == "v2:a"


BASE = """
from flext_kernel.plugins.manifest import PluginManifest
manifest = PluginManifest(name="base", version="{version}")
def word():
    return "{word}"
"""

USER = """
import base
from flext_kernel.messages import FlextQuery
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.plugins.manifest import PluginManifest
from flext_kernel.result import FlextResult
manifest = PluginManifest(name="user", requires=("base",))
class Word(FlextQuery):
    pass
@hookimpl
def flext_register_handlers(query_bus):
    query_bus.register(Word, lambda q: FlextResult.ok(base.word()), owner="user")
"""


def test_plugins_requiring_the_reloaded_one_are_swapped_with_it(plugins: Path) -> None:
    write(plugins, "base", BASE.format(version=1, word="one"))
    write(plugins, "user", USER)
    kernel = boot(plugins)
    word = sys.modules["user"].Word
    assert kernel.query_bus.execute(word()).value == "one"
    write(plugins, "base", BASE.format(version=2, word="two"))

    report = reload_plugin(kernel, "base").unwrap()

    assert report.plugins == ("base", "user")
    assert kernel.query_bus.execute(word()).value == "two"
    kernel.close()


def test_a_plugin_that_failed_to_load_is_tried_again(plugins: Path) -> None:
    write(plugins, "echo", "raise ImportError('driver missing')\n")
    kernel = FlextKernel.boot(local_candidates([plugins])).unwrap()
    assert kernel.plugins.records["echo"].state is PluginState.FAILED
    write(plugins, "echo", plugin_source(1))

    assert reload_plugin(kernel, "echo").is_success

    assert kernel.plugins.records["echo"].state is PluginState.ACTIVE
    assert kernel.command_bus.dispatch(sys.modules["echo"].Ping(text="a")).value == "v1:a"
    kernel.close()


def test_what_cannot_be_reloaded(plugins: Path) -> None:
    kernel = FlextKernel.boot([CANDIDATE]).unwrap()
    assert reload_plugin(kernel, "nope").error_code == "NOT_FOUND"
    assert reload_plugin(kernel, "kernel").error_code == "VALIDATION_ERROR"
    kernel.close()
    write(plugins, "echo", plugin_source(1))
    closed = boot(plugins)
    closed.close()
    assert "stopped" in (reload_plugin(closed, "echo").error or "")


def test_files_map_to_the_plugin_that_owns_them(plugins: Path) -> None:
    write(plugins, "echo", plugin_source(1))
    package = plugins / "pack"
    package.mkdir()
    (package / "__init__.py").write_text("from pack.parts import manifest\n", encoding="utf-8")
    (package / "parts.py").write_text(
        "from flext_kernel.plugins.manifest import PluginManifest\nmanifest = PluginManifest(name='pack')\n",
        encoding="utf-8",
    )
    kernel = boot(plugins)
    changed = [plugins / "echo.py", package / "parts.py", package / "new_module.py", plugins / "other.py"]

    owners = plugins_for_paths(kernel, changed)

    assert owners == {
        "echo": [plugins / "echo.py"],
        "pack": [package / "parts.py", package / "new_module.py"],
    }
    assert set(kernel.plugins.records["pack"].modules) == {"pack", "pack.parts"}
    assert watch_paths(kernel, [plugins]) == [plugins.resolve()]
    assert watch_paths(kernel) == sorted([(plugins / "echo.py").resolve(), package.resolve()])
    kernel.close()


def test_the_reloader_reports_reloads_failures_new_plugins_and_strangers(
    echo: tuple[FlextKernel, Path],
) -> None:
    kernel, plugins = echo
    events: list[dict[str, Any]] = []
    reloader = HotReloader(kernel, [plugins], plugin_dirs=[plugins], on_event=events.append)

    reloader.handle({write(plugins, "echo", plugin_source(2))})
    reloader.handle({write(plugins, "echo", "def broken(:\n")})
    reloader.handle(
        {
            write(
                plugins,
                "fresh",
                plugin_source(1)
                .replace('name="echo"', 'name="fresh"')
                .replace('owner="echo"', 'owner="fresh"'),
            )
        }
    )
    support = plugins / "_support"
    support.mkdir()
    reloader.handle({write(support, "helper", "x = 1\n")})

    kinds = [(event["event"], event.get("plugin")) for event in events]
    assert kinds == [
        ("reloading", "echo"),
        ("reloaded", "echo"),
        ("reloading", "echo"),
        ("reload_failed", "echo"),
        ("loaded", "fresh"),
        ("ignored", None),
    ]
    assert events[1]["version"] == "2"
    assert events[3]["stage"] == "compile"
    assert events[3]["line"] == 1
    assert events[5]["files"] == [str(support / "helper.py")]
    assert kernel.plugins.records["fresh"].state is PluginState.ACTIVE


def test_the_watcher_thread_reloads_an_edited_plugin(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    events: list[dict[str, Any]] = []
    with HotReloader(kernel, watch_paths(kernel, [plugins]), on_event=events.append, step_ms=20):
        write(plugins, "echo", plugin_source(2))
        wait_until(lambda: any(event["event"] == "reloaded" for event in events), "the reload")
    assert kernel.command_bus.dispatch(sys.modules["echo"].Ping(text="a")).value == "v2:a"


def test_stop_returns_within_its_timeout_while_the_watcher_is_stuck(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    stuck, unstuck = threading.Event(), threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "reloading":  # the watcher thread hangs inside its reload
            stuck.set()
            unstuck.wait(WAIT)

    reloader = HotReloader(kernel, watch_paths(kernel, [plugins]), on_event=on_event, step_ms=20)
    reloader.start()
    write(plugins, "echo", plugin_source(2))
    assert stuck.wait(WAIT)

    started = time.monotonic()
    assert reloader.stop(timeout=0.2) is False  # still busy: the thread is left behind
    assert 0.2 <= time.monotonic() - started < 1.0
    reloader.start()  # does nothing while the old thread lives
    unstuck.set()
    assert reloader.stop(timeout=WAIT) is True  # that reload ended, and no other started
    assert kernel.command_bus.dispatch(sys.modules["echo"].Ping(text="a")).value == "v2:a"


def test_concurrent_dispatch_during_many_reloads_loses_nothing(echo: tuple[FlextKernel, Path]) -> None:
    kernel, plugins = echo
    old = sys.modules["echo"]
    stop = threading.Event()
    results: list[FlextResult[Any]] = []
    published: list[FlextResult[Any]] = []

    def dispatch_forever() -> None:
        while not stop.is_set():
            results.append(kernel.command_bus.dispatch(old.Ping(text="x")))

    def publish_forever() -> None:
        while not stop.is_set():
            published.append(kernel.event_bus.publish(old.Pinged(aggregate_id="a", text="e")))

    workers = [threading.Thread(target=dispatch_forever), threading.Thread(target=publish_forever)]
    for worker in workers:
        worker.start()
    held = 0
    for version in range(2, 17):
        write(plugins, "echo", plugin_source(version, startup="time.sleep(0.005)"))
        held += reload_plugin(kernel, "echo").unwrap().held
        count = len(results)
        wait_until(lambda count=count: len(results) > count, "a dispatch after the reload")
    stop.set()
    for worker in workers:
        worker.join(WAIT)

    failures = [r for r in results + published if not r.is_success]
    assert failures == []
    versions = [int(r.value.split(":")[0][1:]) for r in results]
    assert versions == sorted(versions), "a dispatch went back to an older version"
    assert versions[-1] == 16
    assert held > 0, "no dispatch ever met a swap; the test proved nothing"
    heard = [event for event in probe().EVENTS if "heard" in event]
    assert len(heard) == len(published)


EDITS = st.sampled_from(["good", "syntax", "import", "startup", "register"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EDITS, min_size=1, max_size=6))
def test_any_sequence_of_edits_leaves_the_last_good_version_running(edits: list[str]) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        before, path_before = set(sys.modules), list(sys.path)
        directory = Path(temporary) / "plugins"
        support = Path(temporary) / "support"
        directory.mkdir()
        support.mkdir()
        (support / "probe.py").write_text(PROBE, encoding="utf-8")
        sys.path.insert(0, str(support))
        try:
            write(directory, "echo", plugin_source(1))
            kernel = boot(directory)
            ping = sys.modules["echo"].Ping
            good = 1
            for number, edit in enumerate(edits, start=2):
                source = {
                    "good": plugin_source(number),
                    "syntax": plugin_source(number) + "\nthis is not python\n",
                    "import": "raise RuntimeError('no')\n" + plugin_source(number),
                    "startup": plugin_source(number, startup="raise RuntimeError('no')"),
                    "register": plugin_source(number, register="raise RuntimeError('no')"),
                }[edit]
                write(directory, "echo", source)
                result = reload_plugin(kernel, "echo")
                assert result.is_success is (edit == "good"), result.error
                good = number if edit == "good" else good
                assert kernel.command_bus.dispatch(ping(text="p")).value == f"v{good}:p"
                loaded_version = sys.modules["echo"].VERSION
                assert loaded_version == good
                record = kernel.plugins.records["echo"]
                assert (record.state, record.version) == (PluginState.ACTIVE, str(good))
                starts = [event for event in sys.modules["probe"].EVENTS if event.startswith("start")]
                assert starts[-1] == f"start v{good}"
            kernel.close()
        finally:
            for name in set(sys.modules) - before:
                del sys.modules[name]
            sys.path[:] = path_before


# The bus and tracker mechanisms on their own.


class Job(FlextCommand):
    n: int


def test_a_hold_makes_dispatches_wait_for_the_handler_registered_at_release() -> None:
    tracker = InflightTracker()
    bus = FlextCommandBus(tracker=tracker)
    bus.register(Job, lambda job: FlextResult.ok(("old", job.n)), owner="p")
    hold = bus.hold(["p"])
    tracker.retire(["p"])
    bus.unregister(Job)
    results: list[FlextResult[Any]] = []
    worker = threading.Thread(target=lambda: results.append(bus.dispatch(Job(n=1))))
    worker.start()
    wait_until(lambda: bool(hold.waited), "the dispatch to wait")
    bus.register(Job, lambda job: FlextResult.ok(("new", job.n)), owner="p")
    bus.release(hold)
    worker.join(WAIT)
    assert [r.value for r in results] == [("new", 1)]
    assert bus.dispatch(Job(n=2)).value == ("new", 2)


def test_without_a_hold_a_removed_handler_is_no_handler() -> None:
    bus = FlextCommandBus(tracker=InflightTracker())
    bus.register(Job, lambda job: FlextResult.ok(job.n), owner="p")
    bus.remove_owner("p")
    assert bus.dispatch(Job(n=1)).error_code == NO_HANDLER


def test_a_retired_pipeline_reroutes_to_the_current_handler() -> None:
    tracker = InflightTracker()
    bus = FlextCommandBus(tracker=tracker)
    bus.register(Job, lambda job: FlextResult.ok("old"), owner="p")
    stale = bus._pipelines[Job]  # what a dispatch looked up just before the swap
    tracker.retire(["p"])
    bus.unregister(Job)
    bus.register(Job, lambda job: FlextResult.ok("new"), owner="p")
    assert stale(Job(n=1)).value == "new"


def test_the_tracker_counts_running_calls_and_waits_for_idleness() -> None:
    tracker = InflightTracker()
    entered, leave = threading.Event(), threading.Event()

    def slow(message: Any) -> FlextResult[Any]:
        entered.set()
        leave.wait(WAIT)
        return FlextResult.ok(message)

    tracked = tracker.track("p", slow, lambda message: FlextResult.fail("rerouted"))
    worker = threading.Thread(target=tracked, args=(1,))
    worker.start()
    entered.wait(WAIT)
    assert tracker.running("p") == 1
    assert tracker.running("q") == 0
    assert tracker.wait_idle(["p"], 0.01) is False
    leave.set()
    assert tracker.wait_idle(["p"], WAIT) is True
    worker.join(WAIT)
    assert tracker.running("p") == 0


def test_async_dispatch_waits_at_a_hold_without_blocking_the_loop() -> None:
    import asyncio

    tracker = InflightTracker()
    bus = FlextCommandBus(tracker=tracker)
    bus.register(Job, lambda job: FlextResult.ok("old"), owner="p")
    hold = bus.hold(["p"])
    bus.unregister(Job)

    async def scenario() -> list[Any]:
        waiting = asyncio.create_task(bus.dispatch_async(Job(n=1)))
        while not hold.waited:
            await asyncio.sleep(0.001)  # the loop keeps running while the dispatch waits
        bus.register(Job, lambda job: FlextResult.ok("new"), owner="p")
        bus.release(hold)
        return [(await waiting).value]

    assert asyncio.run(scenario()) == ["new"]


class Inner(FlextCommand):
    n: int


def test_an_async_handler_awaiting_its_own_plugin_passes_the_hold_and_strangers_wait() -> None:
    import asyncio

    tracker = InflightTracker()
    bus = FlextCommandBus(tracker=tracker)

    async def inner(message: Inner) -> FlextResult[str]:
        return FlextResult.ok(f"inner {message.n}")

    async def outer(job: Job) -> FlextResult[Any]:
        outer_running.set()
        await go_on.wait()
        return await bus.dispatch_async(Inner(n=job.n))

    bus.register(Inner, inner, owner="p")
    bus.register(Job, outer, owner="p")

    async def scenario() -> tuple[Any, Any]:
        outer_task = asyncio.create_task(bus.dispatch_async(Job(n=1)))
        await outer_running.wait()
        hold = bus.hold(["p"], passthrough=lambda: tracker.running_here(["p"]), timeout=WAIT)
        tracker.retire(["p"])
        stranger = asyncio.create_task(bus.dispatch_async(Inner(n=2)))
        while not hold.waited:
            await asyncio.sleep(0.001)
        go_on.set()
        nested = await outer_task  # its nested call went through although the type is held
        assert not stranger.done()
        bus.release(hold)
        return nested.value, (await stranger).value

    outer_running, go_on = asyncio.Event(), asyncio.Event()
    assert asyncio.run(scenario()) == ("inner 1", "inner 2")
