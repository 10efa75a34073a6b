"""How fast target-sqlite loads N records, next to what the same machine does without it.

    python plugins/sqlite/benchmarks/bench_target.py [--records 100000] [--repeat 3]

Writes N RECORD messages of 10 properties (two of them nested: an array and an
object) for one keyed stream, with a STATE every 10,000 records, to a file, then
times, interleaved and best of ``--repeat``:

- ``cat messages.jsonl > /dev/null``: reading the file, the floor of any consumer;
- plain Python: read each line, ``json.loads``, build the row (nested values as
  JSON text) and ``executemany`` upserts into the same STRICT table with the
  same settings (WAL, synchronous=NORMAL, a 64 MiB cache, a checkpoint every
  16,384 pages, one transaction per 10,000 rows, an fsync of the WAL before
  each STATE as the target does); its
  database part alone is reported too;
- ``target-sqlite --config c.json < messages.jsonl``, a real subprocess; its
  start-up (importing the Singer SDK) is measured with an empty input and
  reported apart.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["null", "string"]},
        "email": {"type": ["null", "string"]},
        "age": {"type": ["null", "integer"]},
        "score": {"type": ["null", "number"]},
        "active": {"type": ["null", "boolean"]},
        "created_at": {"type": ["null", "string"], "format": "date-time"},
        "city": {"type": ["null", "string"]},
        "tags": {"type": ["null", "array"], "items": {"type": "string"}},
        "manager": {"type": ["null", "object"], "properties": {"id": {"type": "integer"}}},
    },
}

PLAIN = r"""
import json, os, sqlite3, sys, time
source, database = sys.argv[1], sys.argv[2]
connection = sqlite3.connect(database, isolation_level=None)
connection.execute("PRAGMA journal_mode = WAL")
connection.execute("PRAGMA synchronous = NORMAL")
connection.execute("PRAGMA cache_size = -65536")
connection.execute("PRAGMA wal_autocheckpoint = 16384")
columns = ["id", "name", "email", "age", "score", "active", "created_at", "city", "tags", "manager"]
connection.execute(
    'CREATE TABLE people ("id" INT NOT NULL, "name" TEXT, "email" TEXT, "age" INTEGER, "score" REAL, '
    '"active" INTEGER, "created_at" TEXT, "city" TEXT, "tags" TEXT, "manager" TEXT, '
    'PRIMARY KEY ("id")) STRICT'
)
names = ", ".join(f'"{c}"' for c in columns)
updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns[1:])
marks = ", ".join("?" * len(columns))
sql = f"INSERT INTO people ({names}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {updates}"
dumps = json.dumps
database_seconds = 0.0
batch = []

def flush():
    global database_seconds, batch
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(sql, batch)
    connection.execute("COMMIT")
    wal = os.open(database + "-wal", os.O_RDONLY)  # a STATE follows every batch: the target syncs it
    os.fsync(wal)
    os.close(wal)
    database_seconds += time.perf_counter() - started
    batch = []

with open(source, encoding="utf-8") as lines:
    for line in lines:
        message = json.loads(line)
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        row = [record.get(c) for c in columns]
        row[8], row[9] = dumps(row[8]), dumps(row[9])
        batch.append(row)
        if len(batch) == 10_000:
            flush()
if batch:
    flush()
print(database_seconds)
"""


def write_messages(path: Path, records: int) -> None:
    """N records of one keyed stream, with a STATE every 10,000."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            json.dumps({"type": "SCHEMA", "stream": "people", "schema": SCHEMA, "key_properties": ["id"]})
        )
        out.write("\n")
        for i in range(records):
            record = {
                "id": i,
                "name": f"Person {i}",
                "email": f"p{i}@example.com",
                "age": rng.randint(18, 90),
                "score": rng.random() * 100,
                "active": i % 3 == 0,
                "created_at": "2024-05-01T12:34:56Z",
                "city": rng.choice(["Lisbon", "Porto", "Faro"]),
                "tags": ["a", "b"] if i % 2 else [],
                "manager": {"id": i // 10, "name": f"M {i // 10}"},
            }
            out.write(json.dumps({"type": "RECORD", "stream": "people", "record": record}) + "\n")
            if (i + 1) % 10_000 == 0:
                out.write(json.dumps({"type": "STATE", "value": {"people": i}}) + "\n")


def timed(command: list[str], *, stdin: Path | None = None, shell: bool = False) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stdout of one subprocess run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with stdin.open("rb") if stdin else open("/dev/null", "rb") as source:
        done = subprocess.run(
            command if not shell else " ".join(command),
            stdin=source,
            capture_output=True,
            shell=shell,
            check=True,
        )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stdout.decode()


def main() -> None:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    target = Path(sys.executable).with_name("target-sqlite")
    work = Path(tempfile.mkdtemp(prefix="bench-target-sqlite-"))
    try:
        messages = work / "messages.jsonl"
        write_messages(messages, options.records)
        empty = work / "empty.jsonl"
        empty.write_text("")
        best: dict[str, tuple[float, float]] = {}

        def keep(name: str, wall: float, cpu: float) -> None:
            old = best.get(name)
            best[name] = (min(wall, old[0]), min(cpu, old[1])) if old else (wall, cpu)

        for round_ in range(options.repeat):
            wall, cpu, _ = timed(["cat", str(messages), ">", "/dev/null"], shell=True)
            keep("cat messages.jsonl > /dev/null", wall, cpu)
            database = work / f"plain-{round_}.db"
            wall, cpu, out = timed([sys.executable, "-c", PLAIN, str(messages), str(database)])
            keep("plain Python: json.loads + rows + executemany", wall, cpu)
            keep("plain Python: executemany alone", float(out), float(out))
            config = work / f"config-{round_}.json"
            config.write_text(json.dumps({"database": str(work / f"target-{round_}.db")}))
            wall, cpu, _ = timed([str(target), "--config", str(config)], stdin=messages)
            keep("target-sqlite", wall, cpu)
            wall, cpu, _ = timed([str(target), "--config", str(config)], stdin=empty)
            keep("target-sqlite start-up (empty input)", wall, cpu)
        n = options.records
        startup = best["target-sqlite start-up (empty input)"][0]
        print(f"{n:,} records, {messages.stat().st_size / 1e6:.1f} MB, best of {options.repeat}\n")
        print("| run | wall s | CPU s | records/s (wall) |")
        print("|---|---:|---:|---:|")
        for name, (wall, cpu) in best.items():
            rate = "" if "start-up" in name else f"{n / wall:,.0f}"
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {rate} |")
        steady = best["target-sqlite"][0] - startup
        print(f"\ntarget-sqlite without its start-up: {n / steady:,.0f} records/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
