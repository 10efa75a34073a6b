"""PluginManager: loading, gating, ordering and isolating plugins, with real modules on disk."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import Candidate, local_candidates
from flext_kernel.plugins.manager import PLUGIN_LOAD_FAILED, PluginManager

MANIFEST = "from flext_kernel.plugins.manifest import PluginManifest, CommandEntry\n"
HOOKS = "from flext_kernel.plugins.hookspecs import hookimpl\n"


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """A plugins directory whose modules are forgotten after the test."""
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def write(directory: Path, module: str, body: str) -> None:
    (directory / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")


def manifest(name: str, **fields: str) -> str:
    extra = "".join(f", {key}={value}" for key, value in fields.items())
    return f"{MANIFEST}manifest = PluginManifest(name={name!r}{extra})\n"


def load(directory: Path, **options: object) -> PluginManager:
    manager = PluginManager("0.1.0", **options)  # type: ignore[arg-type]
    manager.load(local_candidates([directory]))
    return manager


def test_a_valid_plugin_loads_with_its_commands(plugin_dir: Path) -> None:
    write(
        plugin_dir,
        "hello",
        MANIFEST + "manifest = PluginManifest(name='hello', version='1.2.0', description='greets',"
        " commands=(CommandEntry(path=('hello',), target='hello:run', help='Say hello'),))\n"
        "def run() -> int:\n    return 0\n",
    )
    record = load(plugin_dir).records["hello"]
    assert record.state is PluginState.LOADED
    assert record.manifest is not None
    assert record.manifest.version == "1.2.0"
    assert [c.target for c in record.commands] == ["hello:run"]
    assert record.summary()["commands"] == ["hello"]


def test_import_failure_is_isolated(plugin_dir: Path) -> None:
    write(plugin_dir, "broken", "raise RuntimeError('boom at import')\n")
    write(plugin_dir, "good", manifest("good"))
    manager = load(plugin_dir)
    broken = manager.records["broken"]
    assert broken.state is PluginState.FAILED
    assert broken.reason == "import failed: RuntimeError: boom at import"
    assert broken.detail is not None
    assert "Traceback" in broken.detail
    assert manager.records["good"].state is PluginState.LOADED
    assert [r.name for r in manager.failures()] == ["broken"]


def test_missing_manifest_and_name_mismatch_fail(plugin_dir: Path) -> None:
    write(plugin_dir, "nomanifest", "x = 1\n")
    write(plugin_dir, "misnamed", manifest("other-name"))
    manager = load(plugin_dir)
    assert "has no 'manifest'" in (manager.records["nomanifest"].reason or "")
    assert "does not match" in (manager.records["misnamed"].reason or "")


def test_kernel_version_gate(plugin_dir: Path) -> None:
    write(plugin_dir, "future", manifest("future", kernel="'>=9.0'"))
    write(plugin_dir, "garbled", manifest("garbled", kernel="'not a range'"))
    manager = load(plugin_dir)
    assert manager.records["future"].reason == "supports flext-kernel >=9.0, but this is 0.1.0"
    assert "not a valid version specifier" in (manager.records["garbled"].reason or "")


def test_unknown_hook_name_is_rejected(plugin_dir: Path) -> None:
    write(
        plugin_dir,
        "typo",
        manifest("typo") + HOOKS + "@hookimpl\ndef flext_regster_services(container):\n    pass\n",
    )
    record = load(plugin_dir).records["typo"]
    assert record.state is PluginState.FAILED
    assert "invalid hooks" in (record.reason or "")
    assert "flext_regster_services" in (record.reason or "")


def test_requirements_order_and_missing_and_cycles(plugin_dir: Path) -> None:
    write(plugin_dir, "base", manifest("base"))
    write(plugin_dir, "top", manifest("top", requires="('middle',)"))
    write(plugin_dir, "middle", manifest("middle", requires="('base',)"))
    write(plugin_dir, "orphan", manifest("orphan", requires="('absent',)"))
    write(plugin_dir, "ping", manifest("ping", requires="('pong',)"))
    write(plugin_dir, "pong", manifest("pong", requires="('ping',)"))
    manager = load(plugin_dir)
    order = [r.name for r in manager.active_order()]
    assert order.index("base") < order.index("middle") < order.index("top")
    assert manager.records["orphan"].reason == "requires plugin 'absent', which is not installed"
    assert "requirement cycle: ping -> pong -> ping" in (manager.records["ping"].reason or "")
    assert manager.records["pong"].state is PluginState.FAILED


def test_requiring_a_failed_plugin_fails_with_the_reason(plugin_dir: Path) -> None:
    write(plugin_dir, "shaky", "raise ImportError('no driver')\n")
    write(plugin_dir, "user", manifest("user", requires="('shaky',)"))
    reason = load(plugin_dir).records["user"].reason or ""
    assert reason.startswith("requires plugin 'shaky', which failed: import failed")


def test_disabled_and_only_plugins_are_not_imported(plugin_dir: Path) -> None:
    write(plugin_dir, "off", "raise SystemExit('must not be imported')\n")
    write(plugin_dir, "on", manifest("on"))
    manager = load(plugin_dir, disabled={"off"})
    assert manager.records["off"].state is PluginState.DISABLED
    assert "off" not in sys.modules
    only = load(plugin_dir, only={"on"})
    assert only.records["off"].state is PluginState.DISABLED


def test_duplicate_names_fail_the_second(plugin_dir: Path) -> None:
    write(plugin_dir, "twin", manifest("twin"))
    manager = PluginManager("0.1.0")
    candidates = local_candidates([plugin_dir])
    manager.load([*candidates, Candidate(name="twin", target="twin", source="entry-point", distribution="x")])
    assert "two plugins are named 'twin'" in (manager.records["twin"].reason or "")


PLUGIN_WITH_SERVICES = """
from flext_kernel.plugins.manifest import PluginManifest
from flext_kernel.plugins.hookspecs import hookimpl
from flext_kernel.messages import FlextCommand
from flext_kernel.result import FlextResult

manifest = PluginManifest(name={name!r})
EVENTS = []

class Ping{suffix}(FlextCommand):
    text: str

class Clock{suffix}:
    def now(self) -> str:
        return "noon"

@hookimpl
def flext_register_services(container):
    container.register_singleton(Clock{suffix}, owner={name!r})

@hookimpl
def flext_register_handlers(command_bus, query_bus, event_bus):
    command_bus.register(Ping{suffix}, lambda c: FlextResult.ok(c.text.upper()), owner={name!r})

@hookimpl
def flext_startup(kernel):
    {startup}
    EVENTS.append("startup")

@hookimpl
def flext_shutdown(kernel):
    EVENTS.append("shutdown")

@hookimpl
def flext_health():
    return FlextResult.ok({{"clock": "fine"}})
"""


def test_kernel_boot_runs_hooks_and_isolates_a_raising_startup(plugin_dir: Path) -> None:
    write(plugin_dir, "good", PLUGIN_WITH_SERVICES.format(name="good", suffix="A", startup="pass"))
    write(
        plugin_dir,
        "bad",
        PLUGIN_WITH_SERVICES.format(name="bad", suffix="B", startup="raise RuntimeError('db down')"),
    )
    kernel = FlextKernel.boot(local_candidates([plugin_dir])).unwrap()
    good, bad = sys.modules["good"], sys.modules["bad"]
    assert kernel.plugins.records["good"].state is PluginState.ACTIVE
    assert kernel.command_bus.dispatch(good.PingA(text="hi")).value == "HI"
    assert kernel.container.resolve(good.ClockA).now() == "noon"
    # The failing plugin is out, and so is everything it registered.
    record = kernel.plugins.records["bad"]
    assert record.state is PluginState.FAILED
    assert record.reason == "flext_startup raised RuntimeError: db down"
    assert kernel.command_bus.dispatch(bad.PingB(text="hi")).error_code == "NO_HANDLER"
    assert kernel.container.get(bad.ClockB).error_code == "NOT_FOUND"
    health = kernel.plugins.health()
    assert health["good"].value == {"clock": "fine"}
    assert "bad" not in health
    kernel.close()
    assert good.EVENTS == ["startup", "shutdown"]
    assert kernel.plugins.records["good"].state is PluginState.STOPPED


def test_strict_boot_fails_on_any_plugin_failure(plugin_dir: Path) -> None:
    write(plugin_dir, "broken", "raise RuntimeError('boom')\n")
    result = FlextKernel.boot(local_candidates([plugin_dir]), strict=True)
    assert result.error_code == PLUGIN_LOAD_FAILED
    assert result.error_data == {"failed": ["broken"]}
    assert "broken: import failed: RuntimeError: boom" in (result.error or "")


def test_flextplugin_lifecycle_failure_marks_failed(plugin_dir: Path) -> None:
    write(
        plugin_dir,
        "resourceful",
        MANIFEST + "from flext_kernel.plugins.base import FlextPlugin\n"
        "from flext_kernel.result import FlextResult\n"
        "class Plugin(FlextPlugin):\n"
        "    manifest = PluginManifest(name='resourceful')\n"
        "    def initialize(self, kernel):\n"
        "        return FlextResult.fail('cannot reach LDAP', error_code='TIMEOUT')\n",
    )
    candidate = Candidate(name="resourceful", target="resourceful:Plugin", source="entry-point")
    local_candidates([plugin_dir])  # puts the directory on sys.path
    kernel = FlextKernel.boot([candidate]).unwrap()
    record = kernel.plugins.records["resourceful"]
    assert record.state is PluginState.FAILED
    assert "cannot reach LDAP" in (record.reason or "")


def test_names_compare_in_their_canonical_form(plugin_dir: Path) -> None:
    """plugin_cmd.py naming itself plugin_cmd loads as plugin-cmd; every spelling finds it (PEP 503)."""
    write(plugin_dir, "plugin_cmd", manifest("plugin_cmd"))
    write(plugin_dir, "user", manifest("user", requires="('Plugin.Cmd',)"))
    manager = load(plugin_dir)
    record = manager.records["plugin-cmd"]
    assert (record.state, record.reason) == (PluginState.LOADED, None)
    assert manager.records["plugin_cmd"] is record
    assert manager.records.get("Plugin.Cmd") is record
    assert "plugin__cmd" in manager.records
    assert record.owners == ("plugin-cmd", "plugin_cmd")
    assert manager.records["user"].state is PluginState.LOADED
    assert [r.name for r in manager.active_order()] == ["plugin-cmd", "user"]
    assert load(plugin_dir, disabled=["plugin_cmd"]).records["plugin-cmd"].state is PluginState.DISABLED
    assert load(plugin_dir, only=["PLUGIN-CMD"]).records["plugin-cmd"].state is PluginState.LOADED


def test_a_manifest_that_is_not_a_plugin_manifest_says_what_it_is(plugin_dir: Path) -> None:
    write(plugin_dir, "dicty", "manifest = {'name': 'dicty', 'version': '1.0'}\n")
    write(plugin_dir, "bare", "x = 1\n")
    manager = load(plugin_dir)
    assert manager.records["dicty"].reason == (
        "dicty: manifest must be a PluginManifest, got dict; build it with PluginManifest(...)"
    )
    assert manager.records["bare"].reason == (
        "bare has no 'manifest'; add one: manifest = PluginManifest(name=..., version=...)"
    )


def test_a_mismatched_name_says_where_the_name_came_from(plugin_dir: Path) -> None:
    write(plugin_dir, "misnamed", manifest("other_name"))
    assert load(plugin_dir).records["misnamed"].reason == (
        "manifest name 'other_name' does not match the plugin's name 'misnamed' (from the file misnamed.py;"
        " names compare lower case, with '-', '_' and '.' alike)"
    )


def test_contributions_under_the_manifests_spelling_leave_with_the_plugin(plugin_dir: Path) -> None:
    write(
        plugin_dir,
        "under_score",
        manifest("under_score") + HOOKS + "from flext_kernel.messages import FlextCommand\n"
        "from flext_kernel.result import FlextResult\n"
        "class Ping(FlextCommand):\n    pass\n"
        "@hookimpl\ndef flext_register_services(container):\n"
        "    container.register('under-score-service', object(), owner='under_score')\n"
        "@hookimpl\ndef flext_register_handlers(command_bus):\n"
        "    command_bus.register(Ping, lambda c: FlextResult.ok('pong'), owner='under_score')\n"
        "@hookimpl\ndef flext_startup(kernel):\n    raise RuntimeError('late')\n",
    )
    kernel = FlextKernel.boot(local_candidates([plugin_dir])).unwrap()
    assert kernel.plugins.records["under-score"].state is PluginState.FAILED
    ping = sys.modules["under_score"].Ping
    assert kernel.command_bus.dispatch(ping()).error_code == "NO_HANDLER"
    assert kernel.container.get("under-score-service").is_failure
    kernel.close()


def command_plugin(directory: Path, module: str, *paths: str, name: str | None = None) -> None:
    entries = ", ".join(
        f"CommandEntry(path={tuple(path.split())!r}, target='{module}:run')" for path in paths
    )
    named = name or module
    write(directory, module, f"{MANIFEST}manifest = PluginManifest(name={named!r}, commands=({entries},))\n")


def commands(manager: PluginManager, name: str) -> list[str]:
    return [entry.name for entry in manager.records[name].commands]


def clash(plugin_dir: Path, **options: object) -> PluginManager:
    """``installed`` (an entry point) holds ``pipeline run`` and ``pipeline list``; local plugins clash."""
    command_plugin(plugin_dir, "_installed", "pipeline run", "pipeline list", name="installed")  # not local
    manager = PluginManager("0.1.0", **options)  # type: ignore[arg-type]
    manager.load([Candidate("installed", "_installed", "entry-point"), *local_candidates([plugin_dir])])
    return manager


def test_a_local_plugin_claiming_an_installed_command_is_refused(plugin_dir: Path) -> None:
    """Before, the first by name won: a local 'clasher' took over the installed 'pipeline run'."""
    command_plugin(plugin_dir, "clasher", "pipeline run", "clash")
    command_plugin(plugin_dir, "grabber", "pipeline")  # would turn the installed group into a command
    manager = clash(plugin_dir, pins={})
    assert manager.records["installed"].state is PluginState.LOADED
    assert commands(manager, "installed") == ["pipeline run", "pipeline list"]
    assert states(manager)["clasher"] == (
        "failed",
        "its command 'flext pipeline run' is plugin 'installed''s; "
        "to use this plugin's instead: flext plugin pin 'pipeline run' clasher",
    )
    assert states(manager)["grabber"] == (
        "failed",
        "its command 'flext pipeline' overlaps 'flext pipeline run', which is plugin 'installed''s; "
        "to use this plugin's instead: flext plugin pin 'pipeline' grabber",
    )
    assert [record.name for record in manager.active_order()] == ["installed"]


def test_between_two_local_plugins_the_first_by_name_keeps_the_command_and_the_other_is_refused(
    plugin_dir: Path,
) -> None:
    command_plugin(plugin_dir, "beta", "data hello", "data bye")
    command_plugin(plugin_dir, "alpha", "data hello")
    manager = load(plugin_dir, pins={})
    assert commands(manager, "alpha") == ["data hello"]
    assert states(manager)["beta"][0] == "failed"


def test_a_pin_gives_the_command_to_the_plugin_the_user_chose_and_fails_nobody(plugin_dir: Path) -> None:
    command_plugin(plugin_dir, "clasher", "pipeline run", "clash")
    chosen = clash(plugin_dir, pins={"pipeline run": "clasher"})
    assert {name: state for name, (state, _) in states(chosen).items()} == {
        "installed": "loaded",
        "clasher": "loaded",
    }
    assert commands(chosen, "clasher") == ["pipeline run", "clash"]
    assert commands(chosen, "installed") == ["pipeline list"]

    for name in ("clasher", "_installed"):
        sys.modules.pop(name, None)
    kept = clash(plugin_dir, pins={"pipeline run": "installed"})
    assert commands(kept, "installed") == ["pipeline run", "pipeline list"]
    assert commands(kept, "clasher") == ["clash"]
    assert kept.records["clasher"].state is PluginState.LOADED


def test_pins_are_read_from_the_users_plugin_state(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flext_kernel.plugins.state import PluginStateStore

    monkeypatch.setenv("FLEXT_HOME", str(plugin_dir.parent / "home"))
    PluginStateStore(plugin_dir.parent / "home" / "plugins.db").pin("pipeline  run", "Clasher")
    assert PluginStateStore(plugin_dir.parent / "home" / "plugins.db").pins() == {"pipeline run": "clasher"}
    command_plugin(plugin_dir, "clasher", "pipeline run")
    assert commands(clash(plugin_dir), "clasher") == ["pipeline run"]
    PluginStateStore(plugin_dir.parent / "home" / "plugins.db").pin("pipeline run", None)
    assert PluginStateStore(plugin_dir.parent / "home" / "plugins.db").pins() == {}


def test_a_plugin_added_later_is_the_newcomer(plugin_dir: Path) -> None:
    command_plugin(plugin_dir, "zulu", "hello")
    manager = load(plugin_dir, pins={})
    command_plugin(plugin_dir, "alpha", "hello")
    added = manager.add(next(c for c in local_candidates([plugin_dir]) if c.name == "alpha"))
    assert added.state is PluginState.FAILED
    assert "is plugin 'zulu''s" in (added.reason or "")
    assert commands(manager, "zulu") == ["hello"]


def states(manager: PluginManager) -> dict[str, tuple[str, str | None]]:
    return {name: (record.state.value, record.reason) for name, record in manager.records.items()}
