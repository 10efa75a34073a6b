"""What the target writes to disk, watched with strace: the rows a STATE covers are synced before it.

Batches are committed with ``synchronous=NORMAL`` (no fsync per commit);
before a STATE is printed the WAL is fsynced, which is what
``synchronous=FULL`` would have done at the last commit. A power loss can
take back no row that a printed STATE covers. strace sees the system calls
in the order the target made them, with the file each descriptor names.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Target, lines


def _on_ci() -> bool:
    """True when running on CI (as tests/conftest.py's ``on_ci``): .ci/run installs strace there."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(autouse=True)
def _strace() -> None:
    """These tests need strace: skipped without it, except on CI, where its absence is a failure."""
    if shutil.which("strace") is None:
        message = "needs strace (apt-get install strace)"
        if _on_ci():
            pytest.fail(f"{message}; CI is set, where the durability tests must run")
        pytest.skip(message)


_CALL = re.compile(r"^(?:\d+\s+)?(\w+)\((\d+)<([^>]*)>")


def _calls(log: Path) -> list[tuple[str, int, str]]:
    """(system call, descriptor, the descriptor's file) of each traced call, in order."""
    found = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _CALL.match(line)
        if match is not None:
            found.append((match[1], int(match[2]), match[3]))
    return found


def _traced_run(
    target: Target, messages: list, tmp_path: Path, **settings: object
) -> list[tuple[str, int, str]]:
    log = tmp_path / "strace.log"
    done = subprocess.run(
        [
            "strace", "-f", "-y", "-s", "0", "-o", str(log),
            "-e", "trace=write,pwrite64,pwritev,fsync,fdatasync",
            str(target.executable), "--config", str(target.config(**settings)),
        ],
        input=lines(messages),
        capture_output=True,
        text=True,
        env=target.environment(),
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line for line in done.stdout.splitlines() if line.strip()], "no STATE printed"
    return _calls(log)


@pytest.mark.parametrize("through_symlink", [False, True], ids=["file", "symlink"])
def test_every_state_follows_a_sync_of_the_rows_it_covers(
    target: Target, tmp_path: Path, through_symlink: bool
) -> None:
    wal = str(target.database) + "-wal"
    if through_symlink:  # SQLite puts the WAL next to the file the symlink leads to
        real = tmp_path / "elsewhere" / "real.db"
        real.parent.mkdir()
        target.database.parent.mkdir(parents=True)
        target.database.symlink_to(real)
        wal = str(real) + "-wal"
    messages: list = [target.schema("people", {"id": {"type": "integer"}, "tags": {"type": "array"}})]
    for number in range(1, 131):
        messages.append(target.record("people", {"id": number, "tags": [number]}))
        if number in (50, 60, 125):  # 50: nothing pending (a batch just filled); 60, 125: held for a batch
            messages.append(target.state({"people": number}))
    calls = _traced_run(target, messages, tmp_path, batch_size_rows=25)
    assert any(path == wal for _, _, path in calls)
    states = 0
    written_since_sync = False
    for call, descriptor, path in calls:
        if path == wal and call.startswith("pwrite"):
            written_since_sync = True
        elif path == wal and call in ("fsync", "fdatasync"):
            written_since_sync = False
        elif call == "write" and descriptor == 1:
            states += 1
            assert not written_since_sync, f"STATE {states} printed before the WAL was synced"
    assert states == 3
    # The 7 commits (the table, 6 batches of at most 25) are not synced one by one (the point of
    # synchronous=NORMAL): one sync per STATE, plus the ones SQLite makes (a new WAL, the last checkpoint).
    wal_syncs = [c for c in calls if c[2] == wal and c[0] in ("fsync", "fdatasync")]
    assert len(wal_syncs) <= states + 2


def test_an_activation_is_synced_at_once(target: Target, tmp_path: Path) -> None:
    """The deletion of the old rows is on disk before anything else happens: one WAL sync more."""

    def wal_syncs(activate: bool, directory: Path) -> int:
        directory.mkdir()
        run = Target(directory)
        messages: list = [run.schema("people", {"id": {"type": "integer"}})]
        messages += [{**run.record("people", {"id": n}), "version": 1} for n in range(1, 4)]
        if activate:
            messages.append({"type": "ACTIVATE_VERSION", "stream": "people", "version": 1})
        messages += [run.record("people", {"id": 9}), run.state({"people": 4})]
        calls = _traced_run(run, messages, directory)
        wal = str(run.database) + "-wal"
        assert [row["id"] for row in run.rows("people")] == [1, 2, 3, 9]
        return len([c for c in calls if c[2] == wal and c[0] in ("fsync", "fdatasync")])

    assert wal_syncs(True, tmp_path / "activated") == wal_syncs(False, tmp_path / "plain") + 1
