"""The example project of docs/plugins/testing.md passes under pytest, and its broken twin fails.

The page's file blocks (each after a ``<!-- file: PATH -->`` line) are
written to a fresh directory and pytest runs them, so the page cannot
drift from what the fixtures and PluginContract really do.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "plugins" / "testing.md"
FILE_BLOCK = re.compile(r"^<!-- file: (\S+) -->\n```\w*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INNER = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def page_files() -> dict[str, str]:
    files = {}
    for path, text in FILE_BLOCK.findall(PAGE.read_text(encoding="utf-8")):
        if text.startswith("# not run"):
            text = text.partition("\n")[2]
        files[path] = text
    return files


def write(pytester: pytest.Pytester, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = pytester.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_page_lists_the_example_files() -> None:
    assert set(page_files()) == {
        "plugins/greeter.py",
        "pyproject.toml",
        "tests/test_contract.py",
        "tests/test_greeter.py",
    }


def test_the_example_project_passes(pytester: pytest.Pytester) -> None:
    write(pytester, page_files())
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=13)  # the page says so: seven contract tests and six fixture tests


def test_the_example_project_with_an_unowned_handler_fails_the_contract(pytester: pytest.Pytester) -> None:
    files = page_files()
    plugin = files["plugins/greeter.py"]
    files["plugins/greeter.py"] = plugin.replace(
        "command_bus.register(Greet, greet_handler, owner=NAME)", "command_bus.register(Greet, greet_handler)"
    )
    assert files["plugins/greeter.py"] != plugin
    write(pytester, files)
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=12, failed=1)
    result.stdout.fnmatch_lines(["*command_bus.register(Greet) with owner=None*"])
