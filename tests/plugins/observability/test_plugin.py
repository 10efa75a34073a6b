"""The plugin as the kernel sees it: the contract every plugin keeps, telemetry on and off."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flext_kernel.plugins.discovery import Candidate
from flext_sdk import FlextKernel
from flext_sdk.contracts.observability import PROMETHEUS_CONTENT_TYPE, GetMetricsText
from flext_sdk.testing import FlextKernelFactory, PluginContract

from .conftest import PLUGIN


class TestObservabilityPlugin(PluginContract):
    plugin = PLUGIN


def test_off_by_default_it_answers_an_empty_exposition_and_loads_no_opentelemetry() -> None:
    script = (
        "import sys\n"
        "from flext_sdk.testing import FlextKernelFactory\n"
        "from flext_sdk.contracts.observability import GetMetricsText\n"
        f"kernel = FlextKernelFactory()({PLUGIN!r}, 'flext_eventsourcing.plugin')\n"
        "answer = kernel.query_bus.execute(GetMetricsText()).unwrap()\n"
        "print(repr(answer.text), answer.content_type)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
        "('opentelemetry', 'prometheus_client', 'pydantic_settings')}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "FLEXT_EVENTSTORE_URL": "memory://"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    text, loaded = done.stdout.splitlines()
    assert text == f"'' {PROMETHEUS_CONTENT_TYPE}"
    assert loaded == "[]"


@pytest.mark.parametrize("value", ["", "none", "NONE", " none "])
def test_none_or_unset_adds_no_behaviour_to_the_buses(
    value: str, monkeypatch: pytest.MonkeyPatch, flext_kernel_factory: FlextKernelFactory
) -> None:
    monkeypatch.setenv("FLEXT_TELEMETRY_EXPORTER", value)
    kernel: FlextKernel = flext_kernel_factory(PLUGIN)
    for bus in (kernel.command_bus, kernel.query_bus, kernel.event_bus):
        assert bus.remove_owner("observability") == (1 if bus is kernel.query_bus else 0)  # only the handler


def test_a_bad_setting_fails_the_plugin_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXT_TELEMETRY_EXPORTER", "jaeger")
    # Booted by hand: the kernel factory fails the test when a plugin does not load.
    kernel = FlextKernel.boot([Candidate("observability", PLUGIN, "entry-point")]).unwrap()
    try:
        record = kernel.plugins.records["observability"]
        assert record.failed
        assert "FLEXT_TELEMETRY_EXPORTER" in (record.reason or "")
        assert "VALIDATION_ERROR" in (record.reason or "")
        # Its handler left with it: nothing answers metrics for a plugin that is not running.
        assert kernel.query_bus.execute(GetMetricsText()).error_code == "NO_HANDLER"
    finally:
        kernel.close()


def test_otlp_without_its_extra_fails_the_plugin_saying_what_to_install() -> None:
    # The OTLP exporter made unimportable, as it is where the extra is not installed.
    script = (
        "import sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('opentelemetry.exporter.otlp'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Missing())\n"
        "from flext_kernel.plugins.discovery import Candidate\n"
        "from flext_sdk import FlextKernel\n"
        f"kernel = FlextKernel.boot([Candidate('observability', {PLUGIN!r}, 'entry-point')]).unwrap()\n"
        "print(kernel.plugins.records['observability'].reason)\n"
        "kernel.close()\n"
    )
    env = {"PATH": "/usr/bin:/bin", "FLEXT_TELEMETRY_EXPORTER": "otlp"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "(NOT_FOUND)" in done.stdout
    assert 'pip install "flext-plugin-observability[otlp]"' in done.stdout
