"""Isolated tool environments: built with uv, reused when unchanged, rebuilt when half-made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flext_sdk import tools


@pytest.fixture
def tools_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLEXT_TOOLS_DIR", str(tmp_path / "tools"))
    return tmp_path / "tools"


def _local_package(root: Path, name: str = "hello-tool") -> Path:
    """A tiny distribution with a console script, so installs need no network."""
    package = root / name
    (package / "hello_tool").mkdir(parents=True)
    (package / "hello_tool" / "__init__.py").write_text("def main():\n    print('hello from the tool')\n")
    (package / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
        '[project.scripts]\nhello-tool = "hello_tool:main"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["hello_tool"]\n'
    )
    return package


def test_install_builds_an_environment_whose_executable_runs(tools_home: Path, tmp_path: Path) -> None:
    package = _local_package(tmp_path)
    result = tools.install("hello", [str(package)])
    assert result.is_success, result.error
    tool = result.value
    executable = tool.executable("hello-tool")
    assert executable is not None
    out = subprocess.run([str(executable)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "hello from the tool"
    # flext's own environment did not get the package.
    assert subprocess.run([sys.executable, "-c", "import hello_tool"], capture_output=True).returncode != 0
    assert [t.name for t in tools.installed()] == ["hello"]


def test_same_requirements_reuse_the_environment(tools_home: Path, tmp_path: Path) -> None:
    package = _local_package(tmp_path)
    first = tools.install("hello", [str(package)]).unwrap()
    second = tools.install("hello", [str(package)]).unwrap()
    assert second.installed_at == first.installed_at


def test_a_half_made_environment_is_rebuilt(tools_home: Path, tmp_path: Path) -> None:
    package = _local_package(tmp_path)
    tool = tools.install("hello", [str(package)]).unwrap()
    (tool.path / "flext-tool.json").unlink()  # as if the install had been killed
    assert tools.environment("hello") is None
    again = tools.install("hello", [str(package)]).unwrap()
    assert again.executable("hello-tool") is not None
    assert again.installed_at > tool.installed_at


def test_a_failed_install_leaves_nothing_and_says_why(tools_home: Path, tmp_path: Path) -> None:
    result = tools.install("broken", [str(tmp_path / "no-such-package")])
    assert result.is_failure
    assert result.error_code == tools.TOOL_INSTALL_FAILED
    assert "broken" in (result.error or "")
    assert not (tools_home / "broken").exists()
    assert tools.environment("broken") is None


@pytest.mark.parametrize("name", ["", "../up", "a b", "/abs"])
def test_bad_names_are_refused(tools_home: Path, name: str) -> None:
    assert tools.install(name, ["x"]).error_code == "VALIDATION_ERROR"
    assert tools.environment(name) is None


def test_remove(tools_home: Path, tmp_path: Path) -> None:
    tools.install("hello", [str(_local_package(tmp_path))]).unwrap()
    assert tools.remove("hello").unwrap() is True
    assert tools.environment("hello") is None
    assert tools.remove("hello").unwrap() is False
