"""Meltano projects through FLEXT against ``meltano run``: delegated overhead, native throughput.

Usage::

    python benchmarks/bench_meltano.py                       # both parts; JSON on stdout and in results/
    python benchmarks/bench_meltano.py --quick               # 1,000 and 10,000 entries, few rounds
    python benchmarks/bench_meltano.py --only delegate --rounds 21 --entries 10000
    python benchmarks/bench_meltano.py --only native --sizes 100000,1000000 --repeat 3
    python benchmarks/bench_meltano.py --report benchmarks/results/meltano.json   # re-summarise, no runs

Both parts run one Meltano project, the one ``bench_pipeline.py`` times
(``tap-ldif`` and ``target-sqlite`` declared as custom plugins with
``executable:`` set to this interpreter's copies, no ``pip_url``), plus a job
``bench`` with the block ``tap-ldif target-sqlite`` (the import turns job
blocks into pipelines). Each run gets a fresh copy of a project on which
``meltano install`` ran once, so Meltano finds no state, and writes a new
SQLite file whose rows are counted afterwards (every entry, or the benchmark
fails). The input is ``bench_pipeline.write_input``'s sample LDIF.

One Meltano for every side: ``flext meltano`` runs the pinned Meltano of its
tool environment ``meltano`` under ``$FLEXT_TOOLS_DIR`` (built with
``flext_plugin_meltano.tool.meltano_environment``, the plugin's own code,
when missing). The benchmark points ``FLEXT_TOOLS_DIR`` at ``--tools-dir``
and runs plain ``meltano`` from that same environment, so both sides start the
same executable with the same packages.

1. **delegate**: ``flext meltano run tap-ldif target-sqlite`` against
   ``meltano run tap-ldif target-sqlite`` in the same project on the same
   file, in paired rounds whose order alternates (plain first in even rounds,
   flext first in odd ones). Per round: flext's wall time minus Meltano's, and
   that over Meltano's. The median of the rounds, its 95% interval (order
   statistics, no assumption about the shape of the noise), quartiles and
   range, against the issue's budget (under 0.3 s and under 3%): met when the
   interval lies under it, missed when it lies over it, else not resolved by
   this run. The same for CPU seconds of all the run's processes, which a
   loaded machine stretches far less than wall time. flext's
   event store (``FLEXT_HOME``) is one per benchmark, made by an untimed
   warm-up round, as a user's is (each run appends its two events to it).
   Then ``--traced`` delegated runs under ``strace -f`` (execve only): the
   time from flext's exec to Meltano's plus from Meltano's exit to flext's is
   work flext does while no Meltano runs, a lower bound of the added wall time
   that load can only raise (missed when it alone is over the budget).
   Where the added time goes: Meltano's log lines carry its own timestamps,
   so ``first log line - spawn`` (flext's checks before Meltano starts, plus
   Meltano's start-up) and ``exit - last log line`` (Meltano's exit, plus
   flext recording the run) are compared side by side.
2. **native**: ``flext meltano import --environment bench`` (untimed, into a
   ``FLEXT_HOME`` of the run's own, so no state) then ``flext pipeline run
   tap-ldif-to-target-sqlite`` (timed) against ``meltano run tap-ldif
   target-sqlite``: records/s and the ratio (native over Meltano; the issue's
   target: above 1). Below 300,000 entries the median of ``--repeat`` paired
   rounds, from 300,000 one round. If the smaller sizes' rounds say a size
   over 300,000 would take more than ``--max-once`` seconds (both sides,
   scaled linearly), it is replaced by 300,000 entries and the output says so.

The 1-minute load average is read before each run (the machine is shared);
each row reports its range.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_pipeline import (  # noqa: E402  (needs the path above)
    FLEXT,
    POLL,
    Command,
    FirstRow,
    Meltano,
    RunFailed,
    _default_meltano_venv,
    _own_cpu,
    compile_sources,
    count_rows,
    write_input,
)

RESULTS = HERE / "results" / "meltano.json"
BLOCK = ("tap-ldif", "target-sqlite")
PIPELINE = "tap-ldif-to-target-sqlite"
"""The pipeline ``flext meltano import`` registers for the block (``<extractor>-to-<loader>``)."""
MAX_ADDED_S = 0.3
MAX_ADDED_FRACTION = 0.03
"""The issue's budget for a delegated run: under 0.3 s and under 3% on top of ``meltano run``."""
ONCE_FROM = FALLBACK_SIZE = 300_000
"""Sizes from here run once; a larger one that would take too long is replaced by this."""
_LOG_TIME = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")

Prepare = Callable[[Path, Path, Path], Command]


def _default_tools_dir() -> Path:
    return _default_meltano_venv().parent / "tools"


# The project: bench_pipeline's, with a job (import turns job blocks into pipelines).


class BenchProject(Meltano):
    """``bench_pipeline.Meltano`` from the tool environment flext uses; its project has a job ``bench``."""

    def __init__(self, tools: Path, work: Path) -> None:
        self.tools = tools
        super().__init__(tools / "meltano", work)

    @staticmethod
    def _write_project(project: Path, *, ldif: Path, database: Path) -> None:
        Meltano._write_project(project, ldif=ldif, database=database)
        path = project / "meltano.yml"
        config = json.loads(path.read_text(encoding="utf-8"))
        config["project_id"] = "flext-bench-meltano"
        config["jobs"] = [{"name": "bench", "tasks": [" ".join(BLOCK)]}]
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")

    def flext_env(self, home: Path) -> dict[str, str]:
        """Meltano's environment plus flext's home and the tool directory both sides share."""
        return self.env | {"FLEXT_HOME": str(home), "FLEXT_TOOLS_DIR": str(self.tools)}

    def plain(self, run: Path, ldif: Path, database: Path) -> Command:
        """``meltano run tap-ldif target-sqlite`` (bench_pipeline's meltano approach)."""
        return self(run, ldif, database)

    def delegated(self, home: Path) -> Prepare:
        """``flext meltano run tap-ldif target-sqlite`` in the same project, recording into ``home``."""

        def prepare(run: Path, ldif: Path, database: Path) -> Command:
            command = self(run, ldif, database)
            return Command([str(FLEXT), "meltano", "run", *BLOCK], self.flext_env(home), command.cwd)

        return prepare

    def native(self, run: Path, ldif: Path, database: Path) -> Command:
        """Import the project (untimed) into a home of the run's own, then ``flext pipeline run``."""
        command = self(run, ldif, database)
        env = self.flext_env(run / "home")
        subprocess.run(
            [str(FLEXT), "meltano", "import", "--environment", "bench"],
            cwd=command.cwd,
            env=env,
            check=True,
            capture_output=True,
        )
        return Command([str(FLEXT), "pipeline", "run", PIPELINE], env, command.cwd)


def ready_tools(tools: Path) -> Path:
    """Build the plugin's Meltano tool environment under ``tools`` if missing (the plugin's own code)."""
    os.environ["FLEXT_TOOLS_DIR"] = str(tools)
    from flext_plugin_meltano.tool import meltano_environment

    built = meltano_environment()
    if built.is_failure:
        raise RuntimeError(f"could not build Meltano's tool environment: {built.error}")
    return built.value.path


# One timed run.


@dataclass
class Run:
    """One run of one approach: bench_pipeline's measurements plus the load and Meltano's log times."""

    approach: str
    entries: int
    wall_s: float
    first_row_s: float | None
    cpu_s: float
    own_cpu_s: float | None
    load: float
    """The 1-minute load average just before the run."""
    to_first_log_s: float | None
    """From spawning the command to the time stamp of Meltano's first log line."""
    after_last_log_s: float | None
    """From the time stamp of Meltano's last log line to the command's exit."""


def timed(name: str, prepare: Prepare, ldif: Path, entries: int, work: Path) -> Run:
    """Prepare (untimed), run and check one approach as ``bench_pipeline.trial`` does; keep the log times."""
    run = Path(tempfile.mkdtemp(prefix=f"{name}-{entries}-", dir=work))
    try:
        database = run / "target.db"
        command = prepare(run, ldif, database)
        watcher = FirstRow(database)
        load = os.getloadavg()[0]
        with open(run / "stdout.log", "wb") as out, open(run / "stderr.log", "wb") as err:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            spawned_at, started = time.time(), time.perf_counter()
            process = subprocess.Popen(
                command.argv,
                cwd=command.cwd,
                env=command.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            watcher.start()
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # exited, unreaped: /proc still has it
            wall = time.perf_counter() - started
            exited_at = spawned_at + wall
            own = _own_cpu(process.pid)
            code = process.wait()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seen = watcher.stop()
        rows = count_rows(database) if database.exists() else {}
        log = (run / "stderr.log").read_bytes()
        if code != 0 or sum(rows.values()) != entries:
            tail = log.decode(errors="replace").splitlines()[-15:]
            raise RunFailed(
                f"{name} on {entries} entries: exit code {code}, rows {rows} (expected {entries})\n"
                + "\n".join(tail)
            )
        first, last = _log_span(log)
        return Run(
            approach=name,
            entries=entries,
            wall_s=wall,
            first_row_s=None if seen is None else seen - started,
            cpu_s=after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            own_cpu_s=own,
            load=load,
            to_first_log_s=None if first is None else first - spawned_at,
            after_last_log_s=None if last is None else exited_at - last,
        )
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _log_span(log: bytes) -> tuple[float | None, float | None]:
    """The epoch seconds of Meltano's first and last time-stamped log lines (UTC, microseconds)."""
    stamps = [match.group(1) for line in log.splitlines() if (match := _LOG_TIME.match(line))]
    if not stamps:
        return None, None
    moment = [
        datetime.fromisoformat(s.decode()).replace(tzinfo=UTC).timestamp() for s in (stamps[0], stamps[-1])
    ]
    return moment[0], moment[1]


def paired(
    first: tuple[str, Prepare], second: tuple[str, Prepare], ldif: Path, entries: int, rounds: int, work: Path
) -> list[tuple[Run, Run]]:
    """``rounds`` rounds of both approaches, ``first`` leading in even rounds and ``second`` in odd ones."""
    pairs: list[tuple[Run, Run]] = []
    for index in range(rounds):
        order = [first, second] if index % 2 == 0 else [second, first]
        done = {name: timed(name, prepare, ldif, entries, work) for name, prepare in order}
        for name, _prepare in order:
            run = done[name]
            print(
                f"  round {index + 1}/{rounds}  {entries:>9,} entries  {name:<10} {run.wall_s:8.2f}s  "
                f"cpu {run.cpu_s:.2f}s (own {run.own_cpu_s or 0:.2f}s)  load {run.load:.2f}",
                file=sys.stderr,
            )
        pairs.append((done[first[0]], done[second[0]]))
    return pairs


# Summaries.


def _spread(values: list[float]) -> dict[str, float]:
    """Median, quartiles and range of ``values``."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) >= 2 else [ordered[0]] * 3
    return {
        "median": statistics.median(ordered),
        "q1": quartiles[0],
        "q3": quartiles[2],
        "min": ordered[0],
        "max": ordered[-1],
    }


def _median_of(runs: list[Run], attribute: str) -> float | None:
    values = [value for run in runs if (value := getattr(run, attribute)) is not None]
    return statistics.median(values) if values else None


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median: two order statistics (binomial, p = 1/2).

    The rounds' differences are far from normal on a loaded machine (a burst
    of load hits one side of a round), so no t-interval: the k-th smallest
    and k-th largest values, with the largest k for which the median lies
    outside them with probability at most ``1 - confidence``.
    """
    ordered = sorted(values)
    n = len(ordered)
    tail, k = 0.0, 0
    while k < n // 2:
        tail += math.comb(n, k) / 2**n  # P(fewer than k + 1 values below the median)
        if 2 * tail > 1 - confidence:
            break
        k += 1
    if k == 0:  # too few rounds for this confidence (under 6): no interval says anything
        return -math.inf, math.inf
    return ordered[k - 1], ordered[n - k]


def verdict(low_s: float, high_s: float, low_fraction: float, high_fraction: float) -> str:
    """``met``: both intervals under their budgets; ``missed``: one over its budget; else ``unresolved``."""
    if high_s < MAX_ADDED_S and high_fraction < MAX_ADDED_FRACTION:
        return "met"
    if low_s >= MAX_ADDED_S or low_fraction >= MAX_ADDED_FRACTION:
        return "missed"
    return "unresolved"


def _paired(pairs: list[tuple[Run, Run]], attribute: str) -> list[float]:
    """Per round: the second run's ``attribute`` minus the first's (rounds where both have it)."""
    return [
        b - a
        for first, second in pairs
        if (a := getattr(first, attribute)) is not None and (b := getattr(second, attribute)) is not None
    ]


def delegate_summary(pairs: list[tuple[Run, Run]]) -> dict[str, Any]:
    """Added seconds and fraction per round (flext minus Meltano), their spread, intervals and verdicts.

    Two verdicts: on wall time (what the issue's budget is about), and on CPU
    seconds of every process of the run (what flext adds in work; a loaded
    machine stretches wall time far more than CPU time, so this one still
    resolves when the wall-time interval is wider than the budget).
    """
    added = _paired(pairs, "wall_s")
    fraction = [flext.wall_s / plain.wall_s - 1 for plain, flext in pairs]
    cpu_added = _paired(pairs, "cpu_s")
    cpu_fraction = [flext.cpu_s / plain.cpu_s - 1 for plain, flext in pairs]
    plains, flexts = [p for p, _ in pairs], [f for _, f in pairs]
    split: dict[str, dict[str, float | None]] = {}
    for attribute in ("to_first_log_s", "after_last_log_s", "own_cpu_s", "cpu_s", "wall_s"):
        deltas = _paired(pairs, attribute)
        split[attribute] = {
            "flext": _median_of(flexts, attribute),
            "meltano": _median_of(plains, attribute),
            "paired_median_delta": statistics.median(deltas) if deltas else None,
        }
    wall_s, wall_f = median_interval(added), median_interval(fraction)
    cpu_s, cpu_f = median_interval(cpu_added), median_interval(cpu_fraction)
    return {
        "entries": pairs[0][0].entries,
        "rounds": len(pairs),
        "added_s": _spread(added) | {"ci95": wall_s},
        "added_fraction": _spread(fraction) | {"ci95": wall_f},
        "cpu_added_s": _spread(cpu_added) | {"ci95": cpu_s},
        "cpu_added_fraction": _spread(cpu_fraction) | {"ci95": cpu_f},
        "meltano_wall_s": _spread([p.wall_s for p in plains]),
        "flext_wall_s": _spread([f.wall_s for f in flexts]),
        "load": _spread([run.load for pair in pairs for run in pair]),
        "split": split,
        "verdict_wall": verdict(wall_s[0], wall_s[1], wall_f[0], wall_f[1]),
        "verdict_cpu": verdict(cpu_s[0], cpu_s[1], cpu_f[0], cpu_f[1]),
        "runs": [[asdict(p), asdict(f)] for p, f in pairs],
    }


def native_summary(pairs: list[tuple[Run, Run]]) -> dict[str, Any]:
    """Records/s of each side (entries over the median wall time) and the ratio, native over Meltano."""
    entries = pairs[0][0].entries
    plain_wall = statistics.median(p.wall_s for p, _ in pairs)
    native_wall = statistics.median(n.wall_s for _, n in pairs)
    ratio = (entries / native_wall) / (entries / plain_wall)
    return {
        "entries": entries,
        "rounds": len(pairs),
        "meltano": _side([p for p, _ in pairs]),
        "native": _side([n for _, n in pairs]),
        "ratio": ratio,
        "ratio_per_round": [plain.wall_s / native.wall_s for plain, native in pairs],
        "met": ratio > 1,
        "load": _spread([run.load for pair in pairs for run in pair]),
        "runs": [[asdict(p), asdict(n)] for p, n in pairs],
    }


def _side(runs: list[Run]) -> dict[str, Any]:
    wall = statistics.median(run.wall_s for run in runs)
    return {
        "wall_s": _spread([run.wall_s for run in runs]),
        "records_per_s": runs[0].entries / wall,
        "first_row_s": _median_of(runs, "first_row_s"),
        "cpu_s": _median_of(runs, "cpu_s"),
        "own_cpu_s": _median_of(runs, "own_cpu_s"),
    }


# Output.


def _added(seconds: dict[str, Any], fraction: dict[str, Any]) -> str:
    """Paired median, its 95% interval, quartiles and range."""
    low, high = seconds["ci95"]
    interval = (
        f"95% interval {low:+.2f} to {high:+.2f} s, {fraction['ci95'][0]:+.1%} to {fraction['ci95'][1]:+.1%}"
        if math.isfinite(low) and math.isfinite(high)
        else "too few rounds for a 95% interval"
    )
    return (
        f"{seconds['median']:+.2f} s, {fraction['median']:+.1%} (paired median; {interval}; "
        f"quartiles {seconds['q1']:+.2f} to {seconds['q3']:+.2f} s; range {seconds['min']:+.2f} "
        f"to {seconds['max']:+.2f} s)"
    )


def _verdict(word: str) -> str:
    return {"met": "yes", "missed": "**no**"}.get(word, "not resolved (interval spans the budget)")


def _range(spread: dict[str, float], unit: str = "s", digits: int = 2) -> str:
    return f"{spread['min']:.{digits}f} to {spread['max']:.{digits}f}{unit}"


def markdown(delegate: dict[str, Any] | None, native: list[dict[str, Any]]) -> str:
    """One table: the delegated overhead row, then each native size's two rows."""
    lines = [
        "| entries | approach | wall time | records/s | vs `meltano run` | target | met | load (1 min) |",
        "|---:|---|---:|---:|---:|---|---|---:|",
    ]
    if delegate is not None:
        entries, rounds = delegate["entries"], delegate["rounds"]
        plain, flext = delegate["meltano_wall_s"], delegate["flext_wall_s"]
        lines.append(
            f"| {entries:,} | `meltano run` | {plain['median']:.2f} s (median of {rounds}; "
            f"{_range(plain)}) | {entries / plain['median']:,.0f} | baseline | | "
            f"| {_range(delegate['load'], '')} |"
        )
        lines.append(
            f"| {entries:,} | `flext meltano run` (delegated), wall time | {flext['median']:.2f} s "
            f"({_range(flext)}) | {entries / flext['median']:,.0f} "
            f"| {_added(delegate['added_s'], delegate['added_fraction'])} | < 0.3 s and < 3% "
            f"| {_verdict(delegate['verdict_wall'])} | |"
        )
        cpu = delegate["split"]["cpu_s"]
        lines.append(
            f"| {entries:,} | `flext meltano run` (delegated), CPU s of all processes "
            f"| {cpu['flext']:.2f} s (Meltano {cpu['meltano']:.2f} s) "
            f"| | {_added(delegate['cpu_added_s'], delegate['cpu_added_fraction'])} | < 0.3 s and < 3% "
            f"| {_verdict(delegate['verdict_cpu'])} | |"
        )
        serial = delegate.get("serial")
        if serial:
            lines.append(
                f"| {entries:,} | `flext meltano run`, flext's own time before Meltano starts and after "
                f"it ends (strace, {serial['rounds']} runs) | {serial['serial_s']['median']:.3f} s "
                f"({_range(serial['serial_s'], 's', 3)}; before {serial['before_s']['median']:.3f} s, after "
                f"{serial['after_s']['median']:.3f} s) | | at least +{serial['serial_s']['median']:.2f} s, "
                f"+{serial['fraction']['median']:.1%} of Meltano's {serial['meltano_s']['median']:.2f} s "
                f"| < 0.3 s and < 3% | {_verdict(serial['verdict'])} | {_range(serial['load'], '')} |"
            )
    for size in native:
        entries, rounds = size["entries"], size["rounds"]
        runs = f"median of {rounds}; " if rounds > 1 else "one run"
        for side, label in (("meltano", "`meltano run`"), ("native", "imported, `flext pipeline run`")):
            data = size[side]
            wall = data["wall_s"]
            spread = f"{runs}{_range(wall)}" if rounds > 1 else runs
            if side == "meltano":
                versus, target, met = "baseline", "", ""
            else:
                per_round = ", ".join(f"{r:.2f}x" for r in size["ratio_per_round"])
                versus = f"{size['ratio']:.2f}x" + (f" (per round {per_round})" if rounds > 1 else "")
                target, met = "> 1x", "yes" if size["met"] else "**no**"
            load = _range(size["load"], "") if side == "meltano" else ""
            lines.append(
                f"| {entries:,} | {label} | {wall['median']:.1f} s ({spread}) "
                f"| {data['records_per_s']:,.0f} | {versus} | {target} | {met} | {load} |"
            )
    return "\n".join(lines)


@contextlib.contextmanager
def _work_dir(keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="flext-bench-meltano-"))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def _projected(native: list[dict[str, Any]], entries: int) -> float | None:
    """Seconds both sides would take on ``entries``, scaled linearly from the largest repeated size."""
    if not native:
        return None
    largest = native[-1]
    both = float(largest["meltano"]["wall_s"]["median"]) + float(largest["native"]["wall_s"]["median"])
    return both / int(largest["entries"]) * entries


def run_native(
    project: BenchProject, sizes: list[int], repeat: int, max_once: float, work: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """Part 2, smaller sizes first; a larger size that would take too long becomes FALLBACK_SIZE."""
    results: list[dict[str, Any]] = []
    notes: list[str] = []
    for entries in sorted(sizes):
        if entries > FALLBACK_SIZE:
            projected = _projected(results, entries)
            if projected is not None and projected > max_once:
                notes.append(
                    f"{entries:,} entries would take about {projected:.0f} s (over {max_once:.0f} s): "
                    f"measured {FALLBACK_SIZE:,} once instead"
                )
                print("note: " + notes[-1], file=sys.stderr)
                entries = FALLBACK_SIZE
        begun = time.perf_counter()
        ldif = write_input(work, entries)
        print(f"wrote {entries:,} entries in {time.perf_counter() - begun:.1f}s", file=sys.stderr)
        rounds = 1 if entries >= ONCE_FROM else repeat
        pairs = paired(("meltano", project.plain), ("native", project.native), ldif, entries, rounds, work)
        results.append(native_summary(pairs))
        ldif.unlink()
    return results, notes


def run_delegate(project: BenchProject, entries: int, rounds: int, traced: int, work: Path) -> dict[str, Any]:
    """Part 1: an untimed warm-up pair (it makes flext's event store), the paired rounds, the traced runs."""
    ldif = write_input(work, entries)
    home = work / "flext-home"
    sides = (("meltano", project.plain), ("flext", project.delegated(home)))
    print("delegate, warm-up (not counted):", file=sys.stderr)
    paired(*sides, ldif, entries, 1, work)
    print("delegate:", file=sys.stderr)
    summary = delegate_summary(paired(*sides, ldif, entries, rounds, work))
    if traced:
        summary["serial"] = serial_time(
            project.delegated(home), project.executable, ldif, entries, traced, work
        )
    return summary


def serial_time(
    prepare: Prepare, meltano: Path, ldif: Path, entries: int, rounds: int, work: Path
) -> dict[str, Any] | None:
    """flext's own time before Meltano starts and after it ends, from strace's exec and exit time stamps.

    Under ``strace -f`` (execve only, filtered in the kernel with
    ``--seccomp-bpf``, so the traced processes run at full speed otherwise):
    ``before`` is from flext's exec to Meltano's, ``after`` from Meltano's
    exit to flext's. Nothing of Meltano's runs in either span, so their sum
    is a lower bound of what the delegation adds to the wall time, one that
    noise from other processes only raises. None without strace.
    """
    strace = shutil.which("strace")
    if strace is None:
        print("note: no strace: the serial-time rows are left out", file=sys.stderr)
        return None
    samples: list[dict[str, float]] = []
    for index in range(rounds):
        run = Path(tempfile.mkdtemp(prefix=f"traced-{entries}-", dir=work))
        try:
            database = run / "target.db"
            command = prepare(run, ldif, database)
            trace, load = run / "strace.txt", os.getloadavg()[0]
            argv = [strace, "-f", "-q", "-ttt", "--seccomp-bpf", "-e", "trace=execve", "-e", "signal=none"]
            subprocess.run(
                [*argv, "-o", str(trace), *command.argv],
                cwd=command.cwd,
                env=command.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
            if sum(count_rows(database).values()) != entries:
                raise RunFailed(f"traced flext meltano run on {entries} entries: rows missing")
            samples.append(_spans(trace.read_text(encoding="utf-8"), meltano) | {"load": load})
        finally:
            shutil.rmtree(run, ignore_errors=True)
        done = samples[-1]
        print(
            f"  traced {index + 1}/{rounds}  before Meltano {done['before_s']:.3f}s  after it "
            f"{done['after_s']:.3f}s  Meltano {done['meltano_s']:.2f}s  load {done['load']:.2f}",
            file=sys.stderr,
        )
    serial = [sample["before_s"] + sample["after_s"] for sample in samples]
    fraction = [(sample["before_s"] + sample["after_s"]) / sample["meltano_s"] for sample in samples]
    return {
        "rounds": rounds,
        "serial_s": _spread(serial),
        "before_s": _spread([sample["before_s"] for sample in samples]),
        "after_s": _spread([sample["after_s"] for sample in samples]),
        "meltano_s": _spread([sample["meltano_s"] for sample in samples]),
        "fraction": _spread(fraction),
        "load": _spread([sample["load"] for sample in samples]),
        "verdict": "missed"
        if min(serial) >= MAX_ADDED_S or min(fraction) >= MAX_ADDED_FRACTION
        else "unresolved",
        "samples": samples,
    }


def _spans(trace: str, meltano: Path) -> dict[str, float]:
    """From ``strace -f -ttt`` lines (``PID EPOCH execve(...)``, ``PID EPOCH +++ exited ...``): the spans."""
    lines = [line.split(maxsplit=2) for line in trace.splitlines() if line.strip()]
    flext_pid, flext_exec = lines[0][0], float(lines[0][1])
    child = next(line for line in lines if line[2].startswith(f'execve("{meltano}"'))
    exits = {line[0]: float(line[1]) for line in lines if line[2].startswith("+++ exited")}
    return {
        "before_s": float(child[1]) - flext_exec,
        "after_s": exits[flext_pid] - exits[child[0]],
        "meltano_s": exits[child[0]] - float(child[1]),
    }


def startup_probe(project: BenchProject, work: Path, repeat: int = 5) -> dict[str, float]:
    """Median wall seconds of ``flext --version`` and ``flext meltano --help``: flext's own start-up."""
    env = project.flext_env(work / "flext-home")
    out: dict[str, float] = {}
    for label, argv in (("flext --version", ["--version"]), ("flext meltano --help", ["meltano", "--help"])):
        walls = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([str(FLEXT), *argv], env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        out[label] = statistics.median(walls)
    return out


def report(path: Path) -> int:
    """Summarise a results file's runs again (this version's summaries), rewrite it, print the table."""
    payload = json.loads(path.read_text(encoding="utf-8"))

    def pairs_of(summary: dict[str, Any]) -> list[tuple[Run, Run]]:
        return [(Run(**first), Run(**second)) for first, second in summary["runs"]]

    if payload.get("delegate"):
        serial = payload["delegate"].get("serial")
        payload["delegate"] = delegate_summary(pairs_of(payload["delegate"])) | {"serial": serial}
    payload["native"] = [native_summary(pairs_of(size)) for size in payload.get("native", [])]
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(markdown(payload.get("delegate"), payload["native"]))
    for note in payload.get("notes", []):
        print(f"note: {note}")
    return 0


def main() -> int:
    """Build or find Meltano, run the parts asked for, print the JSON and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("delegate", "native"), default=None, help="run one part")
    parser.add_argument("--entries", type=int, default=None, help="entries for the delegated rounds (10000)")
    parser.add_argument("--rounds", type=int, default=None, help="delegated paired rounds (15)")
    parser.add_argument("--traced", type=int, default=None, help="delegated runs under strace (5; 0: none)")
    parser.add_argument("--sizes", type=_sizes, default=None, help="native sizes (100000,1000000)")
    parser.add_argument("--repeat", type=int, default=None, help="native rounds below 300,000 entries (3)")
    parser.add_argument(
        "--max-once", type=float, default=900.0, help="seconds a size over 300,000 may take (both sides)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds (a smoke test)")
    parser.add_argument(
        "--tools-dir", type=Path, default=_default_tools_dir(), help="FLEXT_TOOLS_DIR: where Meltano's env is"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--report", type=Path, default=None, help="measure nothing: summarise a results file again"
    )
    args = parser.parse_args()
    if args.report is not None:
        return report(args.report)
    entries = args.entries or (1_000 if args.quick else 10_000)
    rounds = args.rounds or (3 if args.quick else 15)
    traced = args.traced if args.traced is not None else (2 if args.quick else 5)
    sizes = args.sizes or ([10_000] if args.quick else [100_000, 1_000_000])
    repeat = args.repeat or (1 if args.quick else 3)
    started = time.perf_counter()
    tools = ready_tools(args.tools_dir.resolve())
    print(f"meltano: {tools / 'bin' / 'meltano'} (flext's tool environment)", file=sys.stderr)
    print(f"compiled the sources of {compile_sources()} workspace projects", file=sys.stderr)
    delegate: dict[str, Any] | None = None
    native: list[dict[str, Any]] = []
    notes: list[str] = []
    with _work_dir(args.keep) as work:
        project = BenchProject(args.tools_dir.resolve(), work)
        if args.only in (None, "delegate"):
            delegate = run_delegate(project, entries, rounds, traced, work)
        startup = startup_probe(project, work)
        if args.only in (None, "native"):
            native, notes = run_native(project, sizes, repeat, args.max_once, work)
    payload: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "flext": installed_version("flext-kernel"),
        "meltano": project.version,
        "meltano_executable": str(project.executable),
        "command": " ".join(["python", "benchmarks/bench_meltano.py", *sys.argv[1:]]),
        "poll_s": POLL,
        "startup_s": startup,
        "delegate": delegate,
        "native": native,
        "notes": notes,
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(payload, indent=2)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)
    print("\n" + markdown(delegate, native), file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
