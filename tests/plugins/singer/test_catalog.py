"""The list of installable connectors: only what installs from PyPI or this checkout, with provenance.

No network here: the PyPI entries were checked once by installing them (each
entry's ``checked`` says what and when); these tests hold the list to its shape.
"""

from __future__ import annotations

import re
from pathlib import Path

from flext_plugin_singer.catalog import KNOWN, known, workspace_dir
from flext_plugin_singer.installed import installable, plugin_off, resolve

ROOT = Path(__file__).resolve().parents[3]
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def test_no_entry_installs_from_a_url_or_a_path() -> None:
    for entry in KNOWN:
        for what in (entry.package, entry.spec.pip_url or ""):
            assert not re.search(r"git\+|://|^[./~]", what), f"{entry.name}: {what}"


def test_each_entry_says_where_it_comes_from_and_what_was_checked() -> None:
    assert len({entry.name for entry in KNOWN}) == len(KNOWN)
    for entry in KNOWN:
        assert entry.origin in ("pypi", "workspace"), entry.name
        assert entry.name.startswith(("tap-", "target-")) or entry.kind == "mapper"
        assert entry.spec.description
        if entry.origin == "pypi":
            assert entry.spec.plugin is None
            assert entry.package in entry.checked, entry.name  # the package that was installed
            assert ISO_DATE.search(entry.checked), entry.name  # and when
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", entry.package), entry.name  # a bare name


def test_workspace_entries_are_plugins_of_this_checkout() -> None:
    workspace = [entry for entry in KNOWN if entry.origin == "workspace"]
    assert {entry.name for entry in workspace} == {"tap-ldif", "target-sqlite"}
    for entry in workspace:
        assert workspace_dir(entry) == ROOT / "plugins" / str(entry.spec.plugin)
        assert (
            f'name = "{entry.package}"'
            in (ROOT / "plugins" / str(entry.spec.plugin) / "pyproject.toml").read_text()
        )
    assert workspace_dir(known("target-jsonl")) is None  # type: ignore[arg-type]


def test_a_first_party_connector_whose_plugin_is_not_installed_is_offered_from_this_checkout(
    flext_kernel_factory,
) -> None:
    kernel = flext_kernel_factory("flext_plugin_singer.plugin")  # no ldif plugin at all
    offered = {entry.name: entry.origin for entry in installable(kernel, "tap", [])}
    assert offered["tap-ldif"] == "workspace"
    assert all(origin == "pypi" for name, origin in offered.items() if name != "tap-ldif")

    missing = resolve(kernel, "tap-ldif", "tap")
    assert missing.error_code == "NOT_FOUND"
    assert missing.error == "tap 'tap-ldif' comes with a plugin, but plugin 'ldif' is not installed"
    assert missing.error_data["hint"] == f"install it with 'flext plugin install {ROOT / 'plugins' / 'ldif'}'"


def test_a_first_party_connector_is_not_offered_while_its_plugin_is_installed(flext_kernel_factory) -> None:
    kernel = flext_kernel_factory("flext_plugin_singer.plugin", "flext_plugin_ldif.plugin")
    assert "tap-ldif" not in {entry.name for entry in installable(kernel, "tap", [])}
    entry = known("tap-ldif")
    assert entry is not None
    assert plugin_off(kernel, entry) is None  # it runs: its hook offers the connector
