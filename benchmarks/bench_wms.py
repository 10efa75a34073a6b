"""tap-oracle-wms throughput: pages one at a time against pages fetched concurrently.

Usage::

    python benchmarks/bench_wms.py                       # 10,000 rows, 1,000 a page, 0.5 s a page
    python benchmarks/bench_wms.py --rows 5000 --latency 0.1 --repeat 1   # a quick look
    python benchmarks/bench_wms.py --out /work/perf-wms.md

The real ``tap-oracle-wms`` (this interpreter's console script) runs as a
subprocess, with a catalog discovered once beforehand, against
``tap_oracle_wms.testing.FakeWms`` on a threaded loopback server in this
process. The server waits ``--latency`` seconds before each page, standing
in for the time a WMS takes to query and serialise a page (not measured on
a real WMS here: the default, 0.5 s, is an assumption, and the ratio grows
with it). Each run's stdout is counted: the number of RECORD
messages must equal ``--rows`` or the benchmark fails.

Measured per ``page_concurrency`` (1, the default of the tap, is the
baseline; then each of ``--concurrency``): wall time of the tap from spawn to
exit, records/s (rows over wall time), and the ratio of records/s to the
baseline's. Runs are interleaved (every setting once per repeat, order
rotated) and the median of ``--repeat`` is reported, so drift on the
shared machine hits every setting alike. A zero-latency row shows what
concurrency costs when the server answers at once (the tap's own parsing
and writing then bound it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_httpserver import HTTPServer
from tap_oracle_wms.testing import FakeWms, make_rows

TAP = Path(sys.executable).with_name("tap-oracle-wms")


@dataclass
class Setting:
    """One ``page_concurrency`` at one latency, and its measured runs."""

    latency: float
    concurrency: int
    walls: list[float] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)


def _run_tap(config: Path, catalog: Path, rows: int) -> float:
    """One run of the tap; its wall time. Fails unless it wrote ``rows`` records."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(TAP), "--config", str(config), "--catalog", str(catalog)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tap-oracle-wms failed ({done.returncode}):\n{done.stderr[-2000:]}")
    records = sum(1 for line in done.stdout.splitlines() if line.startswith('{"type":"RECORD"'))
    if records != rows:
        raise SystemExit(f"tap-oracle-wms wrote {records} records, not {rows}")
    return wall


def measure(args: argparse.Namespace) -> list[Setting]:
    """Every setting, ``--repeat`` times, interleaved."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        wms = FakeWms(server)
        wms.add("item", make_rows(args.rows))
        with tempfile.TemporaryDirectory(prefix="bench-wms-") as tmp:
            work = Path(tmp)
            base = wms.basic_config(page_size=args.page_size, entities=["item"])
            (work / "discover.json").write_text(json.dumps(base))
            found = subprocess.run(
                [str(TAP), "--config", str(work / "discover.json"), "--discover"],
                capture_output=True,
                text=True,
                check=True,
            )
            (work / "catalog.json").write_text(found.stdout)
            settings = [
                Setting(latency, concurrency)
                for latency in (0.0, args.latency)
                for concurrency in (1, *args.concurrency)
            ]
            for setting in settings:
                name = f"c{setting.concurrency}.json"
                (work / name).write_text(json.dumps({**base, "page_concurrency": setting.concurrency}))
            for repeat in range(args.repeat):
                shift = repeat % len(settings)
                for setting in settings[shift:] + settings[:shift]:
                    wms.latency = setting.latency
                    config = work / f"c{setting.concurrency}.json"
                    setting.walls.append(_run_tap(config, work / "catalog.json", args.rows))
                    print(
                        f"latency {setting.latency:.2f} s, concurrency {setting.concurrency}: "
                        f"{setting.walls[-1]:.2f} s",
                        file=sys.stderr,
                    )
    finally:
        server.clear()
        server.stop()
    return settings


def report(settings: list[Setting], args: argparse.Namespace) -> str:
    """The markdown table and what it means."""
    pages = -(-args.rows // args.page_size)
    lines = [
        "# tap-oracle-wms: pages one at a time vs concurrently (benchmarks/bench_wms.py)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({os.cpu_count()} cores, shared), Python {platform.python_version()}: "
        f"{args.rows:,} `item` rows, {args.page_size} a page ({pages} pages), the real `tap-oracle-wms` "
        f"subprocess against `FakeWms` on a threaded loopback server; median of {args.repeat} "
        "interleaved runs; the ratio is records/s over the one-page-at-a-time run at the same latency, "
        "in the same run.",
        "",
        "| latency per page | page_concurrency | wall (s) | records/s | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for latency in sorted({s.latency for s in settings}):
        group = [s for s in settings if s.latency == latency]
        baseline = next(s for s in group if s.concurrency == 1)
        for setting in group:
            rate = args.rows / setting.wall
            ratio = baseline.wall / setting.wall
            cells = [f"{latency:.2f} s", str(setting.concurrency), f"{setting.wall:.2f}", f"{rate:,.0f}"]
            lines.append(f"| {' | '.join(cells)} | {ratio:.2f}x |")
    lines += [
        "",
        "What it shows: one page at a time leaves the tap idle while the server prepares each page "
        "(the added latency, and at zero latency the local server's own work: filtering, sorting and "
        "serialising 1,000 rows in Python on the other core); page_concurrency N overlaps up to N of "
        "those waits with the tap's work. The gain stops where the tap's own work (parsing each page, "
        "checking and writing each row, one thread under the GIL) is the bound: 4 and 8 pages in "
        "flight then read alike.",
        "",
        "Raw wall times (s): "
        + "; ".join(
            f"latency {s.latency:.2f} c{s.concurrency}: {', '.join(f'{w:.2f}' for w in s.walls)}"
            for s in settings
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the server waits per page")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[4, 8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the markdown report here too")
    args = parser.parse_args(argv)
    text = report(measure(args), args)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
