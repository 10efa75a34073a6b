"""``flext pipeline run`` with this checkout's target-sqlite against an earlier revision's, paired.

Usage::

    python benchmarks/bench_pipeline_paired.py --before HEAD~2 [--entries 100000] [--rounds 3]

Each round runs, in an order rotated every round, the shell pipe (``bench_pipeline``'s ``shell``),
``flext pipeline run`` with the target-sqlite of ``--before`` (its ``plugins/sqlite/src``, exported
with ``git archive`` and put first on ``PYTHONPATH``), and ``flext pipeline run`` with the checkout's
own; every run is checked as in ``bench_pipeline`` (exit code, rows). Paired rounds are what make a
comparison readable on a shared machine: a burst of load hits the three runs of a round alike.
Prints each run and the medians; nothing is written.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bench_pipeline as bench  # noqa: E402  (needs the path above)


def export_sqlite(revision: str, into: Path) -> Path:
    """``plugins/sqlite/src`` as it was at ``revision``, written under ``into``; returns the src folder."""
    archive = subprocess.run(
        ["git", "archive", revision, "plugins/sqlite/src"], cwd=HERE.parent, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "plugins" / "sqlite" / "src"


def main() -> int:
    """Write the input, run the rounds, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision whose target-sqlite is 'before'")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flext-bench-paired-") as folder:
        work = Path(folder)
        before = export_sqlite(args.before, work / "before")
        ldif = bench.write_input(work, args.entries)
        bench.compile_sources()
        names = ["shell", "before", "after"]
        trials: dict[str, list[bench.Trial]] = {name: [] for name in names}
        for number in range(args.rounds):
            for name in names[number % 3 :] + names[: number % 3]:
                if name == "before":
                    os.environ["PYTHONPATH"] = str(before)
                try:
                    approach = bench._shell if name == "shell" else bench._flext
                    trial = bench.trial(
                        "shell" if name == "shell" else "flext", approach, ldif, args.entries, work
                    )
                finally:
                    os.environ.pop("PYTHONPATH", None)
                trials[name].append(trial)
                rate = args.entries / trial.wall_s
                first = "-" if trial.first_row_s is None else f"{trial.first_row_s:.2f} s"
                print(
                    f"round {number} {name:6} wall {trial.wall_s:6.2f} s  {rate:8,.0f} rec/s  "
                    f"cpu {trial.cpu_s:6.2f} s (own {trial.own_cpu_s or 0:.2f})  first row {first}",
                    flush=True,
                )
        for name in names:
            walls = [trial.wall_s for trial in trials[name]]
            wall = statistics.median(walls)
            print(
                f"{name:6} median {wall:.2f} s = {args.entries / wall:,.0f} rec/s (range {min(walls):.2f} to "
                f"{max(walls):.2f}); cpu median {statistics.median(t.cpu_s for t in trials[name]):.2f} s"
            )
        for number in range(args.rounds):
            after = trials["after"][number].wall_s
            print(
                f"round {number}: after vs shell {trials['shell'][number].wall_s / after:.2f}x, "
                f"after vs before {trials['before'][number].wall_s / after:.2f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
