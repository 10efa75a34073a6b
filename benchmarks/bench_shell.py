"""Start-up of ``flext interactive``: from exec to the first prompt on a terminal, with 50 extra plugins.

Target (issue 19): under 0.5 s with 50 plugins installed. The shell runs on a pseudo-terminal
(prompt_toolkit needs one); the clock stops when the prompt ``flext>`` is written, then Ctrl-D
ends the shell. Baseline in the same run: ``flext --help`` with the same 50 plugins (bench_cli's
fake installed plugins: real ``.dist-info`` directories on PYTHONPATH). Rows: warm (command
table and options cached, the usual case) and cold (first start after the install: the table is
rebuilt by importing every plugin, and the options are read in a background thread).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import Row
from bench_cli import EXTRA_PLUGINS, _environment, _install_fake_plugins, _process_ns

FLEXT = str(Path(sys.executable).with_name("flext"))
RUNS = 7
TARGET_SECONDS = 0.5


def _to_prompt_ns(env: dict[str, str], timeout: float = 60.0) -> int:
    """Wall time from starting ``flext interactive`` on a new pty to its prompt; the shell is then ended."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter_ns()
    process = subprocess.Popen(
        [FLEXT, "interactive"], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + timeout
        while b"flext>" not in seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no prompt within {timeout}s; the terminal showed {seen[-400:]!r}")
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 65536)
        elapsed = time.perf_counter_ns() - started
        os.write(master, b"\x04")  # Ctrl-D on an empty line ends the shell
        process.wait(timeout=30)
        return elapsed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def _rows(workdir: Path) -> list[Row]:
    extra = workdir / "site"
    extra.mkdir()
    _install_fake_plugins(extra, EXTRA_PLUGINS)
    crowded = {**_environment(workdir / "crowded", extra), "TERM": "xterm-256color"}
    crowded.pop("COLUMNS", None)
    cold = _to_prompt_ns(crowded)
    listing = subprocess.run([FLEXT, "--help"], env=crowded, capture_output=True, text=True, check=True)
    if f"bench-plugin-{EXTRA_PLUGINS - 1}" not in listing.stdout:
        raise RuntimeError("the 50 benchmark plugins did not reach flext --help; the numbers would lie")
    # reads the options now if the cold shell ended before its background thread did
    line = {**crowded, "FLEXT_COMP_LINE": "flext bench-plugin-1 "}
    subprocess.run([FLEXT, "completion", "candidates"], env=line, capture_output=True, check=True)
    options = json.loads((workdir / "crowded" / "cache" / "shell-options.json").read_text(encoding="utf-8"))
    if f"bench-plugin-{EXTRA_PLUGINS - 1}" not in options["commands"]:
        raise RuntimeError("the shell's options cache misses the benchmark plugins")
    help_ns = _process_ns([FLEXT, "--help"], crowded, runs=RUNS)
    warm = min(_to_prompt_ns(crowded) for _ in range(RUNS))
    base = f"flext --help, {EXTRA_PLUGINS} extra plugins"
    return [
        Row(
            "shell",
            f"flext interactive to first prompt, {EXTRA_PLUGINS} extra plugins",
            warm,
            base,
            help_ns,
            2.0,
            notes=[f"target under {TARGET_SECONDS} s: {'met' if warm / 1e9 < TARGET_SECONDS else 'NOT met'}"],
        ),
        Row(
            "shell",
            f"flext interactive to first prompt, cold, after installing {EXTRA_PLUGINS} plugins",
            cold,
            base,
            help_ns,
            notes=["one run: the command table is rebuilt (every plugin imported) before the prompt"],
        ),
    ]


def run() -> list[Row]:
    """Measure the shell's start-up against ``flext --help``, both with 50 extra plugins."""
    workdir = Path(tempfile.mkdtemp(prefix="flext-bench-shell-"))
    try:
        return _rows(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    print(
        json.dumps(
            [asdict(row) | {"ratio": row.ratio, "met": row.met, "seconds": row.ns / 1e9} for row in run()],
            indent=2,
        )
    )
