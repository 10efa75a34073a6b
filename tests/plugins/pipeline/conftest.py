"""Connectors for the pipeline tests, installed the way users install theirs.

The counting tap and file target of tests/plugins/singer are packaged as a
small distribution and installed with ``flext data taps add ... --pip-url``
into their own tool environments (shared between test runs, like every tool
environment in the tests).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import yaml


def _load_programs():
    """The Singer programs of the engine tests (tests are not a package, so loaded by path)."""
    path = Path(__file__).parents[1] / "singer" / "singer_programs.py"
    spec = importlib.util.spec_from_file_location("singer_programs", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TAP, TARGET = _load_programs().TAP, _load_programs().TARGET
FLEXT = str(Path(sys.executable).parent / "flext")


def _package(root: Path) -> Path:
    """A distribution with the two programs as console scripts; rewritten only when they change."""
    package = root / "flext-test-connectors"
    files = {
        "pyproject.toml": '[project]\nname = "flext-test-connectors"\nversion = "1.0"\n'
        '[project.scripts]\ntap-numbers = "flext_test_connectors.tap:main"\n'
        'target-file = "flext_test_connectors.target:main"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["flext_test_connectors"]\n',
        "flext_test_connectors/__init__.py": "",
        "flext_test_connectors/tap.py": "def main():\n" + _indent(TAP),
        "flext_test_connectors/target.py": "def main():\n" + _indent(TARGET),
    }
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return package


def _indent(body: str) -> str:
    return "".join(f"    {line}\n" for line in body.strip().splitlines())


@pytest.fixture
def connectors(flext_cli, flext_home: Path) -> Path:
    """Install tap-numbers and target-file (once per machine); return the package directory."""
    package = _package(Path(os.environ["FLEXT_TOOLS_DIR"]).parent / "test-sources")
    for kind, name in (("taps", "tap-numbers"), ("targets", "target-file")):
        result = flext_cli("data", kind, "add", name, "--pip-url", str(package))
        assert result.exit_code == 0, result.stderr
    return package


@pytest.fixture
def define(tmp_path: Path, flext_cli):
    """Write and register a pipeline definition: define(name, tap_config, target_config, **more)."""

    def make(name: str, tap: dict, target: dict | None = None, **more) -> Path:
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        body = {
            "name": name,
            "extract": {"name": "tap-numbers", "config": tap},
            "load": {"name": "target-file", "config": target or {"path": "rows.json"}},
            **more,
        }
        path = folder / "pipeline.yaml"
        path.write_text(yaml.safe_dump(body))
        result = flext_cli("data", "pipeline", "create", str(path), "--replace")
        assert result.exit_code == 0, result.stderr
        return folder

    return make
