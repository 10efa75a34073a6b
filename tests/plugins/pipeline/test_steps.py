"""A pipeline finds what runs each of its steps through the kernel, before anything runs.

The kernels here hold real first-party plugins, booted from candidates (no
entry-point discovery), so a plugin can be left out ("not installed") or
disabled exactly as ``flext plugin disable`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flext_plugin_pipeline.definition import parse_definition
from flext_plugin_pipeline.steps import check_steps

from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.discovery import Candidate
from flext_sdk.contracts import hint_of, require_handler
from flext_sdk.contracts.dbt import RunDbt
from flext_sdk.contracts.singer import SingerEngine

TARGETS = {
    "eventsourcing": "flext_eventsourcing.plugin",
    "singer": "flext_plugin_singer.plugin",
    "ldif": "flext_plugin_ldif.plugin",
    "sqlite": "flext_plugin_sqlite.plugin",
    "dbt": "flext_plugin_dbt.plugin",
}

DIRECTORY = """\
name: directory
extract:
  name: tap-ldif
  config:
    files: [data/directory.ldif]
load:
  name: target-sqlite
  config:
    database: out.db
"""
WITH_DBT = DIRECTORY + "transform:\n  project: transform\n"

Boot = Callable[..., FlextKernel]


@pytest.fixture
def boot(flext_home) -> Iterator[Boot]:
    """boot(*plugins, disabled=()): a kernel of those first-party plugins, closed after the test."""
    kernels: list[FlextKernel] = []

    def make(*names: str, disabled: tuple[str, ...] = ()) -> FlextKernel:
        candidates = [Candidate(name=name, target=TARGETS[name], source="builtin") for name in names]
        kernel = FlextKernel.boot(candidates=candidates, disabled=disabled).unwrap()
        kernels.append(kernel)
        return kernel

    yield make
    for kernel in reversed(kernels):
        kernel.close()


def _definition(text: str):
    return parse_definition(text, "pipeline.yaml").unwrap()


def test_every_step_is_found_through_the_kernel(boot: Boot) -> None:
    kernel = boot(*TARGETS)
    steps = check_steps(kernel, _definition(WITH_DBT)).unwrap()
    assert isinstance(steps.singer, SingerEngine)
    assert steps.singer is kernel.container.resolve(SingerEngine)
    assert (steps.tap.name, steps.tap.plugin, steps.tap.source) == ("tap-ldif", "ldif", "plugin")
    assert (steps.target.name, steps.target.plugin) == ("target-sqlite", "sqlite")
    assert steps.mappers == ()


def test_a_disabled_dbt_plugin_fails_a_pipeline_with_a_dbt_step_only(boot: Boot) -> None:
    kernel = boot(*TARGETS, disabled=("dbt",))
    failed = check_steps(kernel, _definition(WITH_DBT))
    assert failed.error_code == "PLUGIN_DISABLED"
    assert failed.error == "pipeline 'directory' has a dbt transform step, but plugin 'dbt' is disabled"
    assert hint_of(failed) == "enable it with 'flext plugin enable dbt'"
    assert failed.error_data["plugin"] == "dbt"
    assert check_steps(kernel, _definition(DIRECTORY)).is_success  # dbt is not a requirement


def test_a_missing_dbt_plugin_says_what_to_install(boot: Boot) -> None:
    kernel = boot("eventsourcing", "singer", "ldif", "sqlite")
    failed = check_steps(kernel, _definition(WITH_DBT))
    assert failed.error_code == "NOT_FOUND"
    assert failed.error == "pipeline 'directory' has a dbt transform step, but plugin 'dbt' is not installed"
    assert hint_of(failed) == "install it with 'flext plugin install flext-plugin-dbt'"


def test_the_dbt_handler_leaves_with_its_plugin(boot: Boot) -> None:
    kernel = boot(*TARGETS)
    assert require_handler(kernel, RunDbt, why="x").is_success
    kernel.remove_contributions("dbt")  # what unloading or reloading the plugin does
    gone = require_handler(kernel, RunDbt, why="a pipeline has a dbt transform step")
    assert gone.error_code == "NO_HANDLER"
    assert "plugin 'dbt' is active but provides no RunDbt" in (gone.error or "")


def test_a_connector_of_a_disabled_plugin_is_not_there(boot: Boot) -> None:
    kernel = boot(*TARGETS, disabled=("ldif",))
    failed = check_steps(kernel, _definition(DIRECTORY))
    assert failed.error_code == "PLUGIN_DISABLED"
    assert failed.error == "tap 'tap-ldif' comes with a plugin, but plugin 'ldif' is disabled"
    assert hint_of(failed) == "enable it with 'flext plugin enable ldif'"


def test_without_singer_no_step_can_run(boot: Boot) -> None:
    kernel = boot("eventsourcing", "ldif", "sqlite", "dbt")
    assert kernel.plugins.records["ldif"].state.value == "active"  # its connectors hook is optional
    failed = check_steps(kernel, _definition(DIRECTORY))
    assert failed.error_code == "NOT_FOUND"
    assert failed.error == "pipeline 'directory' runs Singer connectors, but plugin 'singer' is not installed"
