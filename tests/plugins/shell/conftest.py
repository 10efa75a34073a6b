"""Fixtures of the shell plugin's tests: a private FLEXT_HOME per test, its caches warmed once.

Building the command table and the options cache imports every plugin (seconds); one template
home is built per session and its ``cache/`` copied into each test's own FLEXT_HOME, whose
history, aliases and pipelines are the test's alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import EXAMPLE, flext


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FLEXT_HOME whose command table and options cache are built (by ``flext completion candidates``)."""
    home = tmp_path_factory.mktemp("template-home")
    done = flext(home, "completion", "candidates", FLEXT_COMP_LINE="flext pipeline run --")
    assert done.returncode == 0, done.stderr
    assert (home / "cache" / "shell-options.json").is_file()
    return home / "cache"


@pytest.fixture
def home(tmp_path: Path, warm_cache: Path) -> Path:
    """This test's own FLEXT_HOME (warm caches, nothing else)."""
    private = tmp_path / "flext-home"
    shutil.copytree(warm_cache, private / "cache")
    (private / "user").mkdir()
    return private


@pytest.fixture
def pipeline_home(home: Path, tmp_path: Path) -> Path:
    """``home`` with a pipeline ``nightly-orders`` registered by ``flext pipeline create``."""
    source = tmp_path / "nightly-orders.yaml"
    source.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("name: directory", "name: nightly-orders", 1)
    )
    for path in ("data", "transform"):
        if (EXAMPLE.parent / path).exists():
            shutil.copytree(EXAMPLE.parent / path, tmp_path / path)
    done = flext(home, "pipeline", "create", str(source))
    assert done.returncode == 0, done.stderr
    return home
