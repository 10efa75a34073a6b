"""FlextResult's two builds pass the same tests: the compiled success storage and the pure-Python one.

The suite runs in-process with whichever build is installed (the compiled one wherever a
C compiler was present at install time, as on CI); this module runs the result tests again
with ``FLEXT_KERNEL_PURE_PYTHON=1``, the fallback of a machine without a compiler.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flext_kernel import result

HERE = Path(__file__).resolve().parent


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def test_the_compiled_storage_is_in_use_where_it_was_built() -> None:
    if not result.COMPILED and not _on_ci():
        pytest.skip("flext_kernel._speedups was not built here (no C compiler at install time)")
    assert result.COMPILED, "CI has a compiler: flext_kernel._speedups must have been built"
    assert result.FlextResult.ok is result.Success


def test_the_pure_python_build_passes_the_result_tests() -> None:
    environment = {**os.environ, "FLEXT_KERNEL_PURE_PYTHON": "1"}
    check = subprocess.run(
        [sys.executable, "-c", "from flext_kernel import result; print(result.COMPILED)"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=60,
    )
    assert check.stdout.strip() == "False"
    tests = [str(HERE / name) for name in ("test_result.py", "test_result_laws.py")]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
