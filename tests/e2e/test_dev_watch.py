"""``flext dev`` as a real process: edit a plugin file on disk and watch the running kernel change.

``flext dev`` is a command of the SDK's plugin ``sdk`` (``flext_sdk.authoring.dev``),
found through its entry point like any installed plugin. The tests talk to
the process over its JSON-lines control channel (stdin and stdout) and never
sleep to decide anything: they wait, with generous bounds, for the lines the
process prints.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FLEXT = str(Path(sys.executable).with_name("flext"))
WAIT = 30.0  # bound on anything awaited; only reached when something is broken
LIVE_WITHIN = 2.0  # the requirement: an edit is live this many seconds after the write

ECHO = """
import time

from flext_kernel.messages import FlextCommand
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.plugins.manifest import PluginManifest
from flext_kernel.result import FlextResult

VERSION = {version}
manifest = PluginManifest(name="{name}", version=str(VERSION))


class Ping(FlextCommand):
    text: str


@hookimpl
def flext_register_handlers(command_bus):
    command_bus.register(Ping, lambda c: FlextResult.ok(f"v{{VERSION}}:{{c.text}}"), owner="{name}")


@hookimpl
def flext_startup(kernel):
    {startup}
"""


def write_plugin(directory: Path, version: int, *, startup: str = "pass", name: str = "echo") -> None:
    write(
        directory / f"{name.replace('-', '_')}.py", ECHO.format(version=version, startup=startup, name=name)
    )


def write(path: Path, source: str) -> None:
    """Replace the file atomically, as editors do, so the watcher never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(textwrap.dedent(source), encoding="utf-8")
    temporary.replace(path)


class Dev:
    """A running ``flext dev`` with its stdout parsed into JSON lines as they arrive."""

    def __init__(self, home: Path, plugins: Path, *args: str, env: dict[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLEXT_", "WATCHFILES_"))}
        environment.update({"FLEXT_HOME": str(home), "NO_COLOR": "1", **(env or {})})
        self.process = subprocess.Popen(
            [FLEXT, "--plugins-dir", str(plugins), "dev", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=environment,
        )
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self.errors: list[str] = []
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"unparsed": raw}
            with self._changed:
                self.lines.append((time.monotonic(), line))
                self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.errors.append(raw)

    @property
    def stderr(self) -> str:
        return "".join(self.errors)

    def wait_for(self, matches: Callable[[dict[str, Any]], bool], what: str, *, start: int = 0) -> int:
        """Wait for a line matching ``matches`` at or after index ``start``; return its index."""
        found = self.find(matches, start=start, within=WAIT)
        assert found is not None, f"no {what} within {WAIT}s; stdout {self.lines}; stderr {self.stderr}"
        return found

    def find(self, matches: Callable[[dict[str, Any]], bool], *, start: int, within: float) -> int | None:
        """Like ``wait_for``, returning None after ``within`` seconds instead of failing."""
        deadline = time.monotonic() + within
        with self._changed:
            while True:
                for index in range(start, len(self.lines)):
                    if matches(self.lines[index][1]):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def event(self, kind: str, *, start: int = 0) -> dict[str, Any]:
        return self.lines[
            self.wait_for(lambda line: line.get("event") == kind, f"{kind!r} event", start=start)
        ][1]

    def event_index(self, kind: str, *, start: int = 0) -> int:
        return self.wait_for(lambda line: line.get("event") == kind, f"{kind!r} event", start=start)

    def send(self, request: dict[str, Any]) -> int:
        request_id = next(self._ids)
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": request_id, **request}) + "\n")
        self.process.stdin.flush()
        return request_id

    def reply(self, request_id: int) -> dict[str, Any]:
        return self.lines[self.wait_for(lambda line: line.get("id") == request_id, f"reply {request_id}")][1]

    def ping(self, text: str, *, target: str = "echo:Ping") -> dict[str, Any]:
        return self.reply(self.send({"dispatch": target, "data": {"text": text}}))

    def close(self) -> int:
        """End the input, as a finished script does; return the exit code once all output is read."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(WAIT)
        for reader in self._readers:  # they end at end of file: then stdout and stderr are complete
            reader.join(WAIT)
        return code

    def finish(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT)
        for reader in self._readers:
            reader.join(WAIT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    directory = tmp_path / "plugins"
    directory.mkdir()
    return directory


@pytest.fixture
def start(home: Path, plugins: Path) -> Iterator[Callable[..., Dev]]:
    running: list[Dev] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Dev:
        dev = Dev(home, plugins, *args, env=env)
        running.append(dev)
        return dev

    yield start
    for dev in running:
        dev.finish()


def test_an_edit_is_live_within_two_seconds(start: Callable[..., Dev], plugins: Path) -> None:
    write_plugin(plugins, 1)
    dev = start("--watch", str(plugins))
    ready = dev.event("ready")
    assert ready["watching"] == [str(plugins.resolve())]
    assert ready["plugins"]["echo"] == "active"  # installed plugins may be there too
    assert ready["plugins"]["sdk"] == "active"  # the plugin that contributes `flext dev` itself
    assert dev.ping("a") == {"id": 1, "ok": True, "data": "v1:a"}

    write_plugin(plugins, 2)
    written = time.monotonic()
    at = dev.event_index("reloaded")  # the swap is done: the new version serves from here on
    arrived, reloaded = dev.lines[at]
    assert (reloaded["plugin"], reloaded["version"]) == ("echo", "2")
    assert dev.ping("b")["data"] == "v2:b"
    assert arrived - written < LIVE_WITHIN, "the edit was not live within two seconds"
    assert dev.close() == 0
    assert "Traceback" not in dev.stderr


def test_a_broken_edit_keeps_the_old_behaviour_and_prints_the_error(
    start: Callable[..., Dev], plugins: Path
) -> None:
    write_plugin(plugins, 1)
    dev = start()  # watches the plugin directories by default
    assert str(plugins.resolve()) in dev.event("ready")["watching"]

    write(plugins / "echo.py", ECHO.format(version=2, startup="pass", name="echo") + "\ndef broken(:\n")
    syntax = dev.event("reload_failed")
    assert (syntax["plugin"], syntax["stage"], syntax["code"]) == ("echo", "compile", "PLUGIN_LOAD_FAILED")
    assert "SyntaxError" in syntax["error"]
    assert Path(syntax["file"]).resolve() == (plugins / "echo.py").resolve()
    assert dev.ping("a")["data"] == "v1:a"

    after = len(dev.lines)
    write_plugin(plugins, 3, startup="raise RuntimeError('database unreachable')")
    startup = dev.event("reload_failed", start=after)
    assert startup["stage"] == "activate"
    assert "database unreachable" in startup["error"]
    assert "previous version was restored" in startup["error"]
    assert dev.ping("b")["data"] == "v1:b"

    after = len(dev.lines)
    write_plugin(plugins, 4)
    assert dev.event("reloaded", start=after)["version"] == "4"
    assert dev.ping("c")["data"] == "v4:c"
    assert dev.close() == 0
    assert "error: plugin 'echo' not reloaded: SyntaxError in" in dev.stderr
    assert "database unreachable" in dev.stderr
    assert "Traceback" not in dev.stderr


def test_a_stream_of_commands_during_the_swap_all_succeed(start: Callable[..., Dev], plugins: Path) -> None:
    write_plugin(plugins, 1)
    dev = start("--watch", str(plugins))
    dev.event("ready")
    sent: list[int] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            sent.append(dev.send({"dispatch": "echo:Ping", "data": {"text": "s"}}))
            time.sleep(0.002)  # pacing of the sender, not a wait for a condition

    sender = threading.Thread(target=stream)
    sender.start()
    dev.wait_for(lambda line: line.get("id") == 5, "the stream to get going")
    # The new version takes half a second to start, so commands pile up in the swap.
    write_plugin(plugins, 2, startup="time.sleep(0.5)")
    reloaded_at = dev.event_index("reloaded")
    dev.wait_for(
        lambda line: line.get("data") == "v2:s", "a command served by the new version", start=reloaded_at
    )
    stop.set()
    sender.join(WAIT)
    assert dev.close() == 0

    replies = {line["id"]: line for _, line in dev.lines if "id" in line}
    assert sorted(replies) == sorted(sent), "some commands got no reply"
    failed = [reply for reply in replies.values() if not reply["ok"]]
    assert failed == []
    assert {reply["data"] for reply in replies.values()} == {"v1:s", "v2:s"}
    reloaded = dev.lines[reloaded_at][1]
    assert reloaded["held"] > 0, "no command arrived during the swap; the test proved nothing"


def test_a_new_plugin_file_is_loaded(start: Callable[..., Dev], plugins: Path) -> None:
    write_plugin(plugins, 1)
    dev = start("--watch", str(plugins))
    dev.event("ready")
    write_plugin(plugins, 1, name="fresh")
    loaded = dev.event("loaded")
    assert (loaded["plugin"], loaded["version"]) == ("fresh", "1")
    assert dev.ping("x", target="fresh:Ping")["data"] == "v1:x"
    assert dev.close() == 0


def test_an_ignored_change_says_why_and_what_to_do(
    start: Callable[..., Dev], plugins: Path, tmp_path: Path
) -> None:
    write_plugin(plugins, 1)
    elsewhere = (tmp_path / "elsewhere").resolve()
    elsewhere.mkdir()
    dev = start("--watch", str(plugins), str(elsewhere))
    dev.event("ready")

    write_plugin(elsewhere, 2)  # a copy of echo.py that is not the one the kernel imported
    copy_at = dev.event_index("ignored")
    copy = dev.lines[copy_at][1]
    write(elsewhere / "notes.py", "x = 1\n")
    stray = dev.event("ignored", start=copy_at + 1)
    assert dev.ping("a")["data"] == "v1:a"
    assert dev.close() == 0

    running = (plugins / "echo.py").resolve()
    assert copy == {
        "event": "ignored",
        "files": [str(elsewhere / "echo.py")],
        "plugin": "echo",
        "reason": f"plugin 'echo' runs from {running}, not from this file",
        "hint": f"edit {running} instead",
    }
    assert (stray["files"], stray["plugin"], stray["reason"]) == (
        [str(elsewhere / "notes.py")],
        None,
        "not a file of any loaded plugin",
    )
    assert "flext plugin install -e DIR" in stray["hint"]
    warnings = [line for line in dev.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: ignored change to {elsewhere / 'echo.py'}: {copy['reason']} (hint: {copy['hint']})",
        f"warning: ignored change to {elsewhere / 'notes.py'}: {stray['reason']} (hint: {stray['hint']})",
    ]


def test_bad_requests_get_error_replies_and_the_channel_goes_on(
    start: Callable[..., Dev], plugins: Path
) -> None:
    write_plugin(plugins, 1)
    dev = start("--reload", "off")
    assert dev.event("ready")["watching"] == []
    assert dev.ping("a", target="echo:Nope")["code"] == "NOT_FOUND"
    invalid = dev.reply(dev.send({"dispatch": "echo:Ping", "data": {"wrong": 1}}))
    assert (invalid["ok"], invalid["code"]) == (False, "VALIDATION_ERROR")
    assert dev.reply(dev.send({"frobnicate": True}))["code"] == "VALIDATION_ERROR"
    reloaded = dev.reply(dev.send({"reload": "echo"}))
    assert reloaded["ok"] is True
    assert reloaded["data"]["plugins"] == ["echo"]
    listed = dev.reply(dev.send({"plugins": True}))
    assert {"name": "echo", "state": "active"}.items() <= next(
        plugin for plugin in listed["data"] if plugin["name"] == "echo"
    ).items()
    assert dev.ping("b")["data"] == "v1:b"
    assert dev.close() == 0


def test_ctrl_c_stops_cleanly_with_exit_code_130(start: Callable[..., Dev], plugins: Path) -> None:
    """130 after Ctrl-C, as every flext command (docs/cli.md); SIGTERM and the end of input give 0."""
    write_plugin(plugins, 1)
    dev = start("--watch", str(plugins))
    dev.event("ready")
    assert dev.ping("a")["ok"] is True
    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(WAIT) == 130
    dev.event("stopped")
    assert "Traceback" not in dev.stderr


def test_restart_mode_restarts_the_process_on_a_change(start: Callable[..., Dev], plugins: Path) -> None:
    write_plugin(plugins, 1)
    dev = start("--reload", "restart", "--watch", str(plugins))
    assert dev.event("watching")["paths"] == [str(plugins.resolve())]
    first = dev.event_index("ready")
    assert dev.ping("a")["data"] == "v1:a"

    # The restarter starts watching just after it starts the child, so the child's "ready"
    # does not prove the watcher is in place; write again if a change went unseen.
    for _ in range(3):
        write_plugin(plugins, 2)
        restarting = dev.find(lambda line: line.get("event") == "restarting", start=first, within=WAIT / 3)
        if restarting is not None:
            break
    assert restarting is not None, f"no restart; stdout {dev.lines}; stderr {dev.stderr}"
    second = dev.lines[dev.event_index("ready", start=restarting)][1]

    assert second["pid"] != dev.lines[first][1]["pid"]
    assert dev.ping("b")["data"] == "v2:b"
    assert dev.close() == 0  # end of input stops the restarter too
    assert "Traceback" not in dev.stderr


LIMIT = 2  # FLEXT_PLUGIN_IMPORT_TIMEOUT of the tests below, in seconds
LOOPS_AT_IMPORT = "\nwhile True:\n    pass\n"
LOOPS_FOR_GOOD = (  # catches whatever interrupts it: nothing can stop this import
    "\nimport time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
    "    except BaseException:\n        pass\n"
)


def test_a_reload_that_loops_at_import_times_out_rolls_back_and_recovers(
    start: Callable[..., Dev], plugins: Path
) -> None:
    """Before: the plugin stayed reloading for ever, held dispatches never answered, a fix was ignored."""
    write_plugin(plugins, 1)
    dev = start("--watch", str(plugins), env={"FLEXT_PLUGIN_IMPORT_TIMEOUT": str(LIMIT)})
    dev.event("ready")
    assert dev.ping("a")["data"] == "v1:a"

    write(plugins / "echo.py", ECHO.format(version=2, startup="pass", name="echo") + LOOPS_AT_IMPORT)
    reloading = dev.event_index("reloading")
    held = dev.send({"dispatch": "echo:Ping", "data": {"text": "held"}})  # waits at the swap's hold
    failed_at = dev.event_index("reload_failed", start=reloading)
    failed = dev.lines[failed_at][1]
    assert (failed["plugin"], failed["stage"], failed["code"]) == ("echo", "import", "PLUGIN_LOAD_FAILED")
    assert f"import did not finish in {LIMIT} s" in failed["error"]
    assert "previous version was restored" in failed["error"]
    assert dev.reply(held) == {"id": held, "ok": True, "data": "v1:held"}, "the held dispatch was answered"
    assert dev.ping("b")["data"] == "v1:b"

    write_plugin(plugins, 3)  # the fix
    assert dev.event("reloaded", start=failed_at)["version"] == "3"
    assert dev.ping("c")["data"] == "v3:c"
    dev.process.send_signal(signal.SIGTERM)
    assert dev.process.wait(WAIT) == 0
    dev.event("stopped")


def test_a_reload_whose_start_up_never_returns_times_out_and_rolls_back(
    start: Callable[..., Dev], plugins: Path
) -> None:
    write_plugin(plugins, 1)
    dev = start("--watch", str(plugins), env={"FLEXT_PLUGIN_IMPORT_TIMEOUT": str(LIMIT)})
    dev.event("ready")
    write_plugin(plugins, 2, startup="while True: pass")
    failed = dev.event("reload_failed")
    assert failed["stage"] == "activate"
    assert f"flext_startup did not finish in {LIMIT} s" in failed["error"]
    assert dev.ping("a")["data"] == "v1:a"
    assert dev.close() == 0


@pytest.mark.parametrize("how", ["sigterm", "end-of-input"])
def test_flext_dev_stops_during_a_reload_that_loops(
    start: Callable[..., Dev], plugins: Path, how: str
) -> None:
    write_plugin(plugins, 1)
    dev = start("--watch", str(plugins), env={"FLEXT_PLUGIN_IMPORT_TIMEOUT": "60"})
    dev.event("ready")
    write(plugins / "echo.py", ECHO.format(version=2, startup="pass", name="echo") + LOOPS_AT_IMPORT)
    dev.event("reloading")
    stopping = time.monotonic()
    if how == "sigterm":
        dev.process.send_signal(signal.SIGTERM)
    else:
        assert dev.process.stdin is not None
        dev.process.stdin.close()
    assert dev.process.wait(WAIT) == 0
    assert time.monotonic() - stopping < 15, "it waited for the looping import's own limit"
    dev.event("stopped")


def test_flext_dev_stops_even_when_a_reload_cannot_be_interrupted(
    start: Callable[..., Dev], plugins: Path
) -> None:
    write_plugin(plugins, 1)
    dev = start(
        "--watch", str(plugins), "--drain-timeout", "1", env={"FLEXT_PLUGIN_IMPORT_TIMEOUT": str(LIMIT)}
    )
    dev.event("ready")
    write(plugins / "echo.py", ECHO.format(version=2, startup="pass", name="echo") + LOOPS_FOR_GOOD)
    dev.event("reloading")
    held = dev.send({"dispatch": "echo:Ping", "data": {"text": "held"}})
    dev.process.send_signal(signal.SIGTERM)
    assert dev.process.wait(WAIT) == 0
    dev.event("stopped")
    assert "a reload did not end" in dev.stderr
    assert held  # sent; it could not be answered, and the process still ended
