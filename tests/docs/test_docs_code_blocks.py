"""Every ```python block in the README and docs runs, so the docs cannot rot.

The blocks of one file run in order in one namespace (a page builds on its
earlier blocks), in a subprocess so that a page cannot leak state into the
test session. A block whose first line is ``# not run`` is skipped: use that
only for fragments that need a server or user input.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks(page: Path) -> list[str]:
    return [b for b in BLOCK.findall(page.read_text(encoding="utf-8")) if not b.startswith("# not run")]


@pytest.mark.parametrize("page", [p for p in PAGES if _blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_blocks_run(page: Path, tmp_path: Path) -> None:
    script = "\n\n".join(_blocks(page))
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"{page.name} code blocks failed:\n{completed.stderr[-3000:]}"
