"""FlextResult's two builds pass the same tests: the compiled success storage and the pure-Python one.

The suite runs in-process with whichever build is installed (the compiled one wherever a
C compiler was present at install time, as on CI); this module runs the result tests again
with ``FLEXT_KERNEL_PURE_PYTHON=1``, the fallback of a machine without a compiler.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
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


def _printed(code: str, *, pure: str) -> str:
    """What ``code`` prints in a new interpreter with ``FLEXT_KERNEL_PURE_PYTHON=pure``."""
    environment = {**os.environ, "FLEXT_KERNEL_PURE_PYTHON": pure}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True, timeout=60
    )
    return done.stdout.strip()


_BUILD = "from flext_kernel import result; print(result.COMPILED)"


def test_the_pure_python_build_passes_the_result_tests() -> None:
    environment = {**os.environ, "FLEXT_KERNEL_PURE_PYTHON": "1"}
    assert _printed(_BUILD, pure="1") == "False"
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


def test_a_success_shows_its_signature_in_both_builds() -> None:
    assert list(inspect.signature(result.Success).parameters) == ["value"]
    assert list(inspect.signature(result.FlextResult.ok).parameters) == ["value"]
    code = "import inspect, flext_kernel.result as r; print(*inspect.signature(r.Success).parameters)"
    assert _printed(code, pure="1") == "value"


@pytest.mark.parametrize("setting", ["0", "false", ""])
def test_only_a_true_setting_asks_for_the_pure_build(setting: str) -> None:
    assert _printed(_BUILD, pure=setting) == str(result.COMPILED)


def test_a_long_chain_of_results_is_freed_without_exhausting_the_stack() -> None:
    # A success holding a success holding ... : freeing it recurses once per link unless the
    # storage's deallocation bounds it. Run apart, so that a crash fails this test only.
    code = textwrap.dedent(
        """
        from flext_kernel import result

        builds = [result.Success]
        if result.COMPILED:
            from flext_kernel._speedups import SuccessStorage

            builds.append(SuccessStorage)
        for build in builds:
            chain = None
            for _ in range(1_000_000):
                chain = build(chain)
            del chain
        print("freed")
        """
    )
    command = [sys.executable, "-c", code]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, "freed"), run.stderr[-2000:]
