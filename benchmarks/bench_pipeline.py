"""Pipeline throughput: ``flext pipeline run`` against the raw shell pipe and ``meltano run``.

Usage::

    python benchmarks/bench_pipeline.py                 # 100k and 1M entries; JSON on stdout and in results/
    python benchmarks/bench_pipeline.py --write-docs    # also refresh the table in docs/performance.md
    python benchmarks/bench_pipeline.py --quick         # 10k entries, fewer repeats (a smoke test)
    python benchmarks/bench_pipeline.py --sizes 20000,50000 --repeat 5
    python benchmarks/bench_pipeline.py --startup-only --no-meltano --startup-repeat 9

Three ways to move the same LDIF file (``flext_plugin_ldif.sample.write_directory``,
written once per run into a temporary directory) into a new SQLite file, with
the same executables (``tap-ldif`` and ``target-sqlite`` from this interpreter's
``bin`` directory) and the same config (``files``; ``database``):

* ``shell``: ``tap-ldif --config tap.json | target-sqlite --config target.json``
  under ``bash -c`` with ``pipefail``, each stderr to a file; the baseline;
* ``flext``: ``flext pipeline run bench`` on a definition with an extract and a
  load step (no transform), registered beforehand (``flext data pipeline
  create``, not timed) in a project directory and ``FLEXT_HOME`` of its own per
  run, so the event store holds no state and the tap extracts everything;
* ``meltano``: ``meltano run tap-ldif target-sqlite`` in a project whose
  ``meltano.yml`` declares the two as custom plugins with ``executable:`` set to
  the same absolute paths and no ``pip_url`` (``meltano install`` then skips
  them as "not installable"; nothing is installed for them). Each run gets a
  fresh copy of a project on which ``meltano install`` ran once (it creates the
  system database), so no state is found and the import is complete. Meltano
  lives in a virtual environment of its own (``--meltano-venv``, built with uv
  from ``benchmarks/requirements-pipeline.txt`` when missing), never in flext's.

Every run writes a new database file; after it the rows of every table are
counted and must equal the number of entries, so a broken run fails the
benchmark instead of looking fast. Measured per approach and size:

* wall time, from spawning the command to its exit, and records/s (entries
  over wall time); the ratio is the approach's records/s over the shell pipe's;
* time to first record: from spawning the command until a row is visible in
  the target's database, polled every 20 ms with a read-only connection of the
  benchmark (target-sqlite commits every 10,000 rows, the same for all three,
  so this is the time until the first batch is committed);
* CPU seconds (user + system): of every process of the run (``RUSAGE_CHILDREN``
  around it), and of the orchestrator's own process alone (bash, flext or
  meltano; read from ``/proc/PID/stat`` after it exits, before it is reaped),
  which is what relaying the stream and recording the run cost;
* start-up: on a 10-entry file, the median over the rounds of each
  approach's wall time minus the shell pipe's in the same round (paired, so a
  burst of load on the machine hits both sides of a difference), with the
  range; ``--startup-only`` runs just these rows.

Before anything is timed, the workspace's sources (the kernel, the SDK and
every plugin, installed editable, so their bytecode lives next to them) are
compiled with this interpreter, as installing a wheel would do: with
``PYTHONDONTWRITEBYTECODE`` set (it is passed through to every approach)
nothing else would ever write their ``.pyc`` files and every run would
compile them again. Both sides use them: ``tap-ldif`` and ``target-sqlite``
are workspace plugins too.

Runs are interleaved (shell, flext, meltano, with the order rotated each
repeat) so drift hits all three alike; small sizes take the median of
``--repeat`` runs, sizes of 500,000 entries and more run once each. Targets of
the pipeline issue: flext at least 0.9x the shell pipe's records/s, and faster
than meltano. In ``_timing.Row`` terms ``ns`` is nanoseconds per record,
``baseline_ns`` the shell pipe's, and ``max_ratio`` 1/0.9.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _timing import Row  # noqa: E402  (needs the path above)
from flext_plugin_ldif.sample import write_directory  # noqa: E402

BIN = Path(sys.executable).parent
TAP, TARGET, FLEXT = BIN / "tap-ldif", BIN / "target-sqlite", BIN / "flext"
DOC = HERE.parent / "docs" / "performance.md"
RESULTS = HERE / "results" / "pipeline.json"
REQUIREMENTS = HERE / "requirements-pipeline.txt"
BEGIN, END = "<!-- pipeline-benchmarks:begin -->", "<!-- pipeline-benchmarks:end -->"
APPROACHES = ("shell", "flext", "meltano")
MIN_RATIO = 0.9
"""The issue's target: flext's records/s at least this fraction of the shell pipe's."""
STARTUP_ENTRIES = 10
ONCE_FROM = 500_000
"""Sizes with at least this many entries run once per approach."""
POLL = 0.02
"""Seconds between two looks at the target's database for the first row."""


def _default_meltano_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "flext-bench" / "meltano"


def compile_sources() -> int:
    """Write the bytecode of the workspace's sources (see the module docstring); returns how many dirs."""
    root = HERE.parent
    sources = [root / "kernel" / "src", root / "sdk" / "src", *sorted((root / "plugins").glob("*/src"))]
    for source in sources:
        if not compileall.compile_dir(source, quiet=1):
            raise RuntimeError(f"compiling {source} failed")
    return len(sources)


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without FLEXT_* / MELTANO_* settings, no colour, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEXT_", "MELTANO_", "VIRTUAL_ENV"))}
    env.update(NO_COLOR="1", COLUMNS="120", **extra)
    return env


# The input: one sample directory per size, written once per benchmark run.


def directory_shape(entries: int) -> dict[str, int]:
    """``write_directory`` arguments for exactly ``entries`` entries (domain, 2 OUs, departments, ...)."""
    groups = max(1, entries // 1000)
    ous = min(12, max(1, entries // 10_000))
    users = entries - 3 - ous - groups
    if users < 1:
        raise ValueError(f"{entries} entries is too few: at least {5 + ous + groups - 1} are needed")
    return {"users": users, "groups": groups, "ous": ous}


def write_input(directory: Path, entries: int) -> Path:
    """Write the sample LDIF with ``entries`` entries into ``directory``; returns its path."""
    path = directory / f"directory-{entries}.ldif"
    written = write_directory(path, seed=5, **directory_shape(entries))
    if written != entries:
        raise RuntimeError(f"write_directory wrote {written} entries, not {entries}")
    return path


# The three approaches: each prepares a run directory (not timed) and returns what to spawn.


@dataclass(frozen=True)
class Command:
    """A prepared run: the command line, its environment and working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


def _shell(run: Path, ldif: Path, database: Path) -> Command:
    (run / "tap.json").write_text(json.dumps({"files": [str(ldif)]}), encoding="utf-8")
    (run / "target.json").write_text(json.dumps({"database": str(database)}), encoding="utf-8")
    script = (
        'set -o pipefail; "$0" --config tap.json 2>tap.log '
        '| "$1" --config target.json >state.jsonl 2>target.log'
    )
    return Command(["bash", "-c", script, str(TAP), str(TARGET)], _clean_env(), run)


def _flext(run: Path, ldif: Path, database: Path) -> Command:
    project = run / "project"
    project.mkdir()
    (project / "flext.yaml").write_text("# benchmark project\n", encoding="utf-8")
    definition = {
        "name": "bench",
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},
        "load": {"name": "target-sqlite", "config": {"database": str(database)}},
    }
    (project / "pipeline.yaml").write_text(json.dumps(definition, indent=2), encoding="utf-8")  # JSON is YAML
    env = _clean_env(FLEXT_HOME=str(run / "home"))
    subprocess.run(
        [str(FLEXT), "data", "pipeline", "create", "pipeline.yaml"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    return Command([str(FLEXT), "pipeline", "run", "bench"], env, project)


class Meltano:
    """Meltano in its own virtual environment, and a project template on which ``meltano install`` ran."""

    def __init__(self, venv: Path, work: Path) -> None:
        self.executable = venv / "bin" / "meltano"
        if not self.executable.exists():
            _install_meltano(venv)
        self.version = subprocess.run(
            [str(self.executable), "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        self.template = work / "meltano-template"
        self.template.mkdir()
        self._write_project(self.template, ldif=Path("unused.ldif"), database=Path("unused.db"))
        subprocess.run(
            [str(self.executable), "install"],
            cwd=self.template,
            env=self.env,
            check=True,
            capture_output=True,
        )

    @property
    def env(self) -> dict[str, str]:
        """Meltano's environment: no anonymous usage statistics, no colour."""
        return _clean_env(MELTANO_SEND_ANONYMOUS_USAGE_STATS="false")

    @staticmethod
    def _write_project(project: Path, *, ldif: Path, database: Path) -> None:
        config = {
            "default_environment": "bench",
            "project_id": "flext-bench-pipeline",
            "send_anonymous_usage_stats": False,
            "environments": [{"name": "bench"}],
            "plugins": {
                "extractors": [
                    {
                        "name": "tap-ldif",
                        "namespace": "tap_ldif",
                        "executable": str(TAP),
                        "capabilities": ["catalog", "discover", "state", "about", "stream-maps"],
                        "config": {"files": [str(ldif)]},
                    }
                ],
                "loaders": [
                    {
                        "name": "target-sqlite",
                        "namespace": "target_sqlite",
                        "executable": str(TARGET),
                        "capabilities": ["about", "stream-maps"],
                        "config": {"database": str(database)},
                    }
                ],
            },
        }
        (project / "meltano.yml").write_text(json.dumps(config, indent=2), encoding="utf-8")

    def __call__(self, run: Path, ldif: Path, database: Path) -> Command:
        """Copy the installed template project into ``run`` and point it at this run's files."""
        project = run / "meltano"
        shutil.copytree(self.template, project, symlinks=True)
        self._write_project(project, ldif=ldif, database=database)
        return Command([str(self.executable), "run", "tap-ldif", "target-sqlite"], self.env, project)


def _install_meltano(venv: Path) -> None:
    """Build ``venv`` with uv (or venv + pip) and install ``requirements-pipeline.txt`` into it."""
    print(f"installing meltano into {venv} ...", file=sys.stderr)
    uv = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    python = venv / "bin" / "python"
    if uv:
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        install = [uv, "pip", "install", "--quiet", "--python", str(python)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*install, "-r", str(REQUIREMENTS)], check=True)


# One timed run.


class FirstRow:
    """Polls the target's database from a thread; ``seen`` is when a row first appeared (perf_counter)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.seen: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self) -> float | None:
        """Look one last time (the process has exited), stop, and return when a row was first seen."""
        self._done.set()
        self._thread.join()
        if self.seen is None and self._has_row():
            self.seen = time.perf_counter()
        return self.seen

    def _poll(self) -> None:
        while not self._done.wait(POLL):
            if self._has_row():
                self.seen = time.perf_counter()
                return

    def _has_row(self) -> bool:
        if not self.database.exists():  # never create it: a read-only URI, and only once it exists
            return False
        try:
            connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=0)
        except sqlite3.Error:
            return False
        try:
            tables = [name for (name,) in connection.execute(_TABLES)]
            return any(
                connection.execute(f'SELECT EXISTS (SELECT 1 FROM "{t}")').fetchone()[0] for t in tables
            )
        except sqlite3.Error:
            return False
        finally:
            connection.close()


_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


def count_rows(database: Path) -> dict[str, int]:
    """Rows per table of the target's database."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        tables = [name for (name,) in connection.execute(_TABLES)]
        return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _own_cpu(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` itself (an exited, unreaped child), from /proc; None elsewhere."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is the state
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Trial:
    """One run of one approach on one input."""

    approach: str
    entries: int
    wall_s: float
    first_row_s: float | None
    rows: int
    cpu_s: float
    """User + system CPU seconds of the command and every process under it."""
    own_cpu_s: float | None
    """CPU seconds of the command's own process (bash, flext, meltano), not of the tap and target."""


class RunFailed(RuntimeError):
    """A run exited non-zero or loaded the wrong number of rows."""


def trial(
    name: str, prepare: Callable[[Path, Path, Path], Command], ldif: Path, entries: int, work: Path
) -> Trial:
    """Prepare (untimed), run and check one approach on ``ldif``; the run's files are removed afterwards."""
    run = Path(tempfile.mkdtemp(prefix=f"{name}-{entries}-", dir=work))
    try:
        database = run / "target.db"
        command = prepare(run, ldif, database)
        watcher = FirstRow(database)
        with open(run / "stdout.log", "wb") as out, open(run / "stderr.log", "wb") as err:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            process = subprocess.Popen(
                command.argv,
                cwd=command.cwd,
                env=command.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            watcher.start()
            if hasattr(os, "waitid"):  # wait for the exit but leave the child unreaped: /proc still has it
                os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
            else:
                process.wait()
            wall = time.perf_counter() - started
            own = _own_cpu(process.pid)
            code = process.wait()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seen = watcher.stop()
        rows = count_rows(database) if database.exists() else {}
        if code != 0 or sum(rows.values()) != entries:
            tail = (run / "stderr.log").read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            raise RunFailed(
                f"{name} on {entries} entries: exit code {code}, rows {rows} (expected {entries} in all)\n"
                + "\n".join(tail)
            )
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        first = None if seen is None else seen - started
        return Trial(name, entries, wall, first, sum(rows.values()), cpu, own)
    finally:
        shutil.rmtree(run, ignore_errors=True)


# The schedule: interleaved, rotated, medians.


def interleaved(
    approaches: dict[str, Callable[[Path, Path, Path], Command]],
    ldif: Path,
    entries: int,
    repeats: int,
    work: Path,
) -> dict[str, list[Trial]]:
    """``repeats`` rounds of every approach, the order rotated each round."""
    names = list(approaches)
    trials: dict[str, list[Trial]] = {name: [] for name in names}
    for index in range(repeats):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            done = trial(name, approaches[name], ldif, entries, work)
            trials[name].append(done)
            first = "-" if done.first_row_s is None else f"{done.first_row_s:.2f}s"
            print(
                f"  {entries:>9,} entries  {name:<8} {done.wall_s:8.2f}s  first row {first}  "
                f"cpu {done.cpu_s:.2f}s (own {done.own_cpu_s or 0:.2f}s)",
                file=sys.stderr,
            )
    return trials


@dataclass
class Summary:
    """The medians of one approach on one size."""

    approach: str
    entries: int
    runs: int
    wall_s: float
    records_per_s: float
    first_row_s: float | None
    cpu_s: float
    """Median CPU seconds (user + system) of all the run's processes."""
    own_cpu_s: float | None
    """Median CPU seconds of the command's own process (what the orchestrator itself costs)."""
    ratio_vs_shell: float | None = None
    walls: list[float] = field(default_factory=list)
    own_cpus: list[float] = field(default_factory=list)
    overheads: list[float] = field(default_factory=list)
    """Per round: this approach's wall time minus the shell pipe's in the same round."""

    @property
    def overhead_s(self) -> float | None:
        """Median of the paired overheads (None for the shell pipe itself)."""
        return statistics.median(self.overheads) if self.overheads else None


def summarise(trials: dict[str, list[Trial]]) -> dict[str, Summary]:
    """Median wall time and time to first record per approach; ratios against the shell pipe."""
    out: dict[str, Summary] = {}
    for name, runs in trials.items():
        wall = statistics.median(t.wall_s for t in runs)
        firsts = [t.first_row_s for t in runs if t.first_row_s is not None]
        owns = [t.own_cpu_s for t in runs if t.own_cpu_s is not None]
        out[name] = Summary(
            name,
            runs[0].entries,
            len(runs),
            wall,
            runs[0].entries / wall,
            statistics.median(firsts) if firsts else None,
            statistics.median(t.cpu_s for t in runs),
            statistics.median(owns) if owns else None,
            walls=[t.wall_s for t in runs],
            own_cpus=owns,
        )
    if "shell" in out:
        for name, summary in out.items():
            summary.ratio_vs_shell = summary.records_per_s / out["shell"].records_per_s
            if name != "shell":  # rounds line up: interleaved runs every approach once per round
                pairs = zip(trials[name], trials["shell"], strict=True)
                summary.overheads = [mine.wall_s - shell.wall_s for mine, shell in pairs]
    return out


def rows_of(sizes: list[dict[str, Summary]]) -> list[Row]:
    """Throughput as ``_timing.Row``: ns per record against the shell pipe's (flext's row has the target)."""
    rows: list[Row] = []
    for by_name in sizes:
        shell = by_name["shell"]
        per_record = 1e9 / shell.records_per_s
        for summary in by_name.values():
            if summary.approach == "shell":
                continue
            notes = [f"median of {summary.runs}"] if summary.runs > 1 else ["one run"]
            if summary.approach == "flext" and "meltano" in by_name:
                notes.append(
                    f"faster than meltano: {summary.records_per_s > by_name['meltano'].records_per_s}"
                )
            rows.append(
                Row(
                    "pipeline",
                    f"{summary.approach}, {summary.entries:,} entries",
                    1e9 / summary.records_per_s,
                    "shell pipe",
                    per_record,
                    1 / MIN_RATIO if summary.approach == "flext" else None,
                    notes,
                )
            )
    return rows


# Output.


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} s"


def _own(summary: Summary) -> str:
    return "-" if summary.own_cpu_s is None else f"{summary.own_cpu_s:,.2f} s"


def markdown(sizes: list[dict[str, Summary]], startup: dict[str, Summary]) -> str:
    """The docs tables: throughput per size and approach, then start-up on a 10-entry file."""
    lines = [
        "| entries | approach | records/s | wall time | vs shell | time to first record "
        "| CPU, all processes | CPU, orchestrator |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    if not sizes:  # --startup-only
        lines = []
    for by_name in sizes:
        for summary in by_name.values():
            ratio = "-" if summary.ratio_vs_shell is None else f"{summary.ratio_vs_shell:.2f}x"
            if summary.approach == "flext" and summary.ratio_vs_shell is not None:
                ratio += " (target >= 0.9x: " + ("met)" if summary.ratio_vs_shell >= MIN_RATIO else "**no**)")
            runs = "" if summary.runs == 1 else f" (median of {summary.runs})"
            lines.append(
                f"| {summary.entries:,} | {summary.approach} | {summary.records_per_s:,.0f} "
                f"| {summary.wall_s:,.1f} s{runs} | {ratio} | {_seconds(summary.first_row_s)} "
                f"| {summary.cpu_s:,.1f} s | {_own(summary)} |"
            )
    if "shell" in startup:
        rounds = next(iter(startup.values())).runs
        lines += [
            *([""] if lines else []),
            f"Start-up, on a {STARTUP_ENTRIES}-entry file (median of {rounds}, range in brackets):",
            "",
            "| approach | wall time | start-up (vs shell, paired) | time to first record "
            "| CPU, orchestrator |",
            "|---|---:|---:|---:|---:|",
        ]
        for summary in startup.values():
            lines.append(
                f"| {summary.approach} | {summary.wall_s:.2f} s | {_overhead(summary)} "
                f"| {_seconds(summary.first_row_s)} | {_own(summary)}{_range(summary.own_cpus)} |"
            )
    return "\n".join(lines)


def _range(values: list[float]) -> str:
    return f" ({min(values):.2f} to {max(values):.2f})" if len(values) > 1 else ""


def _overhead(summary: Summary) -> str:
    """The median paired start-up overhead and its range over the rounds."""
    if summary.overhead_s is None:
        return "baseline"
    return f"+{summary.overhead_s:.2f} s{_range(summary.overheads)}"


_SECTION = f"""
## Pipelines

Moving one LDIF file into a new SQLite file three ways, in one run of
`benchmarks/bench_pipeline.py`: the raw shell pipe `tap-ldif | target-sqlite`
(the baseline), `flext pipeline run` and `meltano run`, all with the same
executables and the same config. Reproduce with `python
benchmarks/bench_pipeline.py --write-docs` (Meltano is installed into a
virtual environment of its own from `benchmarks/requirements-pipeline.txt`);
the run also writes `benchmarks/results/pipeline.json`.

{BEGIN}
{END}
"""


def write_docs(table: str, when: str, meltano: str | None) -> None:
    """Replace the block between the markers in docs/performance.md (appending the section if missing)."""
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text:
        text = text.rstrip("\n") + "\n" + _SECTION
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    peers = f", Meltano {meltano}" if meltano else ""
    block = f"{BEGIN}\n_Measured {when} on {platform.python_implementation()} {platform.python_version()}, "
    block += f"{platform.machine()}, {os.cpu_count()} CPUs{peers}._\n\n{table}\n{END}"
    DOC.write_text(head + block + tail, encoding="utf-8")


@contextlib.contextmanager
def _work_dir(keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="flext-bench-pipeline-"))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main() -> int:
    """Write the inputs, run the schedule, print the JSON (and refresh the docs table if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=_sizes, default=None, help="entries per input (default 100000,1000000)"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 entries, fewer repeats (a smoke test)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per approach below 500,000 entries")
    parser.add_argument("--startup-repeat", type=int, default=None, help="runs per approach on 10 entries")
    parser.add_argument("--no-meltano", action="store_true", help="measure the shell pipe and flext only")
    parser.add_argument(
        "--startup-only", action="store_true", help="only the start-up rows (10 entries); no docs refresh"
    )
    parser.add_argument(
        "--meltano-venv", type=Path, default=_default_meltano_venv(), help="Meltano's own venv"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (inputs, Meltano template)"
    )
    parser.add_argument("--write-docs", action="store_true", help="refresh the table in docs/performance.md")
    args = parser.parse_args()
    if args.startup_only and args.write_docs:
        parser.error("--write-docs needs the throughput rows too; leave out --startup-only")
    sizes = args.sizes or ([10_000] if args.quick else [100_000, 1_000_000])
    if args.startup_only:
        sizes = []
    repeat = args.repeat or (1 if args.quick else 3)
    startup_repeat = args.startup_repeat or (3 if args.quick else 5)
    started = time.perf_counter()
    with _work_dir(args.keep) as work:
        approaches: dict[str, Callable[[Path, Path, Path], Command]] = {"shell": _shell, "flext": _flext}
        meltano = None if args.no_meltano else Meltano(args.meltano_venv, work)
        if meltano is not None:
            approaches["meltano"] = meltano
        inputs = {}
        for entries in sorted({STARTUP_ENTRIES, *sizes}):
            begun = time.perf_counter()
            inputs[entries] = write_input(work, entries)
            print(f"wrote {entries:,} entries in {time.perf_counter() - begun:.1f}s", file=sys.stderr)
        print(f"compiled the sources of {compile_sources()} workspace projects", file=sys.stderr)
        print("warm-up (not counted):", file=sys.stderr)
        interleaved(approaches, inputs[STARTUP_ENTRIES], STARTUP_ENTRIES, 1, work)
        print("start-up:", file=sys.stderr)
        startup = summarise(
            interleaved(approaches, inputs[STARTUP_ENTRIES], STARTUP_ENTRIES, startup_repeat, work)
        )
        measured: list[dict[str, Summary]] = []
        for entries in sizes:
            runs = 1 if entries >= ONCE_FROM else repeat
            measured.append(summarise(interleaved(approaches, inputs[entries], entries, runs, work)))
        input_bytes = {str(entries): path.stat().st_size for entries, path in inputs.items()}
    when = time.strftime("%Y-%m-%d")
    rows = rows_of(measured)
    shell_startup = startup["shell"].wall_s
    payload: dict[str, Any] = {
        "date": when,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "flext": installed_version("flext-kernel"),
        "meltano": meltano.version if meltano else None,
        "command": " ".join(["python", "benchmarks/bench_pipeline.py", *sys.argv[1:]]),
        "input_bytes": input_bytes,
        "startup": {
            name: asdict(s)
            | {"overhead_vs_shell_s": s.wall_s - shell_startup, "paired_overhead_s": s.overhead_s}
            for name, s in startup.items()
        },
        "sizes": [{name: asdict(s) for name, s in by_name.items()} for by_name in measured],
        "rows": [asdict(row) | {"ratio": row.ratio, "met": row.met} for row in rows],
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(payload, indent=2)
    results = RESULTS.with_name("pipeline-startup.json") if args.startup_only else RESULTS
    results.parent.mkdir(exist_ok=True)
    results.write_text(text + "\n", encoding="utf-8")
    print(text)
    table = markdown(measured, startup)
    print("\n" + table, file=sys.stderr)
    if args.write_docs:
        write_docs(table, when, payload["meltano"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
