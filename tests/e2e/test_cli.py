"""The real ``flext`` executable in subprocesses: assembly from plugins, isolation, the error contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

FLEXT = str(Path(sys.executable).with_name("flext"))


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    directory = tmp_path / "plugins"
    directory.mkdir()
    return directory


def flext(home: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}
    environment.update({"FLEXT_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"}, **(env or {}))
    done = subprocess.run(
        [FLEXT, *args], capture_output=True, text=True, env=environment, timeout=120, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


def plugin(
    directory: Path, module: str, name: str, commands: str = "", body: str = "", extra: str = ""
) -> None:
    source = f"""
        from flext_kernel.plugins.manifest import PluginManifest, CommandEntry, GroupEntry
        manifest = PluginManifest(name={name!r}, version="1.0.0", description="test plugin {name}",
                                  commands=({commands}){extra})
    """
    (directory / f"{module}.py").write_text(textwrap.dedent(source) + textwrap.dedent(body), encoding="utf-8")


GREET = """
def greet(who: str = "world") -> int:
    print(f"hello {who}")
    return 0
"""


def entry(path: str, target: str, text: str = "") -> str:
    return f"CommandEntry(path={tuple(path.split())!r}, target={target!r}, help={text!r}),"


def test_help_lists_kernel_commands_and_exits_zero(home: Path) -> None:
    run = flext(home, "--help")
    assert run.code == 0
    for command in ("plugin", "doctor", "version", "dev", "--output", "--plugins-dir"):
        assert command in run.out


def commands_in_help(text: str) -> set[str]:
    """The command names listed in the "Commands" box of a cyclopts help screen."""
    box = text.split("Commands", 1)[1].split("╰", 1)[0]
    names = (line.strip("│ ").split(" ", 1)[0] for line in box.splitlines()[1:])
    return {name for name in names if name and not name.startswith("-")}


def test_help_names_only_installed_commands(home: Path) -> None:
    only_kernel = flext(home, "--help", env={"FLEXT_PLUGINS": "kernel"})
    assert only_kernel.code == 0, only_kernel.err
    assert commands_in_help(only_kernel.out) == {"doctor", "plugin", "version"}
    text = only_kernel.out.lower()
    for absent in ("meltano", "ldap", "oracle", "singer", "dbt", "ldif", "pipeline", "data"):
        assert absent not in text, f"flext --help names {absent!r}, which is not installed"
    everything = flext(home, "--help")
    assert commands_in_help(everything.out) >= {"doctor", "plugin", "version", "dev", "algar"}
    assert "oracle" in everything.out.lower()  # the algar plugin's group: installed, so named
    assert "meltano" in commands_in_help(everything.out)  # installed with the workspace: named


def test_there_is_no_profile_option(home: Path) -> None:
    assert "--profile" not in flext(home, "--help").out
    run = flext(home, "--profile", "x", "version")
    assert run.code == 2
    assert run.out == ""
    assert run.err.splitlines() == [
        "error: unknown option --profile (USAGE_ERROR)",
        "hint: the options before the command are the global ones; see flext --help",
    ]
    as_json = flext(home, "--json", "--profile=x", "version")
    assert (as_json.code, json.loads(as_json.out)) == (
        2,
        {"ok": False, "error": "unknown option --profile", "code": "USAGE_ERROR"},
    )


def test_version_human_and_json(home: Path) -> None:
    human = flext(home, "version")
    assert human.code == 0
    assert human.out.startswith("flext 0.1.0")
    machine = flext(home, "--output", "json", "version")
    data = json.loads(machine.out)["data"]
    assert data["flext_kernel"] == "0.1.0"
    assert data["python"].count(".") == 2
    assert "kernel" not in data["plugins"]


def test_version_lists_plugin_versions_without_importing_them(home: Path, plugins: Path) -> None:
    plugin(plugins, "greeter", "greeter", body=GREET)
    listed = flext(home, "--plugins-dir", str(plugins), "--output", "json", "version")
    assert json.loads(listed.out)["data"]["plugins"]["greeter"] == "1.0.0"
    (plugins / "greeter.py").write_text("raise RuntimeError('imported on flext version')\n")
    # The cache is stale now (the file changed), so version rebuilds it and reports the failure
    # as a plugin without a version; it must still succeed.
    again = flext(home, "--plugins-dir", str(plugins), "version")
    assert again.code == 0, again.err
    assert "greeter ?" in again.out


def test_plugin_command_runs_and_help_imports_no_plugin_code(home: Path, plugins: Path) -> None:
    marker = plugins.parent / "imported"
    plugin(
        plugins,
        "greeter",
        "greeter",
        entry("greet", "greeter_commands:greet", "Say hello"),
        body=f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n",
    )
    package = plugins / "greeter_commands.py"
    package.write_text(GREET, encoding="utf-8")
    first = flext(home, "--plugins-dir", str(plugins), "--help")  # builds the command cache
    assert "greet" in first.out
    assert "Say hello" in first.out
    marker.unlink()
    again = flext(home, "--plugins-dir", str(plugins), "--help")
    assert again.code == 0
    assert "greet" in again.out
    assert not marker.exists(), "flext --help imported plugin code although the cache was fresh"
    ran = flext(home, "--plugins-dir", str(plugins), "greet", "--who", "ada")
    assert (ran.code, ran.out.strip()) == (0, "hello ada")


def test_broken_plugin_does_not_take_the_cli_down(home: Path, plugins: Path) -> None:
    (plugins / "broken.py").write_text("raise RuntimeError('kaput')\n", encoding="utf-8")
    plugin(plugins, "fine", "fine", entry("fine", "fine:greet"), body=GREET)
    plugin(plugins, "future", "future", entry("future", "future:greet"), body=GREET, extra=", kernel='>=99'")
    gone = flext(home, "--plugins-dir", str(plugins), "future")
    assert gone.code == 1
    listed = flext(home, "--plugins-dir", str(plugins), "--json", "plugin", "list")
    reason = next(p["reason"] for p in json.loads(listed.out)["data"] if p["name"] == "future")
    assert gone.err.splitlines() == [
        f"error: 'flext future' belongs to plugin 'future', which failed to load: {reason}"
        " (PLUGIN_LOAD_FAILED)",
        "hint: run 'flext plugin info future' or 'flext doctor'",
    ]
    ran = flext(home, "--plugins-dir", str(plugins), "fine")
    assert (ran.code, ran.out.strip()) == (0, "hello world")
    listed = flext(home, "--plugins-dir", str(plugins), "--output", "json", "plugin", "list")
    states = {p["name"]: (p["state"], p["reason"]) for p in json.loads(listed.out)["data"]}
    assert states["broken"] == ("failed", "import failed: RuntimeError: kaput")
    assert states["fine"] == ("loaded", None)
    doctor = flext(home, "--plugins-dir", str(plugins), "doctor")
    assert doctor.code == 1
    assert "kaput" in doctor.out
    strict = flext(home, "--plugins-dir", str(plugins), "version", env={"FLEXT_STRICT_PLUGINS": "1"})
    assert strict.code == 1
    assert strict.err.startswith("error: plugins failed to load: broken")
    assert "(PLUGIN_LOAD_FAILED)" in strict.err


def test_disable_enable_and_environment_overrides(home: Path, plugins: Path) -> None:
    plugin(plugins, "toggle", "toggle", entry("toggle", "toggle:greet"), body=GREET)
    base = ("--plugins-dir", str(plugins))
    assert flext(home, *base, "toggle").code == 0
    assert flext(home, *base, "plugin", "disable", "toggle").out.strip() == "plugin toggle disabled"
    hidden = flext(home, *base, "toggle")
    assert (hidden.code, hidden.out) == (2, "")
    assert hidden.err.splitlines() == [
        "error: 'flext toggle' belongs to plugin 'toggle', which is disabled (PLUGIN_DISABLED)",
        "hint: enable it with 'flext plugin enable toggle'",
    ]
    as_json = flext(home, *base, "--output", "json", "toggle", "--who", "x")
    assert (as_json.code, json.loads(as_json.out)["code"]) == (2, "PLUGIN_DISABLED")
    assert "toggle" not in flext(home, *base, "--help").out
    assert flext(home, *base, "plugin", "enable", "toggle").code == 0
    assert flext(home, *base, "toggle").code == 0
    for env in ({"FLEXT_DISABLE_PLUGINS": "toggle"}, {"FLEXT_PLUGINS": "other"}):
        left_out = flext(home, *base, "toggle", env=env)
        assert left_out.code == 2
        assert left_out.err.splitlines() == [
            "error: 'flext toggle' belongs to plugin 'toggle', which is disabled (PLUGIN_DISABLED)",
            "hint: FLEXT_PLUGINS or FLEXT_DISABLE_PLUGINS leaves 'toggle' out of this run;"
            " change them to use it",
        ]
    assert flext(home, *base, "toggle", env={"FLEXT_PLUGINS": "toggle"}).code == 0


def test_a_command_of_a_plugin_whose_requirement_is_disabled_names_that_plugin(
    home: Path, plugins: Path
) -> None:
    plugin(plugins, "base", "base", body=GREET)
    plugin(
        plugins,
        "child",
        "child",
        entry("kids hello", "child:greet") + entry("kids bye", "child:greet"),
        body=GREET,
        extra=", requires=('base',)",
    )
    base = ("--plugins-dir", str(plugins))
    assert flext(home, *base, "kids", "hello").code == 0
    assert flext(home, *base, "plugin", "disable", "base").code == 0
    for words in (("kids", "hello"), ("kids",), ("kids", "bye", "--help")):
        hidden = flext(home, *base, *words)
        assert hidden.code == 2, hidden
        command = " ".join(word for word in words if not word.startswith("-"))
        assert hidden.err.splitlines() == [
            f"error: 'flext {command}' belongs to plugin 'child', which requires plugin 'base',"
            " which is disabled (PLUGIN_DISABLED)",
            "hint: enable it with 'flext plugin enable base'",
        ]


def test_unknown_things_are_one_line_usage_errors(home: Path) -> None:
    typo = flext(home, "doctr")
    assert typo.code == 2
    assert typo.err.splitlines()[0] == "error: unknown command 'doctr' (USAGE_ERROR)"
    assert "did you mean 'doctor'" in typo.err
    assert "Traceback" not in typo.err
    as_json = flext(home, "--output", "json", "doctr")
    assert json.loads(as_json.out) == {"ok": False, "error": "unknown command 'doctr'", "code": "USAGE_ERROR"}
    missing = flext(home, "plugin", "info", "nope")
    assert missing.code == 2
    assert missing.err.splitlines()[0] == "error: no plugin named 'nope' (NOT_FOUND)"
    bad_option = flext(home, "--output", "xml", "version")
    assert bad_option.code == 2
    assert bad_option.err.splitlines()[0] == (
        'error: Invalid value "xml" for --output. Choose from: "table", "json", "yaml" (USAGE_ERROR)'
    )
    unknown_option = flext(home, "plugin", "info", "kernel", "--jsno")
    assert unknown_option.code == 2
    assert unknown_option.err.splitlines() == [
        "error: unknown option --jsno (USAGE_ERROR)",
        "hint: did you mean --json? run 'flext plugin info --help' for the options",
    ]
    assert unknown_option.out == ""
    bad_value = flext(home, "--json", "plugin", "list", "--bogus")
    assert bad_value.code == 2
    assert json.loads(bad_value.out) == {
        "ok": False,
        "error": "unknown option --bogus",
        "code": "USAGE_ERROR",
    }


def test_json_is_short_for_output_json(home: Path) -> None:
    before = flext(home, "--json", "version")
    after = flext(home, "version", "--json")
    assert before.code == after.code == 0
    assert (
        json.loads(before.out)
        == json.loads(after.out)
        == json.loads(flext(home, "--output", "json", "version").out)
    )


def test_command_whose_target_is_missing_names_its_plugin(home: Path, plugins: Path) -> None:
    plugin(plugins, "hollow", "hollow", entry("hollow", "hollow_missing_module:run"))
    ran = flext(home, "--plugins-dir", str(plugins), "hollow")
    assert ran.code == 1
    assert ran.err.startswith("error: command 'flext hollow' of plugin 'hollow' failed to import")
    assert "(PLUGIN_LOAD_FAILED)" in ran.err
    assert "Traceback" not in ran.err
    debug = flext(home, "--plugins-dir", str(plugins), "--debug", "hollow")
    assert "Traceback" in debug.err


def test_plugins_share_a_group_and_conflicts_are_reported(home: Path, plugins: Path) -> None:
    plugin(plugins, "alpha", "alpha", entry("data hello", "alpha:greet", "alpha's hello"), body=GREET)
    plugin(
        plugins,
        "beta",
        "beta",
        entry("data bye", "beta:bye") + entry("data hello", "beta:bye"),
        body="def bye() -> int:\n    print('bye')\n    return 0\n",
    )
    base = ("--plugins-dir", str(plugins))
    assert flext(home, *base, "data", "hello").out.strip() == "hello world"  # alpha keeps it: first by name
    # beta claims a command alpha has, so beta is refused (issue 22, item 11), not half-loaded
    refused = flext(home, *base, "data", "bye")
    assert refused.code == 1, refused
    assert "its command 'flext data hello' is plugin 'alpha''s" in refused.err
    doctor = flext(home, *base, "doctor")
    assert doctor.code == 1
    assert "its command 'flext data hello' is plugin 'alpha''s" in doctor.out
    # the user may give the command to beta: then both load, each with its own commands
    assert flext(home, *base, "plugin", "pin", "data hello", "beta").code == 0
    assert flext(home, *base, "data", "hello").out.strip() == "bye"
    assert flext(home, *base, "data", "bye").out.strip() == "bye"


def test_groups_are_described_by_their_group_entries_not_by_a_plugin(home: Path, plugins: Path) -> None:
    groups = (
        ', groups=(GroupEntry(path=("mail",), help="Send and read mail."),'
        ' GroupEntry(path=("plugin",), help="alpha tries to redescribe plugin"),)'
    )
    plugin(
        plugins,
        "alpha",
        "alpha",
        entry("mail send", "alpha:greet")
        + entry("data hello", "alpha:greet")
        + entry("plugin hi", "alpha:greet"),
        body=GREET,
        extra=groups,
    )
    plugin(
        plugins,
        "beta",
        "beta",
        entry("mail read", "beta:greet") + entry("tools hi", "beta:greet") + entry("data bye", "beta:greet"),
        body=GREET,
        extra=', groups=(GroupEntry(path=("mail",), help="beta loses: alpha is first"),)',
    )
    top = flext(home, "--plugins-dir", str(plugins), "--help", env={"FLEXT_PLUGINS": "alpha,beta"})
    assert top.code == 0, top
    assert "Send and read mail." in top.out
    assert "beta loses" not in top.out
    assert "List, inspect, install" in top.out  # the kernel describes its own group; a plugin cannot
    assert "alpha tries" not in top.out
    assert "test plugin beta" in top.out  # 'tools' has no GroupEntry and one plugin: its description
    # 'data' has no GroupEntry and two plugins: neither speaks for the other.
    assert "Commands of the plugins alpha, beta." in top.out
    bad = ', groups=(GroupEntry(path=("Bad Group",), help="x"),)'
    plugin(plugins, "gamma", "gamma", entry("gamma hi", "gamma:greet"), body=GREET, extra=bad)
    listed = flext(home, "--plugins-dir", str(plugins), "--output", "json", "plugin", "list")
    gamma = next(p for p in json.loads(listed.out)["data"] if p["name"] == "gamma")
    assert gamma["state"] == "failed"
    assert gamma["reason"] == (
        "import failed: invalid GroupEntry: path: Value error, "
        "command name 'Bad Group' must be lower case words joined by '-' or '_'"
    )
    assert "Send and read mail." in flext(home, "--plugins-dir", str(plugins), "--help").out


def test_editing_a_manifest_in_place_refreshes_the_command_cache(home: Path, plugins: Path) -> None:
    # A package plugin stands for an editable install: editing its module changes no directory listing.
    package = plugins / "pkg"
    package.mkdir()
    plugin(package, "__init__", "pkg", entry("pkg hello", "pkg:greet", "say hello"), body=GREET)
    assert "say hello" in flext(home, "--plugins-dir", str(plugins), "pkg", "--help").out
    init = package / "__init__.py"
    init.write_text(init.read_text().replace("say hello", "say hello politely"), encoding="utf-8")
    stat = init.stat()
    os.utime(init, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert "say hello politely" in flext(home, "--plugins-dir", str(plugins), "pkg", "--help").out


def test_requirements_hide_dependants_of_missing_plugins(home: Path, plugins: Path) -> None:
    plugin(
        plugins, "needy", "needy", entry("needy", "needy:greet"), body=GREET, extra=", requires=('ghost',)"
    )
    base = ("--plugins-dir", str(plugins))
    needy = flext(home, *base, "needy")
    assert needy.code == 1
    assert needy.err.splitlines() == [
        "error: 'flext needy' belongs to plugin 'needy', which failed to load: requires plugin 'ghost',"
        " which is not installed (PLUGIN_LOAD_FAILED)",
        "hint: run 'flext plugin info needy' or 'flext doctor'",
    ]
    info = flext(home, *base, "--output", "json", "plugin", "info", "needy")
    assert json.loads(info.out)["data"]["reason"] == "requires plugin 'ghost', which is not installed"


HANDLER = """
from flext_kernel.messages import FlextCommand
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.result import FlextResult

import shared_command


@hookimpl
def flext_register_handlers(command_bus):
    command_bus.register(shared_command.Ping, lambda c: FlextResult.ok("pong"), owner=manifest.name)
"""

UNHEALTHY = """
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.result import FlextResult


@hookimpl
def flext_health():
    return FlextResult.fail("database unreachable at 127.0.0.1:1", error_code="CONNECTION_ERROR")
"""


def test_doctor_finds_hook_conflicts_and_unhealthy_plugins(home: Path, plugins: Path) -> None:
    # The command type both plugins handle lives in a helper module outside discovery's reach
    # (directories starting with "_" are skipped), as a shared library would.
    support = plugins / "_support"
    support.mkdir()
    (support / "shared_command.py").write_text(
        "from flext_kernel.messages import FlextCommand\nclass Ping(FlextCommand):\n    pass\n"
    )
    sys_path_hack = (
        "import sys, pathlib\nsys.path.insert(0, str(pathlib.Path(__file__).parent / '_support'))\n"
    )
    plugin(plugins, "first", "first", body=sys_path_hack + HANDLER)
    plugin(plugins, "second", "second", body=sys_path_hack + HANDLER)
    plugin(plugins, "sick", "sick", body=UNHEALTHY)
    doctor = flext(home, "--plugins-dir", str(plugins), "--output", "json", "doctor")
    assert doctor.code == 1
    problems = {p["plugin"]: p["problem"] for p in json.loads(doctor.out)["data"]["problems"]}
    assert set(problems) == {"second", "sick"}, problems
    assert "flext_register_handlers raised" in problems["second"]
    assert "first" in problems["second"]  # the bus names the plugin that already handles Ping
    assert problems["sick"] == "unhealthy: database unreachable at 127.0.0.1:1"
    healthy = flext(home, "--plugins-dir", str(plugins), "doctor", env={"FLEXT_PLUGINS": "first"})
    assert healthy.code == 0, healthy.out
    assert healthy.out.startswith("no problems found in ")
