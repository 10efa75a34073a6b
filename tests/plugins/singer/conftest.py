"""Small Singer programs for the engine's tests: a tap that counts, a target that writes a JSON file.

They are real executables run as subprocesses, written so each test can make
them slow, crash, or misbehave on purpose; the pipeline tests use the real
first-party and third-party taps and targets.
"""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path

import pytest


def _load_programs():
    """The shared programs module (tests are not a package, so it is loaded by path)."""
    spec = importlib.util.spec_from_file_location(
        "singer_programs", Path(__file__).parent / "singer_programs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TAP, TARGET = _load_programs().TAP, _load_programs().TARGET


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def counting_tap(tmp_path: Path) -> Path:
    return _script(tmp_path, "tap-numbers", TAP)


@pytest.fixture
def file_target(tmp_path: Path) -> Path:
    return _script(tmp_path, "target-file", TARGET)
