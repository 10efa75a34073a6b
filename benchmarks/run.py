"""Run every kernel benchmark in one process and report ratios to same-run baselines.

Usage::

    python benchmarks/run.py                 # table on stdout, JSON in benchmarks/results/
    python benchmarks/run.py --write-docs    # also refresh the table in docs/performance.md

The peers (returns, result, dependency-injector, dishka, svcs, punq, mediatr)
come from ``benchmarks/requirements.txt``; they are never runtime dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import Row  # noqa: E402  (needs the path above)

SUITES = ["bench_result", "bench_container", "bench_bus", "bench_cli"]
DOC = HERE.parent / "docs" / "performance.md"
BEGIN, END = "<!-- kernel-benchmarks:begin -->", "<!-- kernel-benchmarks:end -->"


def _markdown(rows: list[Row]) -> str:
    lines = [
        "| group | operation | ns/op | baseline | baseline ns/op | ratio | target | met | notes |",
        "|---|---|---:|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        target = "" if row.max_ratio is None else f"<= {row.max_ratio:g}x"
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.group} | {row.name} | {row.ns:.0f} | {row.baseline} | {row.baseline_ns:.0f} "
            f"| {row.ratio:.2f}x | {target} | {met} | {'; '.join(row.notes)} |"
        )
    return "\n".join(lines)


def _write_docs(table: str, when: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    block = f"{BEGIN}\n_Measured {when} on {platform.python_implementation()} {platform.python_version()}, "
    block += f"{platform.machine()}._\n\n{table}\n{END}"
    DOC.write_text(head + block + tail, encoding="utf-8")


def main() -> int:
    """Run the suites, print the table, write the JSON (and the docs table if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help="refresh the table in docs/performance.md")
    parser.add_argument("--only", action="append", choices=SUITES, help="run only this suite (repeatable)")
    args = parser.parse_args()
    started = time.perf_counter()
    rows: list[Row] = []
    for name in args.only or SUITES:
        rows += importlib.import_module(name).run()
    table = _markdown(rows)
    print(table)
    when = time.strftime("%Y-%m-%d")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    payload = {
        "date": when,
        "python": platform.python_version(),
        "rows": [asdict(row) | {"ratio": row.ratio, "met": row.met} for row in rows],
    }
    (out / "kernel.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if args.write_docs:
        _write_docs(table, when)
    print(f"\n{len(rows)} rows in {time.perf_counter() - started:.1f}s; JSON in {out / 'kernel.json'}")
    missed = [row.name for row in rows if row.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
