"""The manifest's kernel range: the usual ``>=X`` is decided without packaging, and never differently."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from flext_kernel.plugins.manager import _plainly_at_least, _version_gate
from flext_kernel.plugins.manifest import PluginManifest

_release = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
_version = st.one_of(_release, _release.map(lambda v: v + "rc1"), _release.map(lambda v: v + "+local"))
_range = st.one_of(
    _release.map(lambda v: ">=" + v),
    _release.map(lambda v: ">= " + v),
    _release.map(lambda v: "==" + v),
    _release.map(lambda v: f">={v},<99"),
    _version.map(lambda v: ">=" + v),
)


@given(_range, _version)
def test_the_shortcut_only_ever_agrees_with_packaging(supported: str, kernel: str) -> None:
    if _plainly_at_least(supported, kernel):
        assert SpecifierSet(supported).contains(kernel, prereleases=True)


def test_the_gate_still_refuses_and_still_reports_a_bad_range() -> None:
    assert _version_gate(PluginManifest(name="p", version="1", kernel=">=0.1"), "0.1.0") is None
    refused = _version_gate(PluginManifest(name="p", version="1", kernel=">=0.2"), "0.1.0")
    assert refused == "supports flext-kernel >=0.2, but this is 0.1.0"
    assert "not a valid version specifier" in (
        _version_gate(PluginManifest(name="p", version="1", kernel=">=zero"), "0.1.0") or ""
    )


def test_the_default_range_does_not_import_packaging() -> None:
    code = (
        "import sys\n"
        "from flext_kernel.plugins.manager import _version_gate\n"
        "from flext_kernel.plugins.manifest import PluginManifest\n"
        "assert _version_gate(PluginManifest(name='p', version='1'), '0.1.0') is None\n"
        "assert 'packaging.specifiers' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
