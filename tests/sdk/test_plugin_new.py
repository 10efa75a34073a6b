"""``flext plugin new``: the files it writes, the plugin they make, and its all-or-nothing errors."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flext_kernel.cli import main as cli_main
from flext_sdk.authoring import new as plugin_new
from flext_sdk.authoring._templates import FILES, PUBLISHED_INSTALL, render
from flext_sdk.authoring.plugin import VERSION

RUFF = Path(sys.executable).with_name("ruff")
FLEXT = Path(sys.executable).with_name("flext")
# The generated project has no ruff configuration of its own: check it with ruff's
# default line length and the rule families this repository selects.
RUFF_RULES = "E,F,W,I,B,UP,SIM,RUF,C4,PT,PIE,RET,TID,ANN,D"
RUFF_IGNORE = "D203,D213,D105,D107"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLEXT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path / "home"


@pytest.fixture
def where(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def flext(*args: str) -> int:
    return cli_main.main(list(args))


def tree(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text(encoding="utf-8")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def imported(where: Path) -> Iterator[list[str]]:
    """Make generated packages importable from ``where``; forget them afterwards."""
    prefixes: list[str] = []
    yield prefixes
    for name in [m for m in sys.modules if any(m.startswith(p) for p in prefixes)]:
        del sys.modules[name]
    sys.path[:] = [entry for entry in sys.path if not entry.startswith(str(where))]


def generate(where: Path, name: str, imported: list[str]) -> Path:
    assert flext("plugin", "new", name, "--directory", str(where)) == 0
    root = where / f"flext-plugin-{name}"
    sys.path.insert(0, str(root / "src"))
    imported.append("flext_plugin_" + name.replace("-", "_"))
    importlib.invalidate_caches()
    return root


# The files.


def test_writes_the_whole_distribution(home: Path, where: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert flext("plugin", "new", "greeter", "--directory", str(where)) == 0
    root = where / "flext-plugin-greeter"
    assert sorted(tree(root)) == sorted(
        [
            ".gitignore",
            "README.md",
            "pyproject.toml",
            "src/flext_plugin_greeter/__init__.py",
            "src/flext_plugin_greeter/cli.py",
            "src/flext_plugin_greeter/handlers.py",
            "src/flext_plugin_greeter/plugin.py",
            "src/flext_plugin_greeter/py.typed",
            "tests/test_plugin.py",
        ]
    )
    assert sorted(p.name for p in where.iterdir()) == ["flext-plugin-greeter"], "staging left behind"
    out = capsys.readouterr().out
    assert out.startswith(f"created {root}/ (9 files):")
    assert "flext greeter hello" in out


def test_pyproject_declares_the_entry_point_sdk_dependency_and_build(home: Path, where: Path) -> None:
    assert flext("plugin", "new", "ldap-sync", "--directory", str(where)) == 0
    project = tomllib.loads((where / "flext-plugin-ldap-sync" / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "flext-plugin-ldap-sync"
    major, minor = VERSION.split(".")[:2]
    assert project["project"]["dependencies"] == [f"flext-sdk>={major}.{minor}"]
    assert project["project"]["entry-points"]["flext.plugins"] == {
        "ldap-sync": "flext_plugin_ldap_sync.plugin:Plugin"
    }
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/flext_plugin_ldap_sync"]


def test_underscore_names_keep_the_entry_point_name_and_normalise_the_distribution() -> None:
    files = render("my_tool", kernel_range=">=0.1", sdk_requirement="flext-sdk>=0.1")
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["name"] == "flext-plugin-my-tool"
    assert project["project"]["entry-points"]["flext.plugins"] == {
        "my_tool": "flext_plugin_my_tool.plugin:Plugin"
    }
    assert "src/flext_plugin_my_tool/plugin.py" in files


def test_every_placeholder_is_filled() -> None:
    files = render("x1", kernel_range=">=9.9", sdk_requirement="flext-sdk>=9.9")
    assert len(files) == len(FILES)
    for path, text in files.items():
        assert "$" not in path
        assert "${" not in text
        assert "$name" not in text
        assert "$package" not in text, path
    assert 'kernel=">=9.9"' in files["src/flext_plugin_x1/plugin.py"]


def test_generated_python_is_formatted_and_lint_clean(home: Path, where: Path) -> None:
    assert flext("plugin", "new", "tidy-one", "--directory", str(where)) == 0
    root = where / "flext-plugin-tidy-one"
    fmt = subprocess.run(
        [str(RUFF), "format", "--isolated", "--check", "--diff", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run(
        [
            str(RUFF),
            "check",
            "--isolated",
            "--select",
            RUFF_RULES,
            "--ignore",
            RUFF_IGNORE,
            "--per-file-ignores",
            "tests/*:D103",  # test functions are named for what they check
            ".",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


# The next steps it prints.


@pytest.mark.slow
def test_following_only_what_it_printed_makes_a_project_whose_tests_pass(tmp_path: Path) -> None:
    """A fresh venv and pip, as printed: flext-sdk is not on PyPI, so the step must name local paths."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python").symlink_to(sys.executable)  # the `python` the printed step runs
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEXT_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(FLEXT_HOME=str(tmp_path / "home"), NO_COLOR="1", PATH=f"{tools}{os.pathsep}{os.defpath}")

    def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command], cwd=work, env=env, capture_output=True, text=True, timeout=900
        )

    created = run(FLEXT, "plugin", "new", "greeter")
    assert created.returncode == 0, created.stderr
    printed = created.stdout.splitlines()
    steps = [line.removeprefix("  ") for line in printed[printed.index("next:") + 1 :]]
    install = next(step for step in steps if ".venv/bin/pip install" in step).split(" && ")[-1]
    assert install != PUBLISHED_INSTALL, "this checkout's flext-sdk is not on PyPI: name where it is"
    readme = (work / "flext-plugin-greeter" / "README.md").read_text(encoding="utf-8")
    assert f"$ python -m venv .venv && {install}\n" in readme

    done = run("bash", "-euo", "pipefail", "-c", "\n".join(steps))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"=+ \d+ passed in ", done.stdout), done.stdout[-3000:]
    assert " failed" not in done.stdout
    assert done.stdout.endswith("Hello, you!\n")


def test_the_install_step_names_the_local_sources_of_flext_sdk() -> None:
    sources = plugin_new.local_sources("flext-sdk")
    # The contributor install (and CI) installs the workspace from this checkout.
    assert sources[-1] == str(Path(__file__).resolve().parents[2] / "sdk")
    assert Path(sources[0]).name == "kernel"
    assert plugin_new.install_step() == ".venv/bin/pip install " + " ".join(sources) + " -e '.[test]'"
    assert plugin_new.local_sources("pytest") == []  # from an index: pip finds it itself
    readme = render("x", kernel_range=">=0.1", sdk_requirement="flext-sdk>=0.1")["README.md"]
    assert f"$ python -m venv .venv && {PUBLISHED_INSTALL}\n" in readme
    assert "not on PyPI yet" not in readme


# The plugin the files make.


def test_generated_plugin_loads_and_its_handler_answers(
    home: Path, where: Path, imported: list[str], flext_kernel_factory: object
) -> None:
    generate(where, "unit-greeter", imported)
    plugin = importlib.import_module("flext_plugin_unit_greeter.plugin")
    handlers = importlib.import_module("flext_plugin_unit_greeter.handlers")
    manifest = plugin.Plugin.manifest
    assert manifest.name == "unit-greeter"
    assert [(entry.path, entry.target) for entry in manifest.commands] == [
        (("unit-greeter", "hello"), "flext_plugin_unit_greeter.cli:hello")
    ]
    kernel = flext_kernel_factory("flext_plugin_unit_greeter.plugin:Plugin")  # type: ignore[operator]
    assert kernel.plugins.records["unit-greeter"].state == "active"
    assert kernel.command_bus.dispatch(handlers.Hello(who="Ada")).value == "Hello, Ada!"
    blank = kernel.command_bus.dispatch(handlers.Hello(who="  "))
    assert blank.error_code == "VALIDATION_ERROR"
    kernel.remove_contributions("unit-greeter")  # registered with owner=NAME, so it can leave
    assert kernel.command_bus.dispatch(handlers.Hello()).error_code == "NO_HANDLER"


def test_generated_command_target_resolves_to_a_function_with_a_who_option(
    home: Path, where: Path, imported: list[str]
) -> None:
    import inspect

    generate(where, "unit-cli", imported)
    cli = importlib.import_module("flext_plugin_unit_cli.cli")
    assert list(inspect.signature(cli.hello).parameters) == ["who"]


# Errors: one line, exit 2, nothing written.


@pytest.mark.parametrize(
    "name", ["Bad", "1abc", "a--b", "a b", "-x", "trailing-", "kernel", "plugin", "doctor", "sdk", "dev"]
)
def test_bad_names_are_refused_and_nothing_is_written(
    home: Path, where: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert flext("plugin", "new", "--directory", str(where), "--", name) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: invalid plugin name {name!r}")
    assert err[0].endswith("(VALIDATION_ERROR)")
    assert list(where.iterdir()) == []


def test_names_of_installed_plugins_are_refused(tmp_path: Path) -> None:
    """``flext plugin new pipeline`` would make a second flext-plugin-pipeline: refused, nothing written."""
    from importlib.metadata import version

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "local_one.py").write_text("", encoding="utf-8")  # found by name; never imported here
    where = tmp_path / "work"
    where.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}
    env.update(FLEXT_HOME=str(tmp_path / "home"), NO_COLOR="1")
    pipeline = f"flext-plugin-pipeline {version('flext-plugin-pipeline')}"
    for name, taken in [
        ("pipeline", f"plugin 'pipeline' is already installed ({pipeline})"),
        ("local_one", f"plugin 'local-one' is already installed ({plugins / 'local_one.py'})"),
    ]:
        done = subprocess.run(
            [FLEXT, "--plugins-dir", str(plugins), "plugin", "new", name, "--directory", str(where)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            f"error: invalid plugin name {name!r}: {taken} (VALIDATION_ERROR)",
            "hint: choose another name; 'flext plugin list' shows the installed plugins",
        ]
    assert list(where.iterdir()) == []


def test_existing_directory_is_kept_without_force(
    home: Path, where: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = where / "flext-plugin-mine"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", encoding="utf-8")
    assert flext("plugin", "new", "mine", "--directory", str(where)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: {existing} already exists (ALREADY_EXISTS)"
    assert err[1].startswith("hint: ")
    assert tree(existing) == {"keep.txt": "mine"}
    assert sorted(p.name for p in where.iterdir()) == ["flext-plugin-mine"]


def test_force_replaces_an_existing_directory(home: Path, where: Path) -> None:
    existing = where / "flext-plugin-mine"
    existing.mkdir()
    (existing / "old.txt").write_text("old", encoding="utf-8")
    assert flext("plugin", "new", "mine", "--directory", str(where), "--force") == 0
    files = tree(existing)
    assert "old.txt" not in files
    assert "pyproject.toml" in files
    assert sorted(p.name for p in where.iterdir()) == ["flext-plugin-mine"], "old tree or staging left behind"


def test_missing_directory_is_not_found(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert flext("plugin", "new", "ok", "--directory", str(tmp_path / "nowhere")) == 2
    assert capsys.readouterr().err.splitlines()[0].endswith("does not exist (NOT_FOUND)")
    assert not (tmp_path / "nowhere").exists()


def test_json_output(home: Path, where: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert flext("--output", "json", "plugin", "new", "jay", "--directory", str(where)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert data["data"]["name"] == "jay"
    assert data["data"]["path"] == str(where / "flext-plugin-jay")
    assert "src/flext_plugin_jay/plugin.py" in data["data"]["files"]
    assert flext("--output", "json", "plugin", "new", "Jay", "--directory", str(where)) == 2
    refused = json.loads(capsys.readouterr().out)
    assert (refused["ok"], refused["code"]) == (False, "VALIDATION_ERROR")


# All or nothing.


def disk_full_after(allowed: int, under: Path) -> Callable[..., int]:
    """A ``Path.write_text`` that writes ``allowed`` files under ``under``, then fails like a full disk."""
    original = Path.write_text
    left = [allowed]

    def write_text(path: Path, *args: Any, **kwargs: Any) -> int:
        if path.is_relative_to(under):
            if left[0] == 0:
                raise OSError(28, "No space left on device")
            left[0] -= 1
        return original(path, *args, **kwargs)

    return write_text


def test_a_failed_write_leaves_nothing_behind(
    home: Path, where: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Path, "write_text", disk_full_after(3, where))
    assert flext("plugin", "new", "half", "--directory", str(where)) == 1
    monkeypatch.undo()
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: could not write {where / 'flext-plugin-half'}: ")
    assert err[0].endswith("(WRITE_FAILED)")
    assert list(where.iterdir()) == []


def test_a_failed_forced_write_keeps_the_old_tree(
    home: Path, where: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = where / "flext-plugin-keep"
    existing.mkdir()
    (existing / "old.txt").write_text("old", encoding="utf-8")
    monkeypatch.setattr(Path, "write_text", disk_full_after(5, where))
    assert flext("plugin", "new", "keep", "--directory", str(where), "--force") == 1
    monkeypatch.undo()
    assert tree(existing) == {"old.txt": "old"}
    assert sorted(p.name for p in where.iterdir()) == ["flext-plugin-keep"]


def test_write_tree_renames_into_place_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out"
    plugin_new.write_tree(target, {"a/b.txt": "b", "c.txt": "c"})
    assert tree(target) == {"a/b.txt": "b", "c.txt": "c"}
    plugin_new.write_tree(target, {"d.txt": "d"})
    assert tree(target) == {"d.txt": "d"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# The tutorial shows the generated files verbatim.


def test_authoring_guide_listings_are_what_new_writes() -> None:
    import re

    guide = (Path(__file__).resolve().parents[2] / "docs" / "plugins" / "authoring.md").read_text(
        encoding="utf-8"
    )
    listings = re.findall(r"^<!-- file: (\S+) -->\n```\w+\n(.*?)^```", guide, re.DOTALL | re.MULTILINE)
    assert len(listings) >= 5
    generated = plugin_new._files("greeter")
    for path, text in listings:
        assert text == generated[path], path
