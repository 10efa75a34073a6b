"""The pytest fixtures of flext_sdk.testing: flext_home, flext_kernel_factory and flext_cli."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from flext_kernel.paths import cache_dir, config_dir, user_plugins_dir
from flext_kernel.plugins.base import PluginState
from flext_sdk import FlextCommand, FlextPlugin, FlextResult, PluginManifest, hookimpl
from flext_sdk.testing import CliResult, FlextCliRunner, FlextKernelFactory, flext_command

pytest_plugins = ["pytester"]

INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


# flext_home


def test_flext_home_is_a_fresh_directory_in_the_environment(flext_home: Path, tmp_path: Path) -> None:
    assert flext_home.is_dir()
    assert flext_home.is_relative_to(tmp_path)
    assert list(flext_home.iterdir()) == []
    assert os.environ["FLEXT_HOME"] == str(flext_home)
    assert config_dir() == flext_home
    assert cache_dir().is_relative_to(flext_home)
    assert user_plugins_dir().is_relative_to(flext_home)


def test_flext_home_drops_the_callers_flext_variables(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("FLEXT_PLUGINS", "someone-elses")
    monkeypatch.setenv("FLEXT_STRICT_PLUGINS", "1")
    home = request.getfixturevalue("flext_home")
    assert "FLEXT_PLUGINS" not in os.environ
    assert "FLEXT_STRICT_PLUGINS" not in os.environ
    assert os.environ["FLEXT_HOME"] == str(home)


def test_flext_home_is_restored_after_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_HOME", "/the/users/own")
    pytester.makepyfile(
        test_home="""
        import os

        def test_uses_it(flext_home):
            assert os.environ["FLEXT_HOME"] == str(flext_home)
        """
    )
    pytester.inline_run(*INNER).assertoutcome(passed=1)
    assert os.environ["FLEXT_HOME"] == "/the/users/own"


# flext_kernel_factory


class Ping(FlextCommand):
    text: str


class Echo(FlextPlugin):
    manifest = PluginManifest(name="echo")
    stopped = 0

    @hookimpl
    def flext_register_handlers(self, command_bus, query_bus, event_bus) -> None:  # type: ignore[no-untyped-def]
        command_bus.register(Ping, lambda c: FlextResult.ok(c.text), owner="echo")

    def shutdown(self) -> FlextResult[None]:
        type(self).stopped += 1
        return FlextResult.ok(None)


def test_factory_boots_a_kernel_with_only_the_given_plugins(
    flext_kernel_factory: FlextKernelFactory, flext_home: Path
) -> None:
    # A local plugin in the user's plugins directory must not be discovered.
    (flext_home / "plugins").mkdir()
    (flext_home / "plugins" / "intruder.py").write_text("raise SystemExit('discovered!')\n", encoding="utf-8")
    kernel = flext_kernel_factory(Echo)
    assert list(kernel.plugins.records) == ["echo"]
    assert kernel.plugins.records["echo"].state is PluginState.ACTIVE
    assert kernel.command_bus.dispatch(Ping(text="hi")).value == "hi"


def test_each_kernel_is_separate(flext_kernel_factory: FlextKernelFactory) -> None:
    with_echo = flext_kernel_factory(Echo)
    empty = flext_kernel_factory()
    assert list(empty.plugins.records) == []
    assert empty.command_bus.dispatch(Ping(text="hi")).error_code == "NO_HANDLER"
    assert with_echo.command_bus.dispatch(Ping(text="hi")).is_success
    assert with_echo.container is not empty.container
    assert flext_kernel_factory.kernels == (with_echo, empty)


def test_factory_accepts_targets_modules_classes_and_objects(
    flext_kernel_factory: FlextKernelFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "factory_target_plugin.py").write_text(
        "from flext_sdk import PluginManifest\n"
        "manifest = PluginManifest(name='by-module')\n"
        "class Named:\n    manifest = PluginManifest(name='by-attr')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "factory_target_plugin", raising=False)

    class Local(FlextPlugin):  # defined in a function: not importable by name
        manifest = PluginManifest(name="local")

    class Bare:  # any object with a manifest
        manifest = PluginManifest(name="bare")

    import factory_target_plugin  # type: ignore[import-not-found]

    kernel = flext_kernel_factory("factory_target_plugin:Named", factory_target_plugin, Local, Bare())
    states = {name: record.state for name, record in kernel.plugins.records.items()}
    assert states == dict.fromkeys(("by-attr", "by-module", "local", "bare"), PluginState.ACTIVE)
    assert kernel.plugins.records["by-module"].candidate.target == "factory_target_plugin"
    assert kernel.plugins.records["by-attr"].candidate.target == "factory_target_plugin:Named"
    monkeypatch.delitem(sys.modules, "factory_target_plugin")


def test_objects_parked_for_the_kernel_are_forgotten_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_parked="""
        from flext_sdk import PluginManifest

        def test_boot(flext_kernel_factory):
            class Local:
                manifest = PluginManifest(name="local")
            record = flext_kernel_factory(Local()).plugins.records["local"]
            assert record.candidate.target.startswith("_flext_sdk_testing_plugin_")
        """
    )
    pytester.inline_run(*INNER).assertoutcome(passed=1)
    assert not [name for name in sys.modules if name.startswith("_flext_sdk_testing_plugin_")]


def test_kernels_are_closed_at_teardown(pytester: pytest.Pytester, tmp_path: Path) -> None:
    log = tmp_path / "lifecycle.log"
    pytester.makepyfile(
        test_closing=f"""
        import pathlib

        from flext_sdk import PluginManifest, hookimpl

        class Logged:
            manifest = PluginManifest(name="logged")

            @hookimpl
            def flext_startup(self, kernel):
                with open({str(log)!r}, "a") as f:
                    f.write("start\\n")

            @hookimpl
            def flext_shutdown(self, kernel):
                with open({str(log)!r}, "a") as f:
                    f.write("stop\\n")

        def test_two_kernels(flext_kernel_factory):
            flext_kernel_factory(Logged())
            flext_kernel_factory(Logged())
            assert pathlib.Path({str(log)!r}).read_text() == "start\\nstart\\n"
        """
    )
    pytester.inline_run(*INNER).assertoutcome(passed=1)
    assert log.read_text() == "start\nstart\nstop\nstop\n"


def test_a_strict_boot_failure_fails_the_test_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_strict="""
        from flext_sdk import FlextPlugin, FlextResult, PluginManifest

        class Moody(FlextPlugin):
            manifest = PluginManifest(name="moody")

            def initialize(self, kernel):
                return FlextResult.fail("LDAP is unreachable", error_code="TIMEOUT")

        def test_boot(flext_kernel_factory):
            flext_kernel_factory(Moody)
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 plugin(s) failed to boot in the test kernel:",
            "*- moody: flext_startup raised FlextResultError: *LDAP is unreachable (TIMEOUT)",
            "*test_strict.py:*",  # the test's own line is shown, not the factory's insides
        ]
    )


def test_a_strict_import_failure_fails_the_test_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_missing="""
        def test_boot(flext_kernel_factory):
            flext_kernel_factory("no_such_plugin_module:Plugin")
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot import plugin target 'no_such_plugin_module:Plugin'*"])


def test_non_strict_returns_the_kernel_with_the_failure_recorded(
    flext_kernel_factory: FlextKernelFactory,
) -> None:
    class Broken:
        manifest = PluginManifest(name="broken")

        @hookimpl
        def flext_startup(self, kernel: object) -> None:
            raise RuntimeError("no disk")

    kernel = flext_kernel_factory(Broken(), Echo, "absent_module_xyz", strict=False)
    records = kernel.plugins.records
    assert records["broken"].state is PluginState.FAILED
    assert records["broken"].reason == "flext_startup raised RuntimeError: no disk"
    assert records["absent-module-xyz"].state is PluginState.FAILED
    assert records["echo"].state is PluginState.ACTIVE


def test_the_factory_closes_a_kernel_the_test_closed_already(
    flext_kernel_factory: FlextKernelFactory,
) -> None:
    before = Echo.stopped
    with flext_kernel_factory(Echo) as kernel:
        pass
    assert kernel.plugins.records["echo"].state is PluginState.STOPPED
    flext_kernel_factory.close()  # what teardown does: no second shutdown
    assert Echo.stopped == before + 1


# flext_cli


GREETER = """
from flext_sdk import CommandEntry, PluginManifest

manifest = PluginManifest(
    name="greeter",
    commands=(CommandEntry(path=("greet",), target="greeter:greet", help="Say hello"),),
)

def greet(who: str = "world") -> int:
    print(f"hello {who}")
    return 0
"""


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "greeter.py").write_text(textwrap.dedent(GREETER), encoding="utf-8")
    return directory


def test_cli_runs_flext_in_the_isolated_home(flext_cli: FlextCliRunner, flext_home: Path) -> None:
    result = flext_cli("version")
    assert result.exit_code == 0, result
    assert result.stdout.startswith("flext 0.1.0")
    assert result.args == ("version",)
    assert flext_cli.home == flext_home
    assert any(flext_home.rglob("*.json")), "the run did not use FLEXT_HOME for its command cache"


def test_cli_json_output(flext_cli: FlextCliRunner) -> None:
    document = flext_cli("--output", "json", "version").json()
    assert document["ok"] is True
    assert document["data"]["flext_kernel"] == "0.1.0"


def test_cli_usage_errors_exit_2_with_one_error_line(flext_cli: FlextCliRunner) -> None:
    result = flext_cli("doctr")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: unknown command 'doctr' (USAGE_ERROR)"
    assert flext_cli("--output", "json", "doctr").json() == {
        "ok": False,
        "error": "unknown command 'doctr'",
        "code": "USAGE_ERROR",
    }


def test_cli_json_helper_explains_non_json_output(flext_cli: FlextCliRunner) -> None:
    result = flext_cli("version")
    with pytest.raises(
        ValueError, match=r"flext version did not print JSON:\nexit code 0\n--- stdout ---\nflext"
    ):
        result.json()


def test_cli_plugin_dirs_and_env(flext_cli: FlextCliRunner, plugins: Path) -> None:
    ran = flext_cli("greet", "--who", "ada", plugin_dirs=[plugins])
    assert (ran.exit_code, ran.stdout.strip()) == (0, "hello ada")
    assert ran.args == ("--plugins-dir", str(plugins), "greet", "--who", "ada")
    assert flext_cli("greet", plugin_dirs=[plugins], env={"FLEXT_DISABLE_PLUGINS": "greeter"}).exit_code == 2
    (plugins / "broken.py").write_text("raise RuntimeError('kaput')\n", encoding="utf-8")
    strict = flext_cli("version", plugin_dirs=[plugins], env={"FLEXT_STRICT_PLUGINS": "1"})
    assert strict.exit_code == 1
    assert "(PLUGIN_LOAD_FAILED)" in strict.stderr


def test_cli_environment_is_isolated_and_colourless(
    flext_cli: FlextCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_PLUGINS", "leaked")
    environment = flext_cli.environment({"EXTRA": "1"})
    assert environment["FLEXT_HOME"] == str(flext_cli.home)
    assert environment["NO_COLOR"] == "1"
    assert environment["EXTRA"] == "1"
    assert "FLEXT_PLUGINS" not in environment


def test_flext_command_prefers_the_console_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert flext_command() == (str(Path(sys.executable).with_name("flext")),)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert flext_command() == (str(tmp_path / "python"), "-m", "flext_kernel.cli")


def test_the_module_fallback_runs_flext(flext_home: Path) -> None:
    runner = FlextCliRunner(flext_home, command=(sys.executable, "-m", "flext_kernel.cli"))
    result = runner("--output", "json", "version")
    assert result.exit_code == 0, result
    assert result.json()["ok"] is True


def test_cli_result_is_frozen_and_prints_both_streams() -> None:
    result = CliResult(("x",), 1, "out\n", "error: bad (CODE)\n")
    with pytest.raises(AttributeError):
        result.exit_code = 0  # type: ignore[misc]
    assert str(result) == "exit code 1\n--- stdout ---\nout\n--- stderr ---\nerror: bad (CODE)"
    assert json.loads(CliResult((), 0, '{"ok": true}', "").stdout) == {"ok": True}
