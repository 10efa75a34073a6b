"""Every shell command shown in the README and the docs runs as documented, from a fresh home.

A newcomer copies commands from the pages in order; so does this test. Each
page runs in its own sandbox: a fresh ``FLEXT_HOME``, a working directory
holding copies of ``examples/`` and ``docs/``, and ``.venv`` pointing at the
environment the suite runs in, so ``.venv/bin/flext`` and a bare ``flext``
both work as the pages write them.

- A ```` ```bash ```` (or ``sh``/``shell``) block is one script, run with
  ``set -euo pipefail``: every command must succeed.
- A ```` ```console ```` block is a transcript: each ``$ `` line is a command,
  the lines after it are its output. A command whose output starts with
  ``error:`` must fail; every other one must succeed.
- A block right after an ``<!-- not run: REASON -->`` line is skipped; the
  reason is required, and says why a newcomer cannot run it here (a server
  with a password, a download of a third-party connector, a command that runs
  until Ctrl-C, a synopsis with placeholders).
- The Quickstart's install steps are what CI runs from a fresh clone
  (``.ci/run``); here the README starts with the Quickstart's first block
  minus its ``python3 -m venv``/``pip install`` parts, as a newcomer who
  installed would continue, and its second block (the test suite) is not run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("plugins/*/README.md")])
FENCE = re.compile(r"^```(?P<lang>bash|sh|shell|console)[^\n]*\n(?P<body>.*?)^```", re.M | re.S)
NOT_RUN = re.compile(r"^<!-- not run: (?P<reason>\S.*?) -->\s*$")
QUICKSTART = re.compile(r"^## +Quick ?start\n.*?(?=^## )", re.M | re.S)
BLOCK_TIMEOUT = 300  # a page that waits for input would otherwise hold CI


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a page."""

    page: Path
    line: int
    lang: str
    body: str

    def commands(self) -> list[tuple[str, bool]]:
        """``(command, should_fail)`` for a console transcript; one script for a bash block."""
        if self.lang != "console":
            return [(self.body, False)]
        found: list[tuple[str, bool]] = []
        lines = self.body.splitlines()
        for index, line in enumerate(lines):
            if line.startswith("$ "):
                output = next((later for later in lines[index + 1 :] if later.strip()), "")
                found.append((line[2:], output.startswith("error:") and not output.startswith("$ ")))
        return found


def _quickstart_commands(text: str) -> str:
    """The first Quickstart block's commands after the install (the venv and pip steps are CI's)."""
    section = QUICKSTART.search(text)
    assert section is not None, "README.md has no Quickstart section"
    first = FENCE.search(section.group(0))
    assert first is not None, "the Quickstart has no command block"
    steps = [step.strip() for step in first.group("body").strip().split(" && ")]
    kept = [step for step in steps if not step.startswith("python3 -m venv") and "pip install" not in step]
    assert kept, "the Quickstart's first block runs nothing after installing"
    return " && ".join(kept)


def _blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    skipped = QUICKSTART.search(text) if page.name == "README.md" and page.parent == ROOT else None
    blocks = []
    for match in FENCE.finditer(text):
        if skipped is not None and skipped.start() <= match.start("body") < skipped.end():
            continue
        before = text[: match.start()].rstrip("\n").rpartition("\n")[2]
        if NOT_RUN.match(before.strip()):
            continue
        line = text.count("\n", 0, match.start("body"))
        blocks.append(Block(page, line, match.group("lang"), match.group("body")))
    if skipped is not None:
        line = text.count("\n", 0, skipped.start())
        blocks.insert(0, Block(page, line, "bash", _quickstart_commands(text)))
    return blocks


def test_every_not_run_marker_gives_a_reason() -> None:
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("<!-- not run"):
                assert NOT_RUN.match(line), f"{page.relative_to(ROOT)}:{number}: say why it is not run"


def _sandbox(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("examples", "docs"):
        shutil.copytree(
            ROOT / name, work / name, ignore=shutil.ignore_patterns("output", "target", "logs", "__pycache__")
        )
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return work


@pytest.mark.parametrize(
    "page", [page for page in PAGES if _blocks(page)], ids=lambda page: str(page.relative_to(ROOT))
)
def test_page_commands_run_as_documented(page: Path, tmp_path: Path) -> None:
    work = _sandbox(tmp_path)
    runner = FlextCliRunner(tmp_path / "home")
    environment = runner.environment({"COLUMNS": "100"})
    environment["PATH"] = f"{Path(sys.prefix) / 'bin'}:{environment.get('PATH', '')}"
    for block in _blocks(page):
        for command, should_fail in block.commands():
            done = subprocess.run(
                ["bash", "-c", f"set -euo pipefail\n{command}"],
                cwd=work,
                env=environment,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
                check=False,
            )
            where = f"{page.relative_to(ROOT)}:{block.line + 1}"
            if should_fail:
                assert done.returncode != 0, f"{where}: expected to fail:\n{command}\n{done.stdout[-2000:]}"
                assert "Traceback" not in done.stderr, f"{where}: {done.stderr[-3000:]}"
            else:
                assert done.returncode == 0, (
                    f"{where}: exit {done.returncode}:\n{command}\n--- stdout ---\n{done.stdout[-2000:]}"
                    f"\n--- stderr ---\n{done.stderr[-3000:]}"
                )
