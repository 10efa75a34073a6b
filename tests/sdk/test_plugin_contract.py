"""PluginContract run by pytest itself (pytester) against a good plugin and against broken ones.

Each broken plugin has exactly one thing wrong; the test checks that the
contract test responsible for it fails with a message naming the problem,
and that the tests it does not concern pass (or skip, when they cannot run).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

pytest_plugins = ["pytester"]

# Inner runs skip the cache and hypothesis's plugin, which would re-import
# hypothesis on every run (pytester restores sys.modules afterwards): 1.6 s each.
INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

CONTRACT_TESTS = (
    "test_manifest_is_valid",
    "test_hooks_match_the_kernel_hookspecs",
    "test_command_targets_import",
    "test_plugin_activates_in_an_isolated_kernel",
    "test_health_reports_success",
    "test_close_stops_the_plugin",
    "test_registrations_are_owned_and_released",
)

# A module plugin that uses every hook, with owned registrations, a manifest
# command and a hook-declared command. Broken variants replace one marked line.
GOOD = """
from flext_sdk import CommandEntry, FlextCommand, FlextDomainEvent, FlextResult, PluginManifest, hookimpl

manifest = PluginManifest(
    name="{name}",
    version="1.0.0",
    commands=(CommandEntry(path=("{name}", "hello"), target="{module}_cli:hello", help="Say hello"),),
)

class Ping(FlextCommand):
    text: str

class Pinged(FlextDomainEvent):
    text: str

class Clock:
    def now(self) -> str:
        return "noon"

def on_pinged(event):
    return None

@hookimpl
def flext_register_services(container):
    container.register_singleton(Clock, owner="{name}")  # SERVICES

@hookimpl
def flext_register_handlers(command_bus, query_bus, event_bus):
    command_bus.register(Ping, lambda c: FlextResult.ok(c.text), owner="{name}")
    event_bus.subscribe(Pinged, on_pinged, owner="{name}")

@hookimpl
def flext_register_commands(registry):
    registry.add("{name} bye", "{module}_cli:app", "Say goodbye")  # COMMANDS

@hookimpl
def flext_startup(kernel):
    kernel.container.resolve(Clock)

@hookimpl
def flext_shutdown(kernel):
    pass  # SHUTDOWN

@hookimpl
def flext_health():
    return FlextResult.ok({{"clock": "fine"}})  # HEALTH
"""

CLI = """
from cyclopts import App

app = App(name="bye")

def hello() -> int:
    print("hello")
    return 0
"""


@dataclass
class Outcomes:
    """Per contract test: "passed", "failed" or "skipped", and the report text."""

    outcome: dict[str, str]
    text: dict[str, str]

    def failed(self) -> list[str]:
        return sorted(name for name, outcome in self.outcome.items() if outcome == "failed")


def run_contract(
    pytester: pytest.Pytester,
    module: str,
    source: str,
    *,
    plugin: str | None = None,
    extra: str = "",
) -> Outcomes:
    """Write the plugin and a test module subclassing PluginContract; run pytest on it in-process."""
    name = module.replace("_", "-")
    pytester.makepyfile(**{module: textwrap.dedent(source), f"{module}_cli": CLI})
    pytester.makepyfile(
        test_contract=f"""
        from flext_sdk.testing import PluginContract

        class TestThePlugin(PluginContract):
            plugin = {plugin or module!r}
            {extra}
        """
    )
    pytester.syspathinsert()
    recorder = pytester.inline_run(*INNER)
    outcome: dict[str, str] = {}
    text: dict[str, str] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        test = report.nodeid.rpartition("::")[2]
        if report.when == "call" or not report.passed:
            outcome.setdefault(test, report.outcome)
            if not report.passed:
                outcome[test] = report.outcome
                text[test] = text.get(test, "") + report.longreprtext
    assert set(outcome) == set(CONTRACT_TESTS), name
    return Outcomes(outcome, text)


def good(module: str) -> str:
    return GOOD.format(name=module.replace("_", "-"), module=module)


def broken(module: str, marker: str, line: str) -> str:
    """The good plugin with the line marked ``# marker`` replaced by ``line`` (same indentation)."""
    lines = []
    for original in good(module).splitlines():
        if original.rstrip().endswith(f"# {marker}"):
            indent = original[: len(original) - len(original.lstrip())]
            original = indent + line
        lines.append(original)
    return "\n".join(lines) + "\n"


def test_a_good_plugin_passes_every_contract_test(pytester: pytest.Pytester) -> None:
    outcomes = run_contract(pytester, "good_plugin", good("good_plugin"))
    assert outcomes.outcome == dict.fromkeys(CONTRACT_TESTS, "passed"), outcomes.text


FLEXT_PLUGIN = """
from flext_sdk import FlextPlugin, FlextResult, PluginManifest

class Store:
    pass

class Resourceful(FlextPlugin):
    manifest = PluginManifest(name="{name}", requires=("good-base",))

    def initialize(self, kernel):
        kernel.container.register(Store, Store(), owner="{name}")
        return FlextResult.ok(None)

    def health(self):
        return FlextResult.{health}

    def shutdown(self):
        return FlextResult.{shutdown}
"""

BASE = """
from flext_sdk import PluginManifest
manifest = PluginManifest(name="good-base")
"""


def flext_plugin(module: str, health: str = "ok({'status': 'ok'})", shutdown: str = "ok(None)") -> str:
    return FLEXT_PLUGIN.format(name=module.replace("_", "-"), health=health, shutdown=shutdown)


def test_a_good_flextplugin_subclass_with_a_required_plugin_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(good_base=BASE)
    outcomes = run_contract(
        pytester,
        "good_resourceful",
        flext_plugin("good_resourceful"),
        plugin="good_resourceful:Resourceful",
        extra='required_plugins = ("good_base",)',
    )
    assert outcomes.outcome == dict.fromkeys(CONTRACT_TESTS, "passed"), outcomes.text


def test_without_its_required_plugin_activation_fails_and_says_to_list_it(pytester: pytest.Pytester) -> None:
    outcomes = run_contract(
        pytester, "needy_plugin", flext_plugin("needy_plugin"), plugin="needy_plugin:Resourceful"
    )
    assert outcomes.failed() == ["test_plugin_activates_in_an_isolated_kernel"]
    message = outcomes.text["test_plugin_activates_in_an_isolated_kernel"]
    assert "requires plugin 'good-base', which is not installed" in message
    assert "required_plugins" in message
    for dependent in CONTRACT_TESTS[4:]:
        assert outcomes.outcome[dependent] == "skipped"
        assert "did not activate" in outcomes.text[dependent]


def test_plugin_objects_can_be_given_instead_of_targets(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        object_plugin=good("object_plugin"),
        object_plugin_cli=CLI,
        object_class=flext_plugin("object_class").replace('requires=("good-base",)', ""),
    )
    pytester.makepyfile(
        test_contract="""
        import object_class
        import object_plugin
        from flext_sdk.testing import PluginContract

        class TestTheModule(PluginContract):
            plugin = object_plugin

        class TestTheClass(PluginContract):
            plugin = object_class.Resourceful
        """
    )
    pytester.syspathinsert()
    pytester.inline_run(*INNER).assertoutcome(passed=2 * len(CONTRACT_TESTS))


# Broken manifests.


def test_an_invalid_manifest_fails_the_manifest_test(pytester: pytest.Pytester) -> None:
    source = good("bad_manifest").replace('name="bad-manifest"', 'name="Bad Manifest!"')
    outcomes = run_contract(pytester, "bad_manifest", source)
    assert outcomes.failed() == ["test_manifest_is_valid", "test_plugin_activates_in_an_isolated_kernel"]
    message = outcomes.text["test_manifest_is_valid"]
    assert "PluginManifest in it is invalid" in message
    assert "name" in message
    assert "Bad Manifest!" in message
    # The tests that need the plugin imported skip and point at the failing one.
    assert outcomes.outcome["test_hooks_match_the_kernel_hookspecs"] == "skipped"
    assert "test_manifest_is_valid says why" in outcomes.text["test_hooks_match_the_kernel_hookspecs"]


def test_a_manifest_that_is_not_a_pluginmanifest_is_named(pytester: pytest.Pytester) -> None:
    source = "manifest = {'name': 'dict-manifest'}\n"
    outcomes = run_contract(pytester, "dict_manifest", source)
    message = outcomes.text["test_manifest_is_valid"]
    assert "has a dict as 'manifest'" in message
    assert "PluginManifest(name=" in message


def test_a_kernel_range_that_excludes_this_kernel_is_reported(pytester: pytest.Pytester) -> None:
    source = good("old_plugin").replace('version="1.0.0",', 'version="1.0.0", kernel=">=9",')
    outcomes = run_contract(pytester, "old_plugin", source)
    assert "test_manifest_is_valid" in outcomes.failed()
    assert "kernel='>=9' excludes this flext-kernel" in outcomes.text["test_manifest_is_valid"]


def test_a_plugin_that_raises_on_import_is_reported_by_the_manifest_test(pytester: pytest.Pytester) -> None:
    outcomes = run_contract(pytester, "exploding", "raise RuntimeError('no driver installed')\n")
    assert "raised RuntimeError: no driver installed" in outcomes.text["test_manifest_is_valid"]
    activation = outcomes.text["test_plugin_activates_in_an_isolated_kernel"]
    assert "import failed: RuntimeError: no driver installed" in activation
    assert "Traceback" in activation


# Broken hooks.


def test_an_unknown_hook_name_fails_the_hooks_test_and_names_the_hook(pytester: pytest.Pytester) -> None:
    source = good("typo_hook").replace("def flext_register_services(", "def flext_regster_services(")
    outcomes = run_contract(pytester, "typo_hook", source)
    assert outcomes.failed() == [
        "test_hooks_match_the_kernel_hookspecs",
        "test_plugin_activates_in_an_isolated_kernel",
    ]
    message = outcomes.text["test_hooks_match_the_kernel_hookspecs"]
    assert "'flext_regster_services' is marked @hookimpl but the kernel has no hook" in message
    assert "did you mean 'flext_register_services'?" in message


def test_an_optional_unknown_hook_is_still_reported(pytester: pytest.Pytester) -> None:
    # pluggy accepts unknown hooks marked optionalhook=True without a word; the contract does not.
    source = good("optional_typo") + "\n@hookimpl(optionalhook=True)\ndef flext_startp(kernel):\n    pass\n"
    outcomes = run_contract(pytester, "optional_typo", source)
    assert outcomes.failed() == ["test_hooks_match_the_kernel_hookspecs"]
    assert "'flext_startp'" in outcomes.text["test_hooks_match_the_kernel_hookspecs"]
    assert "did you mean 'flext_startup'?" in outcomes.text["test_hooks_match_the_kernel_hookspecs"]


def test_an_unmarked_hook_function_is_reported(pytester: pytest.Pytester) -> None:
    source = good("unmarked").replace("@hookimpl\ndef flext_shutdown", "def flext_shutdown")
    outcomes = run_contract(pytester, "unmarked", source)
    assert outcomes.failed() == ["test_hooks_match_the_kernel_hookspecs"]
    message = outcomes.text["test_hooks_match_the_kernel_hookspecs"]
    assert "'flext_shutdown' has a hook's name but no @hookimpl marker" in message


def test_a_hook_with_a_wrong_argument_is_rejected_by_pluggy(pytester: pytest.Pytester) -> None:
    source = good("wrong_arg").replace("def flext_startup(kernel):", "def flext_startup(kernal):")
    source = source.replace("kernel.container.resolve(Clock)", "kernal.container.resolve(Clock)")
    outcomes = run_contract(pytester, "wrong_arg", source)
    assert "test_hooks_match_the_kernel_hookspecs" in outcomes.failed()
    message = outcomes.text["test_hooks_match_the_kernel_hookspecs"]
    assert "pluggy rejects the hook implementations" in message
    assert "kernal" in message


# Broken commands.


def test_a_manifest_command_whose_target_does_not_import_is_named(pytester: pytest.Pytester) -> None:
    source = good("hollow").replace('target="hollow_cli:hello"', 'target="hollow_missing:hello"')
    outcomes = run_contract(pytester, "hollow", source)
    assert outcomes.failed() == ["test_command_targets_import"]
    message = outcomes.text["test_command_targets_import"]
    assert (
        "command 'flext hollow hello' (from the manifest) -> 'hollow_missing:hello' does not import"
        in message
    )
    assert "no module named 'hollow_missing'" in message


def test_hook_declared_commands_are_checked_too(pytester: pytest.Pytester) -> None:
    source = broken("declared", "COMMANDS", 'registry.add("declared bye", "declared_cli:nope", "Bye")')
    source += "\nNOT_A_COMMAND = 42\n"
    source = source.replace('target="declared_cli:hello"', 'target="declared:NOT_A_COMMAND"')
    outcomes = run_contract(pytester, "declared", source)
    assert outcomes.failed() == ["test_command_targets_import"]
    message = outcomes.text["test_command_targets_import"]
    assert "command 'flext declared bye' (from flext_register_commands)" in message
    assert "has no attribute 'nope'" in message
    assert "'declared:NOT_A_COMMAND' is 42 (int); a command target must be a function or a cyclopts App" in (
        message.replace("\n", " ")
    )


def test_a_raising_register_commands_hook_is_reported(pytester: pytest.Pytester) -> None:
    source = broken("noisy_commands", "COMMANDS", "raise KeyError('no table')")
    outcomes = run_contract(pytester, "noisy_commands", source)
    assert "flext_register_commands raised KeyError" in outcomes.text["test_command_targets_import"]


# Broken lifecycle.


def test_a_failing_health_check_fails_the_health_test(pytester: pytest.Pytester) -> None:
    source = broken("sick", "HEALTH", "return FlextResult.fail('LDAP unreachable', error_code='TIMEOUT')")
    outcomes = run_contract(pytester, "sick", source)
    assert outcomes.failed() == ["test_health_reports_success"]
    message = outcomes.text["test_health_reports_success"]
    assert "flext_health of plugin 'sick' reports a failure right after start-up" in message
    assert "LDAP unreachable (TIMEOUT)" in message


def test_a_flextplugin_health_failure_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(good_base=BASE)
    outcomes = run_contract(
        pytester,
        "sickly",
        flext_plugin("sickly", health="fail('pool exhausted', error_code='UNAVAILABLE')"),
        plugin="sickly:Resourceful",
        extra='required_plugins = ("good_base",)',
    )
    assert outcomes.failed() == ["test_health_reports_success"]
    assert "pool exhausted (UNAVAILABLE)" in outcomes.text["test_health_reports_success"]


def test_health_details_must_be_a_dict(pytester: pytest.Pytester) -> None:
    source = broken("vague", "HEALTH", "return FlextResult.ok('fine')")
    outcomes = run_contract(pytester, "vague", source)
    assert outcomes.failed() == ["test_health_reports_success"]
    assert "the details must be a dict" in outcomes.text["test_health_reports_success"]


def test_a_shutdown_that_raises_fails_the_close_test(pytester: pytest.Pytester) -> None:
    source = broken("stubborn", "SHUTDOWN", "raise RuntimeError('cannot flush the buffer')")
    outcomes = run_contract(pytester, "stubborn", source)
    assert outcomes.failed() == ["test_close_stops_the_plugin"]
    message = outcomes.text["test_close_stops_the_plugin"]
    assert "closing the kernel did not stop plugin 'stubborn'; it is failed" in message
    assert "flext_shutdown raised RuntimeError: cannot flush the buffer" in message
    assert "Traceback" in message


def test_a_failing_flextplugin_shutdown_fails_the_close_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(good_base=BASE)
    outcomes = run_contract(
        pytester,
        "leaky",
        flext_plugin("leaky", shutdown="fail('3 connections still open')"),
        plugin="leaky:Resourceful",
        extra='required_plugins = ("good_base",)',
    )
    assert outcomes.failed() == ["test_close_stops_the_plugin"]
    assert "3 connections still open" in outcomes.text["test_close_stops_the_plugin"]


def test_a_startup_that_raises_fails_activation_and_the_rest_skip(pytester: pytest.Pytester) -> None:
    source = good("grumpy").replace(
        "kernel.container.resolve(Clock)", "raise ConnectionError('database is down')"
    )
    outcomes = run_contract(pytester, "grumpy", source)
    assert outcomes.failed() == ["test_plugin_activates_in_an_isolated_kernel"]
    message = outcomes.text["test_plugin_activates_in_an_isolated_kernel"]
    assert "flext_startup raised ConnectionError: database is down" in message
    assert outcomes.outcome["test_health_reports_success"] == "skipped"


# Ownership.


def test_a_registration_without_owner_is_named(pytester: pytest.Pytester) -> None:
    source = broken("careless", "SERVICES", "container.register_singleton(Clock)")
    outcomes = run_contract(pytester, "careless", source)
    assert outcomes.failed() == ["test_registrations_are_owned_and_released"]
    message = outcomes.text["test_registrations_are_owned_and_released"]
    assert "container.register_singleton(Clock) with owner=None" in message
    assert "Pass owner='careless'" in message


def test_a_subscription_owned_by_someone_else_is_named(pytester: pytest.Pytester) -> None:
    # The subscription moves to start-up, under another plugin's name.
    source = good("impostor").replace('event_bus.subscribe(Pinged, on_pinged, owner="impostor")', "")
    startup = "def flext_startup(kernel):\n    kernel.event_bus.subscribe(Pinged, on_pinged, owner='other')"
    source = source.replace("def flext_startup(kernel):", startup)
    outcomes = run_contract(pytester, "impostor", source)
    assert outcomes.failed() == ["test_registrations_are_owned_and_released"]
    message = outcomes.text["test_registrations_are_owned_and_released"]
    assert "event_bus.subscribe(Pinged, on_pinged) with owner='other'" in message


def test_a_contract_without_a_plugin_says_what_to_set(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_contract="""
        from flext_sdk.testing import PluginContract

        class TestNothing(PluginContract):
            pass
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(failed=3, errors=4)  # the kernel tests fail in their fixture
    result.stdout.fnmatch_lines(["*TestNothing does not say which plugin to test*plugin = *"])


def test_the_contract_base_class_itself_is_not_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_import="from flext_sdk.testing import PluginContract\n")
    pytester.inline_run(*INNER).assertoutcome(passed=0, failed=0, skipped=0)
