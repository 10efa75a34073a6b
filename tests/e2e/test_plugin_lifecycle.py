"""A plugin's whole life in a fresh virtual environment: new, build, install, run, disable, uninstall.

The environment is made with uv from this checkout's kernel and SDK, so the
test sees what a user sees: the ``flext`` console script of that environment,
entry points of installed wheels, and the installer changing site-packages.
A failed install must leave the environment's package list exactly as it was.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pty
import queue
import re
import select
import shlex
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from flext_kernel.cli.commands.plugin_install import Installed, Installer, _origin, find_installer

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # bound on any line awaited from flext dev; reached only when something is broken


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).is_file():
        pytest.fail("these tests need uv (it is in the dev requirements: pip install uv)")
    return found


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The ``error: ...`` line (a progress note may come before it)."""
        return next((line for line in self.err.splitlines() if line.startswith("error: ")), "")


@dataclass
class Venv:
    """A fresh environment with flext-kernel, flext-sdk and pytest, and a FLEXT_HOME of its own."""

    path: Path
    home: Path
    tools: Path
    """A directory holding only ``uv``, put first on PATH so ``flext plugin install`` finds it."""
    uv: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("FLEXT_", "VIRTUAL_ENV", "PYTHON"))
        }
        environment.update(
            FLEXT_HOME=str(self.home),
            NO_COLOR="1",
            COLUMNS="200",
            PATH=f"{self.tools}{os.pathsep}{environment.get('PATH', '')}",
        )
        environment.update(extra or {})
        return environment

    def run(self, *command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
        done = subprocess.run(
            [str(part) for part in command],
            capture_output=True,
            text=True,
            env=self.env(env),
            cwd=cwd,
            timeout=180,
            check=False,
            stdin=subprocess.DEVNULL,  # no terminal: flext never waits for an answer here
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def flext(self, *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
        return self.run(self.path / "bin" / "flext", *args, cwd=cwd, env=env)

    def freeze(self) -> list[str]:
        done = self.run(self.uv, "pip", "freeze", "--python", self.python)
        assert done.code == 0, done.err
        return done.out.splitlines()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    uv = _uv()
    base = tmp_path_factory.mktemp("lifecycle")
    tools = base / "tools"
    tools.mkdir()
    (tools / "uv").symlink_to(uv)
    made = Venv(base / "venv", base / "home", tools, uv)
    assert made.run(uv, "venv", "--quiet", "--python", sys.executable, made.path).code == 0
    installed = made.run(
        uv, "pip", "install", "--quiet", "--python", made.python, ROOT / "kernel", ROOT / "sdk", "pytest>=8"
    )
    assert installed.code == 0, installed.err
    assert not (made.path / "bin" / "pip").exists(), "the fresh venv must rely on uv, as users of uv do"
    return made


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The environment the README's Quickstart makes: pip in it, the kernel, event sourcing and the SDK.

    No uv on PATH, so ``flext plugin install`` uses that pip, as it does for a Quickstart reader.
    """
    uv = _uv()
    base = tmp_path_factory.mktemp("checkout")
    tools = base / "tools"
    tools.mkdir()
    made = Venv(base / "venv", base / "home", tools, uv)
    assert made.run(uv, "venv", "--quiet", "--seed", "--python", sys.executable, made.path).code == 0
    members = [ROOT / "kernel", ROOT / "plugins" / "eventsourcing", ROOT / "sdk"]
    installed = made.run(uv, "pip", "install", "--quiet", "--python", made.python, *members)
    assert installed.code == 0, installed.err
    return made


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    files: dict[str, str],
    *,
    requires: Iterable[str] = (),
    plugins: dict[str, str] | None = None,
) -> Path:
    """Write a minimal pure-Python wheel by hand (no build backend needed)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {requirement}\n" for requirement in requires
    )
    contents[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: flext-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if plugins:
        contents[f"{info}/entry_points.txt"] = "[flext.plugins]\n" + "".join(
            f"{key} = {value}\n" for key, value in plugins.items()
        )
    record = [f"{path},{_record_hash(text.encode())},{len(text.encode())}" for path, text in contents.items()]
    contents[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
    return wheel


def plugin_module(name: str, body: str = "", target: str | None = None) -> str:
    module = "flext_plugin_" + name.replace("-", "_")
    return (
        "from flext_sdk import CommandEntry, PluginManifest\n"
        f"manifest = PluginManifest(name={name!r}, version='1.0', commands=(\n"
        f"    CommandEntry(path=({name!r},), target={target or module + ':run'!r}),))\n"
        "def run() -> int:\n    return 0\n" + body
    )


# The happy path, as a user walks it.


@pytest.mark.slow
def test_new_build_install_run_disable_enable_uninstall(venv: Venv, tmp_path: Path) -> None:
    created = venv.flext("plugin", "new", "greeter", "--directory", tmp_path)
    assert created.code == 0, created.err
    source = tmp_path / "flext-plugin-greeter"
    built = venv.run(venv.uv, "build", "--wheel", "--quiet", "--out-dir", tmp_path / "dist", source)
    assert built.code == 0, built.err
    (wheel,) = (tmp_path / "dist").glob("flext_plugin_greeter-0.1.0-py3-none-any.whl")
    before = venv.freeze()
    assert "greeter" not in venv.flext("--help").out

    installed = venv.flext("plugin", "install", wheel)
    assert installed.code == 0, installed.err
    assert installed.out.splitlines() == [
        "installed flext-plugin-greeter 0.1.0",
        "plugin greeter 0.1.0 loads: flext greeter hello",
    ]
    assert "greeter" in venv.flext("--help").out
    ran = venv.flext("greeter", "hello", "--who", "Ada")
    assert (ran.code, ran.out, ran.err) == (0, "Hello, Ada!\n", "")
    listed = venv.flext("--output", "json", "plugin", "list")
    sdk = next(p for p in json.loads(listed.out)["data"] if p["name"] == "sdk")  # made `plugin new` above
    assert (sdk["state"], sdk["distribution"], sdk["commands"]) == (
        "loaded",
        "flext-sdk",
        ["plugin new", "dev"],
    )
    greeter = next(p for p in json.loads(listed.out)["data"] if p["name"] == "greeter")
    assert (greeter["state"], greeter["distribution"], greeter["version"]) == (
        "loaded",
        "flext-plugin-greeter",
        "0.1.0",
    )

    # The scaffold's own tests (contract suite, handler, real CLI) pass against the installed wheel.
    tests = venv.run(venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=source)
    assert tests.code == 0, tests.out + tests.err
    assert " passed" in tests.out
    assert "failed" not in tests.out
    assert "skipped" not in tests.out

    assert venv.flext("plugin", "disable", "greeter").code == 0
    hidden = venv.flext("greeter", "hello")
    assert hidden.code == 2
    assert hidden.error == (
        "error: 'flext greeter hello' belongs to plugin 'greeter', which is disabled (PLUGIN_DISABLED)"
    )
    assert "greeter" not in venv.flext("--help").out
    assert venv.flext("plugin", "enable", "greeter").code == 0
    assert venv.flext("greeter", "hello").out == "Hello, world!\n"

    removed = venv.flext("--output", "json", "plugin", "uninstall", "greeter")
    assert removed.code == 0, removed.err
    assert json.loads(removed.out) == {
        "ok": True,
        "data": {
            "name": "greeter",
            "distribution": "flext-plugin-greeter",
            "version": "0.1.0",
            "plugins": ["greeter"],
        },
    }
    gone = venv.flext("greeter", "hello")
    assert gone.code == 2
    assert "unknown command 'greeter'" in gone.err
    assert "greeter" not in venv.flext("--help").out
    assert venv.freeze() == before
    assert not any(line.startswith("flext-plugin-greeter") for line in venv.freeze())


# Failures leave the environment exactly as it was.


@pytest.mark.slow
def test_failed_installs_roll_the_environment_back_exactly(venv: Venv, tmp_path: Path) -> None:
    helper = {"flext_e2e_helper.py": "VERSION = 1\n"}
    helper_v1 = make_wheel(tmp_path, "flext-e2e-helper", "1.0", helper)
    helper_v2 = make_wheel(tmp_path, "flext-e2e-helper", "2.0", {"flext_e2e_helper.py": "VERSION = 2\n"})
    assert venv.run(venv.uv, "pip", "install", "--python", venv.python, helper_v1).code == 0
    broken = make_wheel(
        tmp_path,
        "flext-plugin-broken",
        "1.0",
        {"flext_plugin_broken.py": "raise RuntimeError('kaput at import')\n"},
        requires=["flext-e2e-helper>=2"],
        plugins={"broken": "flext_plugin_broken"},
    )
    before = venv.freeze()
    assert "flext-e2e-helper @ " + helper_v1.as_uri() in before

    # The plugin raises at import; installing it also upgraded (and added) distributions.
    failed = venv.flext("plugin", "install", broken, helper_v2)
    assert failed.code == 1
    first = failed.error
    assert first.startswith(
        "error: plugin 'broken' failed to load: import failed: RuntimeError: kaput at import"
    )
    assert first.endswith("the installation was rolled back (PLUGIN_LOAD_FAILED)")
    assert venv.freeze() == before
    assert "Traceback" not in failed.err

    # A command target that does not import fails the install too.
    typo = make_wheel(
        tmp_path,
        "flext-plugin-typo",
        "1.0",
        {"flext_plugin_typo.py": plugin_module("typo", target="flext_plugin_typo:rnu")},
        plugins={"typo": "flext_plugin_typo"},
    )
    mistyped = venv.flext("--output", "json", "plugin", "install", typo)
    assert mistyped.code == 1
    report = json.loads(mistyped.out)
    assert (report["ok"], report["code"]) == (False, "PLUGIN_LOAD_FAILED")
    assert "command 'flext typo' (flext_plugin_typo:rnu) failed to import: AttributeError" in report["error"]
    assert venv.freeze() == before

    # A distribution without a flext.plugins entry point is not a plugin.
    not_plugin = venv.flext("plugin", "install", helper_v2)
    assert not_plugin.code == 2
    assert not_plugin.error.endswith("rolled back (NOT_A_PLUGIN)")
    assert venv.freeze() == before

    # The installer itself fails.
    missing = venv.flext("--output", "json", "plugin", "install", tmp_path / "nope-1.0-py3-none-any.whl")
    assert missing.code == 1
    assert json.loads(missing.out)["code"] == "INSTALL_FAILED"
    assert venv.freeze() == before

    # A plugin that works installs, and its dependency upgrade stays.
    fine = make_wheel(
        tmp_path,
        "flext-plugin-fine",
        "1.0",
        {"flext_plugin_fine.py": plugin_module("fine")},
        requires=["flext-e2e-helper>=2"],
        plugins={"fine": "flext_plugin_fine"},
    )
    ok = venv.flext("--output", "json", "plugin", "install", fine, helper_v2)
    assert ok.code == 0, ok.err
    data = json.loads(ok.out)["data"]
    assert {(d["name"], d["version"], d["previous"]) for d in data["distributions"]} == {
        ("flext-e2e-helper", "2.0", "1.0"),
        ("flext-plugin-fine", "1.0", None),
    }
    assert data["plugins"] == [
        {"name": "fine", "distribution": "flext-plugin-fine", "version": "1.0", "commands": ["flext fine"]}
    ]
    assert venv.flext("fine").code == 0
    assert venv.flext("plugin", "uninstall", "fine").code == 0


@pytest.mark.slow
def test_pip_installs_and_rolls_back_as_well(venv: Venv, tmp_path: Path) -> None:
    assert venv.run(venv.uv, "pip", "install", "--quiet", "--python", venv.python, "pip").code == 0
    pip = {"FLEXT_INSTALLER": "pip"}
    broken = make_wheel(
        tmp_path,
        "flext-plugin-pip-broken",
        "1.0",
        {"flext_plugin_pip_broken.py": "import flext_missing_dependency\n"},
        plugins={"pip-broken": "flext_plugin_pip_broken"},
    )
    before = venv.freeze()
    failed = venv.flext("plugin", "install", broken, env=pip)
    assert failed.code == 1
    assert "with pip" in failed.err
    assert "ModuleNotFoundError: No module named 'flext_missing_dependency'" in failed.error
    assert failed.error.endswith("(PLUGIN_LOAD_FAILED)")
    assert venv.freeze() == before
    fine = make_wheel(
        tmp_path,
        "flext-plugin-pip-fine",
        "1.0",
        {"flext_plugin_pip_fine.py": plugin_module("pip-fine")},
        plugins={"pip-fine": "flext_plugin_pip_fine"},
    )
    assert venv.flext("plugin", "install", fine, env=pip).code == 0
    assert venv.flext("pip-fine").code == 0
    assert venv.flext("plugin", "uninstall", "pip-fine", env=pip).code == 0
    assert venv.flext("pip-fine").code == 2
    assert venv.freeze() == before


@pytest.mark.slow
def test_uninstall_refuses_what_it_must_not_remove(venv: Venv, tmp_path: Path) -> None:
    kernel = venv.flext("plugin", "uninstall", "kernel")
    assert kernel.code == 2
    assert kernel.error == (
        "error: plugin 'kernel' is part of flext-kernel; uninstalling it would remove FLEXT itself"
        " (VALIDATION_ERROR)"
    )
    sdk = venv.flext("plugin", "uninstall", "sdk")  # the authoring tools' plugin ships in flext-sdk
    assert sdk.code == 2
    assert sdk.error == (
        "error: plugin 'sdk' is part of flext-sdk; uninstalling it would remove FLEXT itself"
        " (VALIDATION_ERROR)"
    )
    unknown = venv.flext("plugin", "uninstall", "nobody")
    assert unknown.code == 2
    assert unknown.error == "error: no plugin named 'nobody' is installed (NOT_FOUND)"
    plugins = venv.home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "local_one.py").write_text(plugin_module("local-one"), encoding="utf-8")
    local = venv.flext("plugin", "uninstall", "local-one")
    assert local.code == 2
    assert local.error.endswith("not an installed distribution (LOCAL_PLUGIN)")
    (plugins / "local_one.py").unlink()


@pytest.mark.slow
def test_new_refuses_the_name_of_an_installed_distribution(venv: Venv, tmp_path: Path) -> None:
    ghost = make_wheel(
        tmp_path, "flext-plugin-ghost", "1.0", {"flext_plugin_ghost.py": ""}
    )  # no plugin in it
    assert venv.run(venv.uv, "pip", "install", "--quiet", "--python", venv.python, ghost).code == 0
    refused = venv.flext("plugin", "new", "ghost", "--directory", tmp_path)
    assert refused.code == 2
    assert refused.err.splitlines() == [
        "error: invalid plugin name 'ghost': flext-plugin-ghost 1.0 is already installed (VALIDATION_ERROR)",
        "hint: choose another name; 'flext plugin list' shows the installed plugins",
    ]
    assert not (tmp_path / "flext-plugin-ghost").exists()
    assert venv.run(venv.uv, "pip", "uninstall", "--python", venv.python, "flext-plugin-ghost").code == 0


# The pieces, without an environment.


def test_restore_requirements_follow_pep_610() -> None:
    assert _origin(None) == (None, False)
    assert _origin('{"url": "file:///src/x", "dir_info": {"editable": true}}') == ("file:///src/x", True)
    assert _origin('{"url": "file:///w/x-1.0-py3-none-any.whl", "archive_info": {}}') == (
        "file:///w/x-1.0-py3-none-any.whl",
        False,
    )
    vcs = json.dumps(
        {
            "url": "https://g.example/x.git",
            "vcs_info": {"vcs": "git", "commit_id": "abc"},
            "subdirectory": "p",
        }
    )
    assert _origin(vcs) == ("git+https://g.example/x.git@abc#subdirectory=p", False)
    assert Installed("X", "1.0").requirement() == ["X==1.0"]
    assert Installed("X", "1.0", "file:///w/x.whl").requirement() == ["X @ file:///w/x.whl"]
    assert Installed("X", "1.0", "file:///src/x", editable=True).requirement() == ["-e", "/src/x"]


def test_installer_commands_target_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    uv = Installer("uv", "/bin/uv", python="/env/bin/python")
    assert uv.install_command(["a"], no_deps=True) == [
        "/bin/uv",
        "pip",
        "install",
        "--python",
        "/env/bin/python",
        "--no-deps",
        "a",
    ]
    assert uv.uninstall_command(["a"]) == ["/bin/uv", "pip", "uninstall", "--python", "/env/bin/python", "a"]
    pip = Installer("pip", "/env/bin/python")
    assert pip.uninstall_command(["a"])[:3] == ["/env/bin/python", "-m", "pip"]
    assert "-y" in pip.uninstall_command(["a"])
    chosen = find_installer("pip")
    assert chosen is not None
    assert (chosen.kind, chosen.program) == ("pip", sys.executable)
    monkeypatch.setenv("FLEXT_INSTALLER", "uv")
    from_env = find_installer()
    assert from_env is not None
    assert from_env.kind == "uv"


# The README's plugin lifecycle, as written there.


class DevSession:
    """A running ``flext dev``: its stdout read line by line as JSON as it comes, and its stderr."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self.seen: list[dict[str, object]] = []
        self._lines: queue.Queue[dict[str, object]] = queue.Queue()
        self._errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self._json), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self._errors.append), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: object, sink: Callable[[str], object]) -> None:
        for line in stream:  # type: ignore[attr-defined]  # a text pipe
            sink(line)

    def _json(self, line: str) -> None:
        try:
            self._lines.put(json.loads(line))
        except ValueError:
            self._lines.put({"unparsed": line})

    @property
    def stderr(self) -> str:
        return "".join(self._errors)

    def next(self, matches: Callable[[dict[str, object]], bool], what: str) -> dict[str, object]:
        """The next line that ``matches``; the lines passed over are kept in ``seen``."""
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if matches(line):
                return line
        pytest.fail(f"no {what} within {WAIT:.0f} s; stdout {self.seen}; stderr {self.stderr}")

    def event(self, kind: str) -> dict[str, object]:
        return self.next(lambda line: line.get("event") == kind, f"{kind!r} event")

    def ask(self, request: dict[str, object]) -> dict[str, object]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self.next(lambda line: line.get("id") == request["id"], f"reply to {request}")

    def close(self) -> int:
        """End the input, as the README says; the exit code."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(WAIT)

    def finish(self) -> None:
        """Kill it if it still runs; wait for both readers; close the pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT)
        for reader in self._readers:
            reader.join(WAIT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def readme_lifecycle() -> tuple[list[str], dict[str, object], str]:
    """The README's lifecycle block (comments dropped), its dev request, and the file it says to edit."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Plugins and the `flext` command", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    request = re.search(r"send `(\{.*?\})`", section, re.DOTALL)
    edited = re.search(r"change the greeting in\s+`([^`]+)`", section)
    assert block, "README.md's plugin lifecycle has no bash block"
    assert request, "README.md no longer shows the request to send to flext dev"
    assert edited, "README.md no longer names the file to edit"
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line], json.loads(" ".join(request.group(1).split())), edited.group(1)


@pytest.mark.slow
def test_the_readme_lifecycle_reloads_edits_for_real(checkout: Venv, tmp_path: Path) -> None:
    lines, request, edited = readme_lifecycle()

    def here(word: str) -> str:  # the README's .venv is this test's, and its /tmp is tmp_path
        if word.startswith(".venv/bin/"):
            return str(checkout.path / "bin" / word.removeprefix(".venv/bin/"))
        return str(tmp_path) + word.removeprefix("/tmp") if word.split("/")[:2] == ["", "tmp"] else word

    commands = [[here(word) for word in shlex.split(line)] for line in lines]
    steps = [command[1:3] for command in commands]
    assert (
        steps.index(["plugin", "new"]) < steps.index(["plugin", "install"]) < steps.index(["dev", "--watch"])
    )
    for command in commands:
        if command[1] == "dev":
            _edit_while_dev_runs(checkout, command, request, Path(here(edited)))
            continue
        done = checkout.run(*command)
        assert done.code == 0, f"{shlex.join(command)}: {done.err}"
        if command[1:3] == ["plugin", "install"]:
            assert done.out.splitlines()[0] == (
                f"installed flext-plugin-hello 0.1.0 (editable: {tmp_path / 'flext-plugin-hello'})"
            )
    assert checkout.flext("hello", "hello").code == 2, "the README's last steps uninstall the plugin"


def _edit_while_dev_runs(
    checkout: Venv, command: list[str], request: dict[str, object], edited: Path
) -> None:
    dev = DevSession(command, checkout.env())
    try:
        ready = dev.event("ready")
        assert ready["plugins"] == {"eventsourcing": "active", "sdk": "active", "hello": "active"}
        assert dev.ask(request) == {"id": request["id"], "ok": True, "data": "Hello, Ada!"}
        source = edited.read_text(encoding="utf-8")
        assert 'f"Hello, {who}!"' in source
        replaced = edited.with_name(f".{edited.name}.new")
        replaced.write_text(source.replace('f"Hello, {who}!"', 'f"Hi, {who}!"'), encoding="utf-8")
        replaced.replace(edited)  # as editors save: the watcher never sees half a file
        reloaded = dev.next(
            lambda line: line.get("event") in ("reloaded", "ignored", "reload_failed"), "reload"
        )
        assert (reloaded["event"], reloaded["plugin"]) == ("reloaded", "hello"), reloaded
        assert dev.ask(request)["data"] == "Hi, Ada!"
        assert dev.close() == 0
    finally:
        dev.finish()
    assert "Traceback" not in dev.stderr
    assert "flext dev: reloaded plugin hello 0.1.0" in dev.stderr


@pytest.mark.slow
def test_an_edit_to_a_copied_install_says_why_it_is_ignored(checkout: Venv, tmp_path: Path) -> None:
    assert checkout.flext("plugin", "new", "copied", "--directory", tmp_path).code == 0
    project = tmp_path / "flext-plugin-copied"
    installed = checkout.flext("plugin", "install", project)  # no -e: site-packages gets a copy
    assert installed.code == 0, installed.err
    handlers = project / "src" / "flext_plugin_copied" / "handlers.py"
    dev = DevSession([str(checkout.path / "bin" / "flext"), "dev", "--watch", str(project)], checkout.env())
    try:
        dev.event("ready")
        handlers.write_text(handlers.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        ignored = dev.event("ignored")
        assert dev.close() == 0
    finally:
        dev.finish()
    site = next(checkout.path.glob("lib/python3*/site-packages"))
    assert ignored == {
        "event": "ignored",
        "files": [str(handlers)],
        "plugin": "copied",
        "reason": f"plugin 'copied' runs from {site / 'flext_plugin_copied'}, not from this file"
        " (flext-plugin-copied is not an editable install)",
        "hint": f"flext plugin install -e {project}, then restart flext dev",
    }
    warning = [line for line in dev.stderr.splitlines() if line.startswith("warning: ")]
    assert warning == [
        f"warning: ignored change to {handlers}: {ignored['reason']} (hint: {ignored['hint']})"
    ]
    assert checkout.flext("plugin", "uninstall", "copied").code == 0


# Uninstalling what FLEXT ships or other plugins need asks first.


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """FLEXT (the meta distribution, without the plugins it would pull in) with singer and pipeline."""
    uv = _uv()
    base = tmp_path_factory.mktemp("shipped")
    tools = base / "tools"
    tools.mkdir()
    made = Venv(base / "venv", base / "home", tools, uv)
    assert made.run(uv, "venv", "--quiet", "--python", sys.executable, made.path).code == 0
    members = [
        ROOT / path
        for path in ("kernel", "plugins/eventsourcing", "sdk", "plugins/singer", "plugins/pipeline")
    ]
    installed = made.run(uv, "pip", "install", "--quiet", "--python", made.python, *members)
    assert installed.code == 0, installed.err
    meta = made.run(uv, "pip", "install", "--quiet", "--no-deps", "--python", made.python, ROOT)
    assert meta.code == 0, meta.err
    return made


def on_a_terminal(venv: Venv, *args: str, answer: str) -> tuple[int, str]:
    """Run flext on a pseudo-terminal, answer its question once it is asked; exit code and all output."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [str(venv.path / "bin" / "flext"), *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=venv.env(),
    )
    os.close(secondary)
    seen = b""
    answered = False
    deadline = time.monotonic() + WAIT
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([main], [], [], left)[0]:
                break
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the process exited and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not answered and seen.rstrip().endswith(b"[y/N]"):
                os.write(main, answer.encode() + b"\n")
                answered = True
        code = process.wait(WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)
        os.close(main)
    assert answered, f"flext asked nothing: {seen!r}"
    return code, seen.decode().replace("\r\n", "\n")


@pytest.mark.slow
def test_uninstall_asks_before_removing_what_flext_ships_or_others_require(shipped: Venv) -> None:
    before = shipped.freeze()
    hint = "hint: pass --yes to uninstall it anyway, or 'flext plugin disable {}' to turn it off instead"

    # No terminal and no --yes: refused, nothing changes.
    refused = shipped.flext("plugin", "uninstall", "pipeline")
    assert refused.code == 2
    assert refused.err.splitlines() == [
        "error: plugin 'pipeline' (flext-plugin-pipeline) ships with FLEXT;"
        " not uninstalling it without confirmation (USAGE_ERROR)",
        hint.format("pipeline"),
    ]
    needed = shipped.flext("--output", "json", "plugin", "uninstall", "singer")
    assert needed.code == 2
    assert json.loads(needed.out) == {
        "ok": False,
        "error": "plugin 'singer' (flext-plugin-singer) ships with FLEXT and is required by"
        " flext-plugin-pipeline; not uninstalling it without confirmation",
        "code": "USAGE_ERROR",
    }
    assert shipped.freeze() == before

    # On a terminal it asks; anything but yes keeps the plugin.
    code, shown = on_a_terminal(shipped, "plugin", "uninstall", "pipeline", answer="n")
    assert code == 2
    assert (
        "plugin 'pipeline' (flext-plugin-pipeline) ships with FLEXT."
        " Uninstall flext-plugin-pipeline anyway? [y/N] n\n"
        "error: plugin 'pipeline' was not uninstalled (not confirmed) (USAGE_ERROR)\n"
    ) in shown
    assert shipped.freeze() == before
    code, shown = on_a_terminal(shipped, "plugin", "uninstall", "pipeline", answer="y")
    assert code == 0, shown
    assert shown.endswith("uninstalled flext-plugin-pipeline 0.1.0: plugin pipeline\n")
    assert not any(line.startswith("flext-plugin-pipeline") for line in shipped.freeze())

    # --yes skips the question.
    forced = shipped.flext("plugin", "uninstall", "singer", "--yes")
    assert (forced.code, forced.out) == (0, "uninstalled flext-plugin-singer 0.1.0: plugin singer\n")
