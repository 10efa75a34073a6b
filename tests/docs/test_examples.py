"""The runnable examples under docs/examples run from a clean process and say they passed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_kernel_tour_runs_and_checks_itself(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples" / "kernel_tour.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "kernel tour: every step behaved as documented" in completed.stdout
    assert "served from the cache" in completed.stdout
    assert "(VALIDATION_ERROR)" in completed.stdout
    assert "(NOT_FOUND)" in completed.stdout
