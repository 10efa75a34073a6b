"""Helpers of the shell plugin's tests: run ``flext`` in a private FLEXT_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FLEXT = str(Path(sys.executable).with_name("flext"))
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "directory" / "pipeline.yaml"


def flext_env(home: Path) -> dict[str, str]:
    """The environment of a ``flext`` run in ``home`` (no colour, no inherited profile)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLEXT_")}
    return {**env, "FLEXT_HOME": str(home), "NO_COLOR": "1", "HOME": str(home / "user")}


def flext(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``flext ARGS`` in ``home``; the finished process."""
    return subprocess.run(
        [FLEXT, *args],
        env={**flext_env(home), **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
