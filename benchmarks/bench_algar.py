"""ALGAR migration benchmark: the LDIF phases, loading slapd and ``oud sync``, against same-run baselines.

Three measurements (issue 16, "Performance"), every one a ratio against a
baseline timed in the same run, rounds alternating:

- **phases**: ``flext algar migration run`` (every phase but ``sync``) on a
  generated OID export (``flext_plugin_algar.sample``), against python-ldap's
  ``LDIFParser`` reading the same export and ``LDIFWriter`` writing it back: one
  read and one write of the file with the reference Python LDIF library.
  Entries/s, CPU seconds and peak RSS of the ``flext`` process.
- **apply**: ``flext algar migration sync`` of the migration's output into a
  fresh ``slapd``, then a second ``sync`` (the idempotency check: it must change
  nothing), against ``ldapadd -c -f`` of the same file into another fresh
  ``slapd``.
- **oud sync**: after the full load (phases + ``sync``) and a first ``oud sync``
  (which compares everything and keeps the snapshot later ones start from), 1%
  of the users get a new ``description`` in the export; ``flext algar oud sync``
  against the full load.

Usage::

    python benchmarks/bench_algar.py --sizes 100000 --rounds 3          # all three
    python benchmarks/bench_algar.py --sizes 100000,1000000 --only phases --rounds 1
    python benchmarks/bench_algar.py --json                             # the report as JSON

The slapd servers are private ones (``flext_sdk.testing.ldap_server``) under
a temporary directory, on loopback ports; the machine's own are not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flext_sdk.testing.ldap_server import LdapServer

BIN = Path(sys.executable).parent
FLEXT = str(BIN / "flext")
PYTHON_LDAP_ROUND_TRIP = """
import sys
from ldif import LDIFParser, LDIFWriter
class Copy(LDIFParser):
    def __init__(self, source, sink):
        super().__init__(source)
        self.writer = LDIFWriter(sink)
    def handle(self, dn, entry):
        self.writer.unparse(dn, entry)
with open(sys.argv[1], "rb") as source, open(sys.argv[2], "w", encoding="utf-8") as sink:
    parser = Copy(source, sink)
    parser.parse()
print(parser.records_read)
"""


@dataclass
class Timed:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MiB."""

    seconds: float
    cpu: float
    peak_mib: float


@dataclass
class Series:
    """The rounds of one approach."""

    name: str
    runs: list[Timed] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        values: list[float] = [getattr(run, attribute) for run in self.runs]
        return statistics.median(values)

    def summary(self, entries: int) -> dict[str, object]:
        seconds = self.median("seconds")
        return {
            "median_seconds": round(seconds, 3),
            "entries_per_second": round(entries / seconds),
            "median_cpu_seconds": round(self.median("cpu"), 3),
            "entries_per_cpu_second": round(entries / self.median("cpu")),
            "peak_rss_mib": round(max(run.peak_mib for run in self.runs), 1),
            "seconds": [round(run.seconds, 3) for run in self.runs],
        }


def timed(
    command: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> Timed:
    """Run ``command`` to its end; its wall time, CPU and peak RSS (``wait4``: that child alone)."""
    with open(cwd / "stdout.txt", "wb") as out, open(cwd / "stderr.txt", "wb") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=out, stderr=errors, cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if check and code != 0:
        tail = (cwd / "stderr.txt").read_text(errors="replace")[-2000:]
        raise SystemExit(f"{' '.join(command[:4])} failed ({code}): {tail}")
    return Timed(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def export(work: Path, entries: int) -> Path:
    """The generated OID export of about ``entries`` entries (kept between runs in ``work``)."""
    path = work / f"oid-export-{entries}.ldif"
    if not path.exists():
        from flext_plugin_algar.sample import write_export

        partial = path.with_suffix(".partial")
        write_export(partial, entries=entries)
        partial.replace(path)
    return path


def count_entries(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line[:3].lower() == b"dn:")


def project(
    work: Path, name: str, source: Path, *, url: str = "ldap://127.0.0.1:1", admin: str = "", suffix: str = ""
) -> Path:
    """A fresh migration project reading ``source`` (hard-linked), loading ``url`` under ``suffix``."""
    directory = work / name
    subprocess.run([FLEXT, "algar", "init", str(directory)], check=True, capture_output=True)
    os.link(source, directory / "oid-export.ldif")
    text = (directory / "algar.yaml").read_text()
    text = text.replace("url: ldap://localhost:1389", f"url: {url}")
    if admin:
        text = text.replace("bind_dn: cn=Directory Manager", f"bind_dn: {admin}")
    if suffix:
        text = text.replace("  to: dc=algar,dc=br", f"  to: {suffix}")
    (directory / "algar.yaml").write_text(text)
    return directory


def _environment(password: str) -> dict[str, str]:
    return {**os.environ, "OUD_BIND_PASSWORD": password}


def bench_phases(work: Path, entries: int, rounds: int) -> dict[str, object]:
    """``flext algar migration run`` against python-ldap's parse-and-write of the same export."""
    source = export(work, entries)
    count = count_entries(source)
    algar, baseline = Series("flext algar migration run"), Series("python-ldap parse + write")
    for number in range(rounds):
        directory = project(work, f"phases-{entries}-{number}", source)
        steps = [
            (algar, [FLEXT, "algar", "migration", "run", "--project", str(directory)]),
            (
                baseline,
                [sys.executable, "-c", PYTHON_LDAP_ROUND_TRIP, str(source), str(directory / "copy.ldif")],
            ),
        ]
        for series, command in steps if number % 2 == 0 else reversed(steps):
            series.runs.append(timed(command, cwd=directory))
        output = directory / "out" / "07-output.ldif"
        if not output.exists():
            raise SystemExit(f"{output} was not written")
    ratios = [b.seconds / a.seconds for a, b in zip(algar.runs, baseline.runs, strict=True)]
    cpu = [b.cpu / a.cpu for a, b in zip(algar.runs, baseline.runs, strict=True)]
    return {
        "entries": count,
        "bytes": source.stat().st_size,
        "rounds": rounds,
        "approaches": {series.name: series.summary(count) for series in (algar, baseline)},
        "ratio": _ratio(ratios, "python-ldap seconds / flext seconds, paired (> 1: flext is faster)"),
        "ratio_cpu": _ratio(cpu, "the same with CPU seconds"),
    }


def _ratio(values: list[float], meaning: str) -> dict[str, object]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "meaning": meaning,
    }


@contextmanager
def slapd(work: Path, name: str) -> Iterator[tuple[LdapServer, str]]:
    """A private slapd standing in for OUD, and the suffix to migrate under; stopped at the end.

    It is the ALGAR tests' target (``tests/plugins/algar/_directory_fixtures.py``: the ``dyngroup``
    schema and a stand-in for OUD's ``aci`` and ``ds-pwp-account-disabled``), so every migrated entry
    loads; imported from there rather than copied, so that the two cannot drift apart.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "plugins" / "algar"))
    from _directory_fixtures import start_target  # type: ignore[import-not-found]  # on the path above

    server = start_target(work / name)
    try:
        yield server, f"dc=algar,{server.subtree('algar')}"
    finally:
        server.stop()


def _ldapadd(server: LdapServer, ldif: Path, cwd: Path) -> Timed:
    """``ldapadd -c -f`` of ``ldif``, bound as the admin (its password in a 0600 file, not on argv).

    ``-c`` because the base entry is there already (``LdapServer`` adds it): ldapadd reports that one
    entry and goes on, so its exit code is not 0; the caller compares the entries on the server instead.
    """
    secret = cwd / "admin.pw"
    secret.write_text(server.admin_password)
    secret.chmod(0o600)
    command = [
        "ldapadd",
        "-x",
        "-c",
        "-H",
        server.url,
        "-D",
        server.admin_dn,
        "-y",
        str(secret),
        "-f",
        str(ldif),
    ]
    return timed(command, cwd=cwd, check=False)


def _entries_in(server: LdapServer, suffix: str) -> int:
    """How many entries the server holds under ``suffix``."""
    out = server.ldapsearch(suffix, "-s", "sub", "1.1")
    return len(re.findall(rb"^dn:", out, re.MULTILINE))


def bench_apply(work: Path, entries: int, rounds: int) -> dict[str, object]:
    """``flext algar migration sync`` (+ a second, idempotent one) against ``ldapadd -c -f``."""
    source = export(work, entries)
    syncs, again, ldapadds = (
        Series("flext algar migration sync"),
        Series("second sync"),
        Series("ldapadd -c -f"),
    )
    loaded = 0
    loads: list[float] = []
    for number in range(rounds):
        loads.append(round(os.getloadavg()[0], 1))
        with slapd(work, f"slapd-sync-{entries}-{number}") as (server, suffix):
            name = f"apply-{entries}-{number}"
            directory = project(work, name, source, url=server.url, admin=server.admin_dn, suffix=suffix)
            env = _environment(server.admin_password)
            timed([FLEXT, "algar", "migration", "run", "--project", str(directory)], cwd=directory)
            output = directory / "out" / "07-output.ldif"
            loaded = count_entries(output)
            sync = [FLEXT, "algar", "migration", "sync", "--project", str(directory)]
            syncs.runs.append(timed(sync, cwd=directory, env=env))
            again.runs.append(timed(sync, cwd=directory, env=env))
            synced = _entries_in(server, suffix)
        with slapd(work, f"slapd-ldapadd-{entries}-{number}") as (server, suffix):
            name = f"ldapadd-{entries}-{number}"
            other = project(work, name, source, url=server.url, admin=server.admin_dn, suffix=suffix)
            timed([FLEXT, "algar", "migration", "run", "--project", str(other)], cwd=other)
            ldapadds.runs.append(_ldapadd(server, other / "out" / "07-output.ldif", other))
            added = _entries_in(server, suffix)
        if synced != added:
            raise SystemExit(f"sync left {synced} entries on the server, ldapadd {added}")
    total = [s.seconds + a.seconds for s, a in zip(syncs.runs, again.runs, strict=True)]
    ratios = [base.seconds / s.seconds for base, s in zip(ldapadds.runs, syncs.runs, strict=True)]
    with_check = [base.seconds / t for base, t in zip(ldapadds.runs, total, strict=True)]
    return {
        "entries": loaded,
        "rounds": rounds,
        "approaches": {series.name: series.summary(loaded) for series in (syncs, again, ldapadds)},
        "ratio": _ratio(ratios, "ldapadd seconds / sync seconds, paired (target >= 0.9)"),
        "ratio_with_second_sync": _ratio(with_check, "ldapadd seconds / (sync + second sync) seconds"),
        "ratios_per_round": [round(ratio, 2) for ratio in ratios],
        "load_per_round": loads,
    }


def _touch_one_percent(source: Path, destination: Path) -> int:
    """Copy ``source`` giving every 100th user a new ``description``; returns how many changed."""
    changed = 0
    users = 0
    with source.open("rb") as reader, destination.open("wb") as writer:
        for line in reader:
            writer.write(line)
            if line.lower().startswith(b"dn: uid="):
                users += 1
                if users % 100 == 0:
                    writer.write(b"description: changed for the oud sync benchmark\n")
                    changed += 1
    return changed


def bench_oud_sync(work: Path, entries: int, rounds: int) -> dict[str, object]:
    """``flext algar oud sync`` of 1% changed users against the full load (phases + sync)."""
    source = export(work, entries)
    full, incremental = Series("full load (run + sync)"), Series("flext algar oud sync")
    changed = 0
    for number in range(rounds):
        with slapd(work, f"slapd-oud-{entries}-{number}") as (server, suffix):
            name = f"oud-{entries}-{number}"
            directory = project(work, name, source, url=server.url, admin=server.admin_dn, suffix=suffix)
            env = _environment(server.admin_password)
            run = timed([FLEXT, "algar", "migration", "run", "--project", str(directory)], cwd=directory)
            sync = timed(
                [FLEXT, "algar", "migration", "sync", "--project", str(directory)], cwd=directory, env=env
            )
            full.runs.append(
                Timed(run.seconds + sync.seconds, run.cpu + sync.cpu, max(run.peak_mib, sync.peak_mib))
            )
            oud = [FLEXT, "algar", "oud", "sync", "--project", str(directory)]
            timed(
                oud, cwd=directory, env=env
            )  # the first one compares everything: the snapshot it starts from
            edited = directory / "oid-export.edited"
            changed = _touch_one_percent(source, edited)
            (directory / "oid-export.ldif").unlink()
            edited.replace(directory / "oid-export.ldif")
            incremental.runs.append(timed(oud, cwd=directory, env=env))
            found = server.ldapsearch(suffix, "(description=changed for the oud sync benchmark)", "1.1")
            applied = len(re.findall(rb"^dn:", found, re.MULTILINE))
            if applied != changed:
                raise SystemExit(f"oud sync applied {applied} of {changed} changed entries")
    shares = [i.seconds / f.seconds for i, f in zip(incremental.runs, full.runs, strict=True)]
    entries_count = count_entries(source)
    return {
        "entries": entries_count,
        "changed": changed,
        "rounds": rounds,
        "approaches": {series.name: series.summary(entries_count) for series in (full, incremental)},
        "share": _ratio(shares, "oud sync seconds / full load seconds, paired (target < 0.10)"),
    }


BENCHES = {"phases": bench_phases, "apply": bench_apply, "oud": bench_oud_sync}


def _print(name: str, report: dict[str, object]) -> None:
    print(f"\n{name}: {report['entries']:,} entries, {report['rounds']} rounds")
    approaches = report["approaches"]
    assert isinstance(approaches, dict)
    print(f"  {'approach':<30} {'median s':>9} {'entries/s':>10} {'CPU s':>7} {'peak MiB':>9}  runs")
    for label, row in approaches.items():
        runs = " ".join(f"{s:.2f}" for s in row["seconds"])
        print(
            f"  {label:<30} {row['median_seconds']:>9.2f} {row['entries_per_second']:>10,} "
            f"{row['median_cpu_seconds']:>7.2f} {row['peak_rss_mib']:>9.1f}  {runs}"
        )
    for key in ("ratio", "ratio_cpu", "ratio_with_second_sync", "share"):
        if key in report:
            ratio = report[key]
            assert isinstance(ratio, dict)
            spread = f"range {ratio['min']} to {ratio['max']}"
            print(f"  {key}: median {ratio['median']} ({spread}): {ratio['meaning']}")


def main() -> int:
    """Parse the options, run the benchmarks, print the tables (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="export sizes, comma-separated (entries)")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds per size")
    parser.add_argument(
        "--only", choices=sorted(BENCHES), action="append", help="run only these (repeatable)"
    )
    parser.add_argument("--work", type=Path, help="keep generated exports and projects here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    options = parser.parse_args()
    sizes = [int(size.replace("_", "")) for size in options.sizes.split(",")]
    chosen = options.only or list(BENCHES)
    with tempfile.TemporaryDirectory(prefix="bench-algar-") as temporary:
        work = options.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        report: dict[str, object] = {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "load_at_start": os.getloadavg()[0],  # the machine is shared: the spread follows the load
        }
        for name in chosen:
            for size in sizes:
                result = BENCHES[name](work, size, options.rounds)
                report[f"{name}-{size}"] = result
                if not options.json:
                    _print(f"{name}, {size:,}", result)
        report["load_at_end"] = os.getloadavg()[0]
        results = Path(__file__).resolve().parent / "results"
        results.mkdir(exist_ok=True)
        (results / "algar.json").write_text(json.dumps(report, indent=2))
        if options.json:
            print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
