"""tap-ldif's speed against python-ldap's ``LDIFParser`` on the same file, in the same run.

Usage::

    python benchmarks/bench_ldif.py                  # 100k users (~100,500 entries, 72 MB), 5 rounds
    python benchmarks/bench_ldif.py --users 20000 --rounds 3
    python benchmarks/bench_ldif.py --file export.ldif --json

The file is ``flext_plugin_ldif.sample.write_directory`` (written once into a
temporary directory, not timed) or the one given with ``--file``. Each round
runs, one after the other in an order that alternates between rounds, so that
a burst of load on this shared machine hits both sides of a pair:

* ``tap-ldif``: ``tap-ldif --config c.json > /dev/null``, the whole tap as a
  target would run it (start-up, parsing, records, Singer messages on a pipe
  to /dev/null);
* ``python-ldap``: a child interpreter running python-ldap's ``LDIFParser``
  over the file with a ``handle`` that does nothing (python-ldap is the
  reference the issue names; it needs libldap's headers to build:
  ``apt-get install libldap2-dev libsasl2-dev``, then ``pip install
  python-ldap``);
* ``read_ldif``: a child interpreter iterating ``flext_plugin_ldif.read_ldif``
  over the file (the parser alone, for scale).

Reported per approach: the median wall time over the rounds, entries/s at that
median, the median CPU seconds (user + system, from ``wait4``), the peak RSS
of the child (``wait4``'s ``ru_maxrss``), and for the tap the median over the
rounds of the per-round ratio python-ldap / tap (> 1: the tap is faster),
with its range, for wall time and for CPU time (which other load on a shared
machine disturbs less than wall time). The tap's output is counted once
(its RECORD messages must equal the file's entries) so that a broken tap
cannot look fast.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
PYTHON_LDAP = """
import sys
from ldif import LDIFParser
class Quiet(LDIFParser):
    def handle(self, dn, entry):
        pass
with open(sys.argv[1], "rb") as handle:
    parser = Quiet(handle)
    parser.parse()
print(parser.records_read)
"""
READ_LDIF = """
import sys
from flext_plugin_ldif import read_ldif
print(sum(1 for _ in read_ldif(sys.argv[1])))
"""


@dataclass
class Approach:
    """One way of reading the file, and its measurements."""

    name: str
    """``tap-ldif``, ``python-ldap`` or ``read_ldif``."""
    command: list[str]
    """What runs (stdout to /dev/null)."""
    seconds: list[float] = field(default_factory=list)
    """Wall time of each round."""
    peak_kib: list[int] = field(default_factory=list)
    """Peak RSS of each round, KiB."""
    cpu: list[float] = field(default_factory=list)
    """CPU seconds (user + system) of each round."""


def _timed(command: list[str], cwd: Path) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one child; fails the benchmark if it fails.

    The RSS is ``wait4``'s ``ru_maxrss`` of that child alone, which counts the
    memory the child had before its ``exec``: the benchmark keeps its own
    process small so that this is the child's.
    """
    with open(os.devnull, "wb") as sink, open(cwd / "stderr.txt", "wb") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=errors, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(
            f"{command[0]} failed ({process.returncode}): {(cwd / 'stderr.txt').read_text()[-2000:]}"
        )
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def _count_records(tap: list[str], cwd: Path) -> int:
    """The RECORD messages of one tap run, read as they come (this process stays small: see _timed)."""
    with subprocess.Popen(tap, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd) as process:
        assert process.stdout is not None
        count = sum(1 for line in process.stdout if line.startswith(b'{"type":"RECORD"'))
    if process.returncode != 0:
        raise SystemExit(f"tap-ldif failed ({process.returncode})")
    return count


def _entries(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line[:3].lower() == b"dn:")


def run(ldif: Path, rounds: int, work: Path) -> dict[str, object]:
    """Measure the approaches on ``ldif``; returns the report."""
    (work / "c.json").write_text(json.dumps({"files": [str(ldif)]}))
    tap = [str(BIN / "tap-ldif"), "--config", str(work / "c.json")]
    approaches = [
        Approach("tap-ldif", tap),
        Approach("python-ldap", [sys.executable, "-c", PYTHON_LDAP, str(ldif)]),
        Approach("read_ldif", [sys.executable, "-c", READ_LDIF, str(ldif)]),
    ]
    entries = _entries(ldif)
    records = _count_records(tap, work)
    if records != entries:
        raise SystemExit(f"tap-ldif sent {records} records for {entries} entries")
    for number in range(rounds):
        order = approaches if number % 2 == 0 else list(reversed(approaches))
        for approach in order:
            seconds, peak, cpu = _timed(approach.command, work)
            approach.seconds.append(seconds)
            approach.peak_kib.append(peak)
            approach.cpu.append(cpu)
    tap, ldap = approaches[0], approaches[1]
    ratios = [theirs / mine for theirs, mine in zip(ldap.seconds, tap.seconds, strict=True)]
    cpu_ratios = [theirs / mine for theirs, mine in zip(ldap.cpu, tap.cpu, strict=True)]
    rows = {
        approach.name: {
            "median_seconds": round(statistics.median(approach.seconds), 3),
            "entries_per_second": round(entries / statistics.median(approach.seconds)),
            "seconds": [round(s, 3) for s in approach.seconds],
            "median_cpu_seconds": round(statistics.median(approach.cpu), 3),
            "peak_rss_mib": round(max(approach.peak_kib) / 1024, 1),
        }
        for approach in approaches
    }
    return {
        "file": str(ldif),
        "bytes": ldif.stat().st_size,
        "entries": entries,
        "rounds": rounds,
        "approaches": rows,
        "tap_vs_python_ldap": {
            "median_ratio": round(statistics.median(ratios), 2),
            "min_ratio": round(min(ratios), 2),
            "max_ratio": round(max(ratios), 2),
            "meaning": "python-ldap seconds / tap-ldif seconds in the same round (> 1: tap-ldif is faster)",
        },
        "tap_vs_python_ldap_cpu": {
            "median_ratio": round(statistics.median(cpu_ratios), 2),
            "min_ratio": round(min(cpu_ratios), 2),
            "max_ratio": round(max(cpu_ratios), 2),
            "meaning": "the same with CPU seconds (user + system): less disturbed by other load",
        },
    }


def _print(report: dict[str, object]) -> None:
    print(f"{report['entries']:,} entries, {report['bytes'] / 1e6:.0f} MB, {report['rounds']} rounds")
    print(f"{'approach':<12} {'median s':>9} {'entries/s':>10} {'CPU s':>6} {'peak MiB':>9}  runs")
    approaches = report["approaches"]
    assert isinstance(approaches, dict)
    for name, row in approaches.items():
        runs = " ".join(f"{s:.2f}" for s in row["seconds"])
        print(
            f"{name:<12} {row['median_seconds']:>9.2f} {row['entries_per_second']:>10,} "
            f"{row['median_cpu_seconds']:>6.2f} {row['peak_rss_mib']:>9.1f}  {runs}"
        )
    for key, what in (("tap_vs_python_ldap", "wall"), ("tap_vs_python_ldap_cpu", "CPU")):
        ratio = report[key]
        assert isinstance(ratio, dict)
        print(
            f"tap-ldif vs python-ldap, {what} (paired, python-ldap s / tap s): median "
            f"{ratio['median_ratio']:.2f}x (range {ratio['min_ratio']:.2f} to {ratio['max_ratio']:.2f})"
        )


def main() -> int:
    """Parse the options, run the rounds, print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="users of the generated directory")
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds")
    parser.add_argument("--file", type=Path, help="an LDIF file to use instead of a generated one")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    options = parser.parse_args()
    try:
        import ldif  # noqa: F401  (python-ldap's module; checked before anything is timed)
    except ImportError:
        print(
            "python-ldap is not installed: apt-get install libldap2-dev libsasl2-dev; pip install python-ldap"
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-ldif-") as folder:
        work = Path(folder)
        ldif_path = options.file
        if ldif_path is None:
            from flext_plugin_ldif.sample import write_directory

            ldif_path = work / "directory.ldif"
            write_directory(ldif_path, users=options.users, groups=max(options.users // 200, 1), ous=10)
        report = run(ldif_path.resolve(), options.rounds, work)
    if options.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
