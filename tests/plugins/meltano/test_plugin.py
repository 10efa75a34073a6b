"""The meltano plugin without Meltano: manifest, lazy imports, and meltano.yml checks in-process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flext_sdk.testing import PluginContract


class TestMeltanoPlugin(PluginContract):
    plugin = "flext_plugin_meltano.plugin"
    required_plugins = ("flext_eventsourcing.plugin",)


def test_loading_the_plugin_imports_none_of_its_modules() -> None:
    code = (
        "import sys, flext_plugin_meltano.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('flext_plugin_meltano.') "
        "and m != 'flext_plugin_meltano.plugin' or m.split('.')[0] in ('meltano', 'jsonschema')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_fixture_project_is_what_meltano_reads(tmp_path: Path) -> None:
    from flext_plugin_meltano.project import load_project

    loaded = load_project(Path(__file__).parent / "project")
    assert loaded.is_success, loaded.error
    project = loaded.value
    assert project.environment == "dev"
    contractors = project.plugins["tap-ldif--contractors"]
    assert contractors.base == "tap-ldif"
    assert contractors.config["files"] == ["data/contractors.ldif"]
    assert contractors.config["apply_changes"] is True  # inherited
    assert contractors.select == ("users.*",)
    blocks = project.blocks(["directory-to-warehouse"]).unwrap()
    assert [block.state_suffix for block in blocks] == [
        "tap-ldif-to-target-sqlite",
        "tap-ldif--contractors-to-target-sqlite",
    ]
    assert [mapping for _plugin, mapping in blocks[0].mappers] == ["hash-mail"]
    prod = load_project(Path(__file__).parent / "project", environment="prod").unwrap()
    assert prod.plugins["target-sqlite"].config["hard_delete"] is False
    assert prod.env["WAREHOUSE_NAME"] == "warehouse"
