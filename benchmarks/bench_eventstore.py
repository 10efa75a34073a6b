"""FLEXT's event stores against the eventsourcing library, on the same SQLite settings and PostgreSQL server.

Usage::

    python benchmarks/bench_eventstore.py                # table on stdout, JSON in benchmarks/results/
    python benchmarks/bench_eventstore.py --write-docs   # also refresh the table in docs/performance.md
    python benchmarks/bench_eventstore.py --no-postgres  # SQLite rows only

Every row is measured in one run, both libraries on the same machine, the
two sides alternating repeat by repeat; each side's best repeat counts. The
speed-up is eventsourcing's time over FLEXT's (how many times faster FLEXT
is); the issue's target is at least 1.5x on every row and 3x on concurrent
writers. In ``_timing.Row`` terms ``ns`` is FLEXT's, ``baseline_ns``
eventsourcing's, and ``max_ratio`` is 1/target.

Pairings (each row's notes say which):

* appends: the event-store layer of both, with the events built beforehand:
  FLEXT's ``store.append(stream, events, expected_version)`` against
  eventsourcing's ``Application.events.put(events)`` (its mapper and
  application recorder: what ``Application.save`` calls). Both encode the
  events to JSON and write them in one transaction with a global position;
* replay and snapshot: the aggregate layer of both: ``AggregateRepository.load``
  of a ``FlextAggregateRoot`` against ``Application.repository.get`` of an
  eventsourcing ``Aggregate``, snapshot stores enabled on both sides.

Same storage settings: SQLite files in one temporary directory, WAL journal
and ``synchronous=NORMAL`` on both sides (FLEXT's default; eventsourcing sets
only WAL, so its connections get ``PRAGMA synchronous = NORMAL`` here, checked
before measuring). PostgreSQL: the server at ``$FLEXT_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/test``), each side in a fresh
schema dropped afterwards.

eventsourcing (with psycopg-pool for PostgreSQL) is installed only for the
benchmark (``benchmarks/requirements.txt``), never as a runtime dependency.
"""

import argparse
import contextlib
import itertools
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any, ClassVar

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import psycopg  # noqa: E402
from _timing import Row  # noqa: E402  (needs the path above)
from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory  # noqa: E402
from flext_plugin_eventstore_postgres import PostgresEventStore  # noqa: E402
from flext_plugin_eventstore_sqlite import SQLiteEventStore  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import conninfo_to_dict  # noqa: E402

from flext_kernel import AggregateRepository, FlextAggregateRoot, FlextDomainEvent, when  # noqa: E402

DOC = HERE.parent / "docs" / "performance.md"
BEGIN, END = "<!-- eventstore-benchmarks:begin -->", "<!-- eventstore-benchmarks:end -->"
POSTGRES_URL = os.environ.get("FLEXT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SPEEDUP = 1.5
"""The issue's target: FLEXT at least this many times as fast as eventsourcing on every row..."""
CONCURRENT_SPEEDUP = 3.0
"""...and this many times on concurrent writers."""
WRITERS = 4
ES_VERSION = installed_version("eventsourcing")


# The same aggregate in both libraries: an account opened once, then deposits.


class Opened(FlextDomainEvent):
    message_type: ClassVar[str | None] = "bench.Opened"
    owner: str


class Deposited(FlextDomainEvent):
    message_type: ClassVar[str | None] = "bench.Deposited"
    amount: int


class FlextAccount(FlextAggregateRoot):
    aggregate_type: ClassVar[str | None] = "bench.Account"
    owner: str = ""
    balance: int = 0

    @classmethod
    def open(cls, owner: str) -> "FlextAccount":
        account = cls(id=f"acc-{uuid.uuid4().hex}")
        account.raise_event(Opened, owner=owner)
        return account

    def deposit(self, amount: int) -> None:
        self.raise_event(Deposited, amount=amount)

    @when(Opened)
    def _opened(self, event: Opened) -> None:
        self.owner = event.owner

    @when(Deposited)
    def _deposited(self, event: Deposited) -> None:
        self.balance += event.amount


class EsAccount(Aggregate):
    @event("Opened")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = 0

    @event("Deposited")
    def deposit(self, amount: int) -> None:
        self.balance += amount


# eventsourcing's SQLite recorder with FLEXT's settings (WAL is its own default; synchronous is added).


class _NormalSyncPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous = NORMAL")
        return connection


class _SameSettingsSQLiteFactory(SQLiteFactory):
    def __init__(self, env):
        super().__init__(env)
        default = self.datastore.pool
        self.datastore.pool = _NormalSyncPool(db_name=default.db_name, lock_timeout=default.lock_timeout)
        default.close()


class EsBank(Application):
    is_snapshotting_enabled = True  # a snapshot store, as FLEXT's repository always has; no automatic ones

    def construct_factory(self, env):
        if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
            return _SameSettingsSQLiteFactory(env)
        return super().construct_factory(env)


# Backends: where each side's events go, created fresh and removed afterwards.


class SQLiteBackend:
    name = "sqlite"

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="flext-bench-"))
        self.flext = SQLiteEventStore(path=self.directory / "flext.db")
        self.es = EsBank(
            {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(self.directory / "es.db")}
        )
        with self.es.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA journal_mode")
            es_journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            es_synchronous = cursor.fetchone()[0]
        flext = (self.flext.pragma("journal_mode"), self.flext.pragma("synchronous"))
        if flext != (es_journal, es_synchronous) or flext != ("wal", 1):
            raise RuntimeError(
                f"SQLite settings differ: FLEXT {flext}, eventsourcing {es_journal, es_synchronous}"
            )

    def close(self) -> None:
        self.flext.close()
        self.es.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _es_postgres_env(url: str, schema: str, *, create_table: bool = True) -> dict[str, str]:
    params = conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname", "")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_SCHEMA": schema,
        "CREATE_TABLE": "y" if create_table else "n",
    }


class PostgresBackend:
    name = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        tag = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.flext_schema, self.es_schema = f"bench_flext_{tag}", f"bench_es_{tag}"
        with psycopg.connect(url, autocommit=True) as connection:
            # eventsourcing creates its tables, not its schema.
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.es_schema)))
        self.flext = PostgresEventStore(url=url, schema=self.flext_schema)
        self.es = EsBank(_es_postgres_env(url, self.es_schema))

    def close(self) -> None:
        self.flext.close()
        self.es.close()
        with psycopg.connect(self.url, autocommit=True) as connection:
            for schema in (self.flext_schema, self.es_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


Backend = SQLiteBackend | PostgresBackend


# Building events outside the timed part.


def _flext_events(count: int) -> tuple[str, list[FlextDomainEvent]]:
    """A new stream's events: Opened, then deposits; versions 1..count."""
    account = FlextAccount.open("ada")
    for _ in range(count - 1):
        account.deposit(1)
    events = list(account.uncommitted_events)
    account.mark_committed()
    return account.id, events


def _es_events(count: int) -> list[Any]:
    account = EsAccount(owner="ada")
    for _ in range(count - 1):
        account.deposit(1)
    return list(account.collect_events())


def _best(pairs: int, flext: Callable[[], float], es: Callable[[], float]) -> tuple[float, float]:
    """Run the two sides alternately ``pairs`` times; return each side's best (lowest) time."""
    flext_times: list[float] = []
    es_times: list[float] = []
    for _ in range(pairs):
        flext_times.append(flext())
        es_times.append(es())
    return min(flext_times), min(es_times)


@dataclass
class Measured:
    """One row of the event-store table: what it measures, per what, and the pairing."""

    backend: str
    name: str
    unit: str  # "event" (shown as events/s) or "load" (shown as time per load)
    flext_ns: float
    es_ns: float
    target: float
    notes: list[str]

    def row(self) -> Row:
        return Row(
            f"eventstore {self.backend}",
            self.name,
            self.flext_ns,
            f"eventsourcing {ES_VERSION}",
            self.es_ns,
            1 / self.target,
            [f"unit: one {self.unit}", *self.notes],
        )


# The rows. Each takes a backend and returns one Measured.


STORE_LAYER = (
    "event-store layer: FLEXT store.append vs eventsourcing Application.events.put (mapper + recorder)"
)


def append_one_per_transaction(backend: Backend, *, events: int, pairs: int) -> Measured:
    def flext() -> float:
        stream, batch = _flext_events(events)
        append = backend.flext.append
        started = time.perf_counter()
        for version, one in enumerate(batch):
            append(stream, [one], version).unwrap()
        return time.perf_counter() - started

    def es() -> float:
        batch = _es_events(events)
        put = backend.es.events.put
        started = time.perf_counter()
        for one in batch:
            put([one])
        return time.perf_counter() - started

    flext_s, es_s = _best(pairs, flext, es)
    notes = [f"{events} events to one new stream, one per transaction", STORE_LAYER]
    return Measured(
        backend.name,
        "append, 1 event per transaction",
        "event",
        flext_s / events * 1e9,
        es_s / events * 1e9,
        SPEEDUP,
        notes,
    )


def append_100_per_transaction(backend: Backend, *, batches: int, pairs: int) -> Measured:
    size = 100
    total = size * batches

    def flext() -> float:
        stream, all_events = _flext_events(total)
        append = backend.flext.append
        started = time.perf_counter()
        for start in range(0, total, size):
            append(stream, all_events[start : start + size], start).unwrap()
        return time.perf_counter() - started

    def es() -> float:
        all_events = _es_events(total)
        put = backend.es.events.put
        started = time.perf_counter()
        for start in range(0, total, size):
            put(all_events[start : start + size])
        return time.perf_counter() - started

    flext_s, es_s = _best(pairs, flext, es)
    notes = [f"{batches} transactions of {size} events to one new stream", STORE_LAYER]
    return Measured(
        backend.name,
        "append, 100 events per transaction",
        "event",
        flext_s / total * 1e9,
        es_s / total * 1e9,
        SPEEDUP,
        notes,
    )


AGGREGATE_LAYER = (
    "aggregate layer: FLEXT AggregateRepository.load vs eventsourcing Application.repository.get"
)


def _save_flext(repository: AggregateRepository, account: FlextAccount, deposits: int) -> None:
    for start in range(0, deposits, 1000):
        for _ in range(min(1000, deposits - start)):
            account.deposit(1)
        repository.save(account).unwrap()


def _save_es(app: Application, account: EsAccount, deposits: int) -> None:
    for start in range(0, deposits, 1000):
        for _ in range(min(1000, deposits - start)):
            account.deposit(1)
        app.save(account)


def _timed(fn: Callable[[], Any], check: Callable[[Any], bool]) -> float:
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    if not check(result):
        raise AssertionError(f"wrong aggregate loaded: {result!r}")
    return elapsed


def replay(backend: Backend, *, events: int, pairs: int) -> Measured:
    repository = AggregateRepository(backend.flext, snapshot_every=None)
    flext_account = FlextAccount.open("ada")
    _save_flext(repository, flext_account, events - 1)
    es_account = EsAccount(owner="ada")
    _save_es(backend.es, es_account, events - 1)
    balance = events - 1

    def flext() -> float:
        load = lambda: repository.load(FlextAccount, flext_account.id).unwrap()  # noqa: E731
        return _timed(load, lambda loaded: loaded.balance == balance and loaded.version == events)

    def es() -> float:
        load = lambda: backend.es.repository.get(es_account.id)  # noqa: E731
        return _timed(load, lambda loaded: loaded.balance == balance and loaded.version == events)

    flext_s, es_s = _best(pairs, flext, es)
    notes = [f"read and rebuild one {events}-event aggregate, no snapshot", AGGREGATE_LAYER]
    return Measured(
        backend.name,
        f"replay a {events:,}-event aggregate",
        "load",
        flext_s * 1e9,
        es_s * 1e9,
        SPEEDUP,
        notes,
    )


def load_from_snapshot(backend: Backend, *, before: int, after: int, pairs: int) -> Measured:
    repository = AggregateRepository(backend.flext, snapshot_every=None)
    flext_account = FlextAccount.open("ada")
    _save_flext(repository, flext_account, before - 1)
    repository.save_snapshot(flext_account).unwrap()
    _save_flext(repository, flext_account, after)
    es_account = EsAccount(owner="ada")
    _save_es(backend.es, es_account, before - 1)
    backend.es.take_snapshot(es_account.id)
    _save_es(backend.es, es_account, after)
    total = before + after

    def flext() -> float:
        load = lambda: repository.load(FlextAccount, flext_account.id).unwrap()  # noqa: E731
        return _timed(load, lambda loaded: loaded.version == total and loaded.balance == total - 1)

    def es() -> float:
        load = lambda: backend.es.repository.get(es_account.id)  # noqa: E731
        return _timed(load, lambda loaded: loaded.version == total and loaded.balance == total - 1)

    # One load is short: time many, keep the best.
    flext_s, es_s = _best(pairs, flext, es)
    notes = [f"snapshot at version {before}, then {after} events", AGGREGATE_LAYER]
    return Measured(
        backend.name,
        f"load from a snapshot + {after} events",
        "load",
        flext_s * 1e9,
        es_s * 1e9,
        SPEEDUP,
        notes,
    )


# Concurrent writers: processes, so that neither side shares one interpreter's lock.


def _writer(side: str, url: str, schema: str, events: int, rounds: int, barrier: Any, done: Any) -> None:
    """One writer process: per round, wait for the start, append ``events`` one per transaction."""
    if side == "flext":
        store = PostgresEventStore(url=url, schema=schema)
        warm_stream, warm_events = _flext_events(1)
        store.append(warm_stream, warm_events, 0).unwrap()  # connected, tables checked

        def write() -> None:
            stream, batch = _flext_events(events)
            for version, one in enumerate(batch):
                store.append(stream, [one], version).unwrap()

        close: Callable[[], None] = store.close
    else:
        app = EsBank(_es_postgres_env(url, schema, create_table=False))
        app.events.put(_es_events(1))

        def write() -> None:
            for one in _es_events(events):
                app.events.put([one])

        close = app.close
    try:
        for _ in range(rounds):
            barrier.wait()
            write()
            done.put(os.getpid())
    finally:
        close()


def concurrent_writers(backend: PostgresBackend, *, events: int, pairs: int) -> Measured:
    context = multiprocessing.get_context("spawn")
    sides = {"flext": backend.flext_schema, "es": backend.es_schema}
    backend.flext.read_all(limit=1).unwrap()  # the tables exist before the writers start
    barriers = {side: context.Barrier(WRITERS + 1) for side in sides}
    done = {side: context.Queue() for side in sides}
    workers = [
        context.Process(
            target=_writer, args=(side, backend.url, schema, events, pairs, barriers[side], done[side])
        )
        for side, schema in sides.items()
        for _ in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    times: dict[str, list[float]] = {side: [] for side in sides}
    try:
        for _, side in itertools.product(range(pairs), sides):
            barriers[side].wait(timeout=120)
            started = time.perf_counter()
            for _ in range(WRITERS):
                done[side].get(timeout=600)
            times[side].append(time.perf_counter() - started)
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.terminate()
    total = WRITERS * events
    notes = [
        f"{WRITERS} processes, each {events} events one per transaction to its own new stream; "
        "total events/s",
        STORE_LAYER,
    ]
    return Measured(
        backend.name,
        f"{WRITERS} concurrent writers",
        "event",
        min(times["flext"]) / total * 1e9,
        min(times["es"]) / total * 1e9,
        CONCURRENT_SPEEDUP,
        notes,
    )


# What runs, in table order: each row is a function (backend) -> Measured. append_rows and load_rows
# run on both backends, postgres_rows on PostgreSQL only (between the two). A projection catch-up row
# (ProjectionRunner.catch_up against an eventsourcing projection) is one more function in load_rows.


def _scale(quick: bool) -> tuple[int, int]:
    """(divisor of the event counts, repeats per side)."""
    return (5, 3) if quick else (1, 5)


def append_rows(quick: bool) -> list[Callable[[Any], Measured]]:
    scale, pairs = _scale(quick)
    return [
        lambda b: append_one_per_transaction(b, events=2000 // scale, pairs=pairs),
        lambda b: append_100_per_transaction(b, batches=50 // scale, pairs=pairs),
    ]


def postgres_rows(quick: bool) -> list[Callable[[Any], Measured]]:
    scale, pairs = _scale(quick)
    return [lambda b: concurrent_writers(b, events=2000 // scale // WRITERS, pairs=max(2, pairs - 2))]


def load_rows(quick: bool) -> list[Callable[[Any], Measured]]:
    _, pairs = _scale(quick)
    return [
        lambda b: replay(b, events=10_000, pairs=pairs),
        lambda b: load_from_snapshot(b, before=1000, after=5, pairs=pairs * 10),
    ]


@contextlib.contextmanager
def _opened(factory: Callable[[], Backend]) -> Iterator[Backend]:
    backend = factory()
    try:
        yield backend
    finally:
        backend.close()


def measure(*, postgres_url: str | None = POSTGRES_URL, quick: bool = False) -> list[Measured]:
    """Measure every row on SQLite, then on PostgreSQL unless ``postgres_url`` is None."""
    measured: list[Measured] = []
    with _opened(SQLiteBackend) as backend:
        measured += [row(backend) for row in [*append_rows(quick), *load_rows(quick)]]
    if postgres_url is not None:
        with _opened(lambda: PostgresBackend(postgres_url)) as backend:
            rows = [*append_rows(quick), *postgres_rows(quick), *load_rows(quick)]
            measured += [row(backend) for row in rows]
    return measured


def run() -> list[Row]:
    """Every row as a ``_timing.Row`` (``ns``: FLEXT, baseline: eventsourcing, ``max_ratio``: 1/target)."""
    return [measured.row() for measured in measure()]


# Output.


def _rate(ns: float, unit: str) -> str:
    if unit == "event":
        return f"{1e9 / ns:,.0f} events/s"
    if ns >= 1e6:
        return f"{ns / 1e6:,.1f} ms"
    return f"{ns / 1e3:,.0f} µs"


def _markdown(measured: list[Measured]) -> str:
    lines = [
        "| backend | operation | FLEXT | eventsourcing | FLEXT speed-up | target | met | notes |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for m in measured:
        row = m.row()
        met = "yes" if row.met else "**no**"
        lines.append(
            f"| {m.backend} | {m.name} | {_rate(m.flext_ns, m.unit)} | {_rate(m.es_ns, m.unit)} "
            f"| {m.es_ns / m.flext_ns:.2f}x | >= {m.target:g}x | {met} | {'; '.join(m.notes)} |"
        )
    return "\n".join(lines)


_SECTION = f"""
## Event store

FLEXT's event stores (`eventstore-sqlite`, `eventstore-postgres`) against the
[eventsourcing](https://pypi.org/project/eventsourcing/) library, measured in
one run by `benchmarks/bench_eventstore.py`. Appends compare the event-store
layers (FLEXT's `store.append` against eventsourcing's `Application.events.put`,
its mapper and application recorder), events built beforehand; replay and
snapshot loads compare the aggregate layers (`AggregateRepository.load` of a
`FlextAggregateRoot` against `Application.repository.get`). Both SQLite files
use the WAL journal and `synchronous=NORMAL` (FLEXT's default; eventsourcing's
connections are given the same pragma); on PostgreSQL each side gets a fresh
schema on the same server, dropped afterwards. The speed-up is eventsourcing's
time over FLEXT's; the target is at least 1.5x on every row and 3x for
concurrent writers. Reproduce with `python benchmarks/bench_eventstore.py
--write-docs` (eventsourcing comes from `benchmarks/requirements.txt`; the
PostgreSQL server is `$FLEXT_TEST_POSTGRES_URL`); the run also writes
`benchmarks/results/eventstore.json`.

{BEGIN}
{END}
"""


def _write_docs(table: str, when: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text:
        text = text.rstrip("\n") + "\n" + _SECTION
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    block = f"{BEGIN}\n_Measured {when} on {platform.python_implementation()} {platform.python_version()}, "
    block += f"{platform.machine()}, {os.cpu_count()} CPUs, eventsourcing {ES_VERSION}._\n\n{table}\n{END}"
    DOC.write_text(head + block + tail, encoding="utf-8")


def main() -> int:
    """Run the rows, print the table, write the JSON (and the docs table if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help="refresh the table in docs/performance.md")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="the PostgreSQL server (a database URL)")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--quick", action="store_true", help="fewer events and repeats (a smoke test)")
    args = parser.parse_args()
    started = time.perf_counter()
    measured = measure(postgres_url=None if args.no_postgres else args.postgres_url, quick=args.quick)
    table = _markdown(measured)
    print(table)
    when = time.strftime("%Y-%m-%d")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    rows = [m.row() for m in measured]
    payload = {
        "date": when,
        "python": platform.python_version(),
        "eventsourcing": ES_VERSION,
        "rows": [
            asdict(row) | {"ratio": row.ratio, "met": row.met, "speedup": row.baseline_ns / row.ns}
            for row in rows
        ],
    }
    (out / "eventstore.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if args.write_docs:
        _write_docs(table, when)
    print(f"\n{len(rows)} rows in {time.perf_counter() - started:.1f}s; JSON in {out / 'eventstore.json'}")
    missed = [f"{row.group} {row.name}" for row in rows if row.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
