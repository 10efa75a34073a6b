"""FlextResult's static types: a failure passes on as a result of any type, with no ignore.

mypy --strict checks two small modules against a copy of ``flext_kernel.result``
(and the errors module, its one import) outside the workspace, so the run
analyses three small files instead of the whole kernel and takes about a second.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import flext_kernel.errors
import flext_kernel.result

ACCEPTED = """\
from typing import assert_type

from flext_kernel.result import Failure, FlextResult, Success


def parse(text: str) -> FlextResult[int]:
    return FlextResult.ok(int(text)) if text.isdigit() else FlextResult.fail("nan")


def by_isinstance(text: str) -> FlextResult[str]:
    port = parse(text)
    if isinstance(port, Failure):
        assert_type(port.error, str)
        return port
    return FlextResult.ok(str(port.value))


def by_match(text: str) -> FlextResult[bytes]:
    match parse(text):
        case Failure() as failed:
            return failed
        case Success(value):
            return FlextResult.ok(bytes(value))
    raise AssertionError


def built_failure() -> FlextResult[list[str]]:
    failed = FlextResult.fail("x")
    assert_type(failed, Failure)
    return failed.map(str)


def first_failure(results: list[FlextResult[int]]) -> FlextResult[str]:
    every = FlextResult.sequence(results)
    if isinstance(every, Failure):
        return every
    return FlextResult.ok(",".join(map(str, every.value)))


def covariant(flag: FlextResult[bool], found: FlextResult[int]) -> list[FlextResult[int | None]]:
    return [flag, found]


def fallback(result: FlextResult[int]) -> None:
    assert_type(result.unwrap_or(None), int | None)
    assert_type(result.recover(len), FlextResult[int])
    assert_type(result.map(str), FlextResult[str])
"""

# Each line marked "# error" must be reported, and nothing else: the check can fail.
REJECTED = """\
from flext_kernel.result import Failure, FlextResult


def other_type(result: FlextResult[str]) -> FlextResult[int]:
    return result  # error


def unnarrowed(result: FlextResult[str]) -> FlextResult[int]:
    if result.is_failure:
        return result  # error
    return FlextResult.ok(len(result.value))


def mutate(result: FlextResult[int], failure: Failure) -> None:
    result.value = 2  # error
    failure.error = "y"  # error
"""


def test_mypy_accepts_passing_failures_on_and_rejects_real_mismatches(tmp_path: Path) -> None:
    package = tmp_path / "stubs" / "flext_kernel"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    for module in (flext_kernel.result, flext_kernel.errors):
        assert module.__file__ is not None
        shutil.copy(module.__file__, package)
    (tmp_path / "accepted.py").write_text(ACCEPTED, encoding="utf-8")
    (tmp_path / "rejected.py").write_text(REJECTED, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\npython_version = 3.11\n", encoding="utf-8")

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file=mypy.ini",
            "--no-site-packages",
            f"--cache-dir={tmp_path / 'cache'}",
            "--no-error-summary",
            "accepted.py",
            "rejected.py",
        ],
        cwd=tmp_path,
        env={"MYPYPATH": str(tmp_path / "stubs"), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    reported = re.findall(r"^(\w+)\.py:(\d+): error", completed.stdout, re.MULTILINE)
    expected = [
        ("rejected", str(number))
        for number, line in enumerate(REJECTED.splitlines(), start=1)
        if line.endswith("# error")
    ]
    assert reported == expected, completed.stdout + completed.stderr
