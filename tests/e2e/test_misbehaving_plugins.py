"""Plugins that misbehave, through the real ``flext``: every other command must go on.

A plugin is code FLEXT did not write. One that loops forever, exits, prints or
raises KeyboardInterrupt while it is imported, one that claims another
plugin's command, or one whose name or manifest is spelt oddly must cost the
user at most that plugin, with a reason that says what is wrong
(docs/security.md, "Misbehaving plugins").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from flext_sdk.testing import CliResult, FlextCliRunner

LIMIT = "2"  # FLEXT_PLUGIN_IMPORT_TIMEOUT for these tests, in seconds


def write_plugin(directory: Path, module: str, name: str, *, body: str = "", commands: str = "") -> Path:
    """A local plugin ``module.py`` with a manifest named ``name``; ``body`` runs at import, after it."""
    source = textwrap.dedent(
        f"""
        from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

        manifest = PluginManifest(name={name!r}, version="1.0.0", commands=({commands}))
        """
    ) + textwrap.dedent(body)
    path = directory / f"{module}.py"
    path.write_text(source, encoding="utf-8")
    return path


def command(path: str, target: str) -> str:
    return f"CommandEntry(path={tuple(path.split())!r}, target={target!r}, help='test command'),"


HELLO = """
def hello() -> int:
    print("hello from " + __name__)
    return 0
"""


@pytest.fixture
def cli(flext_cli: FlextCliRunner) -> FlextCliRunner:
    """``flext_cli`` with a bound that a hanging command reaches quickly (it hung for good before)."""
    return FlextCliRunner(flext_cli.home, timeout=45)


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    directory = tmp_path / "plugins"
    directory.mkdir()
    return directory


def run(cli: FlextCliRunner, plugins: Path, *args: str, **env: str) -> CliResult:
    return cli(*args, plugin_dirs=[plugins], env={"FLEXT_PLUGIN_IMPORT_TIMEOUT": LIMIT, **env})


def plugin_rows(result: CliResult) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in result.json()["data"]}


# Item 12: names and manifests.


def test_a_plugin_file_with_an_underscore_loads_under_its_canonical_name(
    flext_cli: FlextCliRunner, plugins: Path
) -> None:
    write_plugin(
        plugins, "plugin_cmd", "plugin_cmd", body=HELLO, commands=command("say-hi", "plugin_cmd:hello")
    )
    listed = plugin_rows(run(flext_cli, plugins, "--output", "json", "plugin", "list"))
    assert listed["plugin-cmd"]["state"] == "loaded", listed["plugin-cmd"]
    said = run(flext_cli, plugins, "say-hi")
    assert (said.exit_code, said.stdout) == (0, "hello from plugin_cmd\n"), said
    info = run(flext_cli, plugins, "--output", "json", "plugin", "info", "plugin_cmd")
    assert info.json()["data"]["name"] == "plugin-cmd", info
    off = run(flext_cli, plugins, "say-hi", FLEXT_DISABLE_PLUGINS="plugin_cmd")
    assert off.exit_code == 2, off
    assert "belongs to plugin 'plugin-cmd', which is disabled (PLUGIN_DISABLED)" in off.stderr


def test_a_dict_manifest_is_reported_as_what_it_is(flext_cli: FlextCliRunner, plugins: Path) -> None:
    (plugins / "dicty.py").write_text("manifest = {'name': 'dicty', 'version': '1.0'}\n", encoding="utf-8")
    info = run(flext_cli, plugins, "--output", "json", "plugin", "info", "dicty")
    assert info.json()["data"]["reason"] == (
        "dicty: manifest must be a PluginManifest, got dict; build it with PluginManifest(...)"
    )


# Item 9: loops, exits, prints and KeyboardInterrupt at import.


LOOPS = "while True:\n    pass\n"


def forget_command_table(cli: FlextCliRunner) -> None:
    """Drop the command cache, so the next run builds the table (imports plugins) again."""
    (cli.home / "cache" / "plugin-commands.json").unlink(missing_ok=True)


def looping_body(marks: Path) -> str:
    """A plugin body that notes each import started (one character in ``marks``), then loops."""
    return f"with open({str(marks)!r}, 'a') as marks:\n    marks.write('x')\n" + LOOPS


def test_a_plugin_that_loops_at_import_costs_one_time_limit_then_nothing(
    cli: FlextCliRunner, plugins: Path
) -> None:
    marks = plugins.parent / "looper-imports"
    looper = write_plugin(
        plugins, "looper", "looper", body=looping_body(marks), commands=command("loop", "looper:hello")
    )
    helped = run(cli, plugins, "--help")  # builds the command table: the one import that is waited for
    assert helped.exit_code == 0, helped
    assert marks.read_text() == "x", "the looping import was started once"
    for args in (("--help",), ("version",), ("--output", "json", "plugin", "list"), ("doctor",)):
        done = run(cli, plugins, *args)
        assert marks.read_text() == "x", f"flext {' '.join(args)} started the looping import again"
        assert done.exit_code == (1 if args == ("doctor",) else 0), done
    reason = f"import did not finish in {LIMIT} s; skipped until one of its files changes"
    listed = plugin_rows(run(cli, plugins, "--output", "json", "plugin", "list"))
    assert (listed["looper"]["state"], listed["looper"]["reason"]) == ("failed", reason)
    assert listed["events"]["state"] == "loaded", "every other plugin loads"
    assert run(cli, plugins, "loop").exit_code == 2, "its manifest was never read: an unknown command"
    assert reason in run(cli, plugins, "doctor").stdout

    write_plugin(plugins, "looper", "looper", body=HELLO, commands=command("loop", "looper:hello"))
    os.utime(looper, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a new mtime, even on coarse clocks
    fixed = run(cli, plugins, "loop")
    assert (fixed.exit_code, fixed.stdout) == (0, "hello from looper\n"), fixed


def test_the_escape_hatches_work_with_a_looping_plugin(cli: FlextCliRunner, plugins: Path) -> None:
    marks = plugins.parent / "looper-imports"
    write_plugin(plugins, "looper", "looper", body=looping_body(marks))
    # `plugin disable` boots the host without a command table, so it may wait for the import
    # once (the time limit ends it); the two variables keep the plugin from being imported at all.
    for args, env, imports in (
        (("plugin", "disable", "looper"), {}, 1),
        (("version",), {"FLEXT_DISABLE_PLUGINS": "looper"}, 0),
        (("--output", "json", "plugin", "list"), {"FLEXT_PLUGINS": "events"}, 0),
    ):
        forget_command_table(cli)
        before = len(marks.read_text()) if marks.exists() else 0
        done = run(cli, plugins, *args, **env)
        assert done.exit_code == 0, done
        started = (len(marks.read_text()) if marks.exists() else 0) - before
        assert started <= imports, f"flext {' '.join(args)} started the looping import {started} times"
    assert (
        plugin_rows(run(cli, plugins, "--output", "json", "plugin", "list"))["looper"]["state"] == "disabled"
    )


def test_a_plugin_that_exits_at_import_does_not_end_every_command(cli: FlextCliRunner, plugins: Path) -> None:
    write_plugin(plugins, "exiter", "exiter", body="import sys\nsys.exit(3)\n")
    versions = run(cli, plugins, "--output", "json", "version")
    assert versions.exit_code == 0, versions
    assert "exiter" in versions.json()["data"]["plugins"]
    doctor = run(cli, plugins, "--output", "json", "doctor")
    assert doctor.exit_code == 1, doctor
    assert {"plugin": "exiter", "problem": "import called sys.exit(3)"} in doctor.json()["data"]["problems"]


def test_a_plugin_that_prints_at_import_does_not_corrupt_json(cli: FlextCliRunner, plugins: Path) -> None:
    write_plugin(plugins, "printer", "printer", body="print('printed by a plugin')\n")
    for args in (("plugin", "list"), ("doctor",), ("pipeline", "list"), ("version",)):
        done = run(cli, plugins, "--output", "json", *args)
        assert done.json()["ok"] is True, done
        assert "printed by a plugin" not in done.stdout
    assert "printed by a plugin" in run(cli, plugins, "--output", "json", "plugin", "list").stderr


def test_a_plugins_keyboard_interrupt_is_contained(cli: FlextCliRunner, plugins: Path) -> None:
    write_plugin(plugins, "stopper", "stopper", body="raise KeyboardInterrupt\n")
    listed = run(cli, plugins, "--output", "json", "plugin", "list")
    assert listed.exit_code == 0, listed
    assert plugin_rows(listed)["stopper"]["reason"] == "import raised KeyboardInterrupt"


def test_the_users_ctrl_c_during_a_plugin_import_stops_the_command(
    cli: FlextCliRunner, plugins: Path
) -> None:
    marker = plugins.parent / "importing"
    body = f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(60)\n"
    write_plugin(plugins, "sleeper", "sleeper", body=body)
    process = subprocess.Popen(
        [*cli.command, "--plugins-dir", str(plugins), "--output", "json", "plugin", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.environment({"FLEXT_PLUGIN_IMPORT_TIMEOUT": "50"}),
    )
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the plugin's import never started"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, (out, err)
    assert json.loads(out)["code"] == "INTERRUPTED"


@pytest.mark.parametrize(
    ("args", "env", "disabled"),
    [
        (("plugin", "disable", "tripwire"), {}, False),
        (("--help",), {"FLEXT_DISABLE_PLUGINS": "tripwire"}, False),
        (("version",), {"FLEXT_DISABLE_PLUGINS": "tripwire"}, False),
        (("--output", "json", "plugin", "list"), {"FLEXT_PLUGINS": "events"}, False),
        (("doctor",), {}, True),
        (("--output", "json", "plugin", "list"), {}, True),
        (("version",), {}, True),
    ],
    ids=["plugin-disable", "help-env", "version-env", "list-only", "doctor-off", "list-off", "version-off"],
)
def test_the_escape_hatches_never_import_a_plugin_they_do_not_need(
    cli: FlextCliRunner, plugins: Path, args: tuple[str, ...], env: dict[str, str], disabled: bool
) -> None:
    """A disabled or left-out plugin is never imported, not even to rebuild the command table."""
    marker = plugins.parent / "imported"
    write_plugin(
        plugins, "tripwire", "tripwire", body=f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
    )
    if disabled:
        from flext_kernel.plugins.state import PluginStateStore

        PluginStateStore(cli.home / "plugins.db").set_enabled("tripwire", False)
    forget_command_table(cli)
    if args[0] == "plugin" and args[1] == "disable":  # its command table was built when it was enabled
        run(cli, plugins, "version")
        marker.unlink()
    done = run(cli, plugins, *args, **env)
    assert done.exit_code in (0, 1), done
    assert not marker.exists(), f"flext {' '.join(args)} imported a plugin it does not need"


# Item 11: two plugins claiming one command.

RUN_CLAIM = command("pipeline run", "clasher:run")
CLASHER_BODY = """
def run(*args: str) -> int:
    print("clasher ran")
    return 0
"""


def test_a_local_plugin_cannot_take_over_an_installed_command(cli: FlextCliRunner, plugins: Path) -> None:
    """Before: a warning, then clasher's own output for 'flext pipeline run', exit 0."""
    clasher = command("pipeline run", "clasher:run") + command("clasher-status", "clasher:run")
    write_plugin(plugins, "clasher", "clasher", body=CLASHER_BODY, commands=clasher)
    ran = run(cli, plugins, "pipeline", "run", "no-such-pipeline")
    assert "clasher ran" not in ran.stdout, ran
    assert ran.exit_code == 2, ran  # the pipeline plugin's answer: an unknown pipeline
    reason = (
        "its command 'flext pipeline run' is plugin 'pipeline''s; "
        "to use this plugin's instead: flext plugin pin 'pipeline run' clasher"
    )
    listed = plugin_rows(run(cli, plugins, "--output", "json", "plugin", "list"))
    assert (listed["clasher"]["state"], listed["clasher"]["reason"]) == ("failed", reason)
    own = run(cli, plugins, "clasher-status")
    assert own.exit_code == 1, own
    assert reason in own.stderr
    assert "PLUGIN_LOAD_FAILED" in own.stderr
    doctor = run(cli, plugins, "--output", "json", "doctor")
    assert {"plugin": "clasher", "problem": reason} in doctor.json()["data"]["problems"]


def test_a_pinned_command_goes_to_the_plugin_the_user_chose(cli: FlextCliRunner, plugins: Path) -> None:
    from flext_kernel.plugins.state import PluginStateStore

    write_plugin(
        plugins, "clasher", "clasher", body=CLASHER_BODY, commands=command("pipeline run", "clasher:run")
    )
    PluginStateStore(cli.home / "plugins.db").pin("pipeline run", "clasher")  # what flext plugin pin writes
    ran = run(cli, plugins, "pipeline", "run", "anything")
    assert (ran.exit_code, ran.stdout) == (0, "clasher ran\n"), ran
    assert run(cli, plugins, "pipeline", "list").exit_code == 0, (
        "the pipeline plugin keeps its other commands"
    )
    listed = plugin_rows(run(cli, plugins, "--output", "json", "plugin", "list"))
    assert listed["pipeline"]["state"] == "loaded"
    assert "pipeline run" not in listed["pipeline"]["commands"]


def test_flext_plugin_pin_chooses_and_clears_the_owner(cli: FlextCliRunner, plugins: Path) -> None:
    write_plugin(
        plugins, "clasher", "clasher", body=CLASHER_BODY, commands=command("pipeline run", "clasher:run")
    )
    pinned = run(cli, plugins, "plugin", "pin", "pipeline run", "clasher")
    assert pinned.exit_code == 0, pinned
    assert run(cli, plugins, "pipeline", "run", "x").stdout == "clasher ran\n"
    wrong = run(cli, plugins, "plugin", "pin", "pipeline run", "events")
    assert wrong.exit_code == 2, wrong
    assert "(NOT_FOUND)" in wrong.stderr or "(VALIDATION_ERROR)" in wrong.stderr
    cleared = run(cli, plugins, "plugin", "pin", "pipeline run", "--clear")
    assert cleared.exit_code == 0, cleared
    assert "clasher ran" not in run(cli, plugins, "pipeline", "run", "x").stdout
