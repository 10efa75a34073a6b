"""The audit chain: one SQLite file where each record hashes the one before it.

Why a chain: a record's ``hash`` is ``sha256(previous hash + canonical JSON of
the record)`` and the record's id is part of what is hashed, so editing a
field, deleting a record or moving one changes a hash that a later record (or
the chain head) still holds; ``verify`` recomputes them and names the record.
The ``head`` row keeps the last id and hash, so deleting the newest record is
seen too. Someone who can rewrite the whole file and recompute every hash can
forge it: the copies in the event store (``copy.py``) are the second witness.

Appending is one ``BEGIN IMMEDIATE`` transaction (read the head, insert, move
the head), so concurrent ``flext`` processes queue for the write lock and
never fork the chain. The file is created 0600, in WAL mode.

Stdlib only: ``append`` runs after every ``flext`` command.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from flext_kernel.paths import data_dir

if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:  # CPython's built-in SHA-256 imports in microseconds; hashlib loads OpenSSL (~3 ms per run)
        from _sha256 import sha256
    except ImportError:  # other interpreters; Python 3.12+ names it _sha2
        from hashlib import sha256

__all__ = [
    "GENESIS",
    "Record",
    "connected",
    "database",
    "digest",
    "mark_copied",
    "records",
    "uncopied",
    "verify",
]

GENESIS: Final = "0" * 64
"""The previous hash of the first record."""

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY,
        user TEXT NOT NULL,
        profile TEXT NOT NULL,
        command TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT NOT NULL,
        exit_code INTEGER NOT NULL,
        correlation_id TEXT,
        previous_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS head (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        id INTEGER NOT NULL,
        hash TEXT NOT NULL,
        copied INTEGER NOT NULL DEFAULT 0
    )""",
)
_COLUMNS: Final = "id, user, profile, command, started, ended, exit_code, correlation_id, previous_hash, hash"


@dataclass(frozen=True, slots=True)
class Record:
    """One ``flext`` run as the chain keeps it."""

    id: int
    """Its place in the chain, from 1 (hashed: moving a record changes its hash)."""
    user: str
    """The OS user who ran it."""
    profile: str
    """``FLEXT_PROFILE``, else ``default``."""
    command: str
    """The words after ``flext``, secrets redacted."""
    started: str
    """ISO 8601 UTC, microseconds."""
    ended: str
    exit_code: int
    """0 is success; the documented codes otherwise (2 bad usage, 1 failed operation, ...)."""
    correlation_id: str | None
    """The run's correlation id (its events and logs carry the same)."""
    previous_hash: str
    hash: str

    def content(self) -> dict[str, object]:
        """What is hashed: every field but the two hashes."""
        fields = asdict(self)
        del fields["previous_hash"], fields["hash"]
        return fields


def digest(previous_hash: str, content: dict[str, object]) -> str:
    """``sha256(previous_hash + canonical JSON of content)`` as hex (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256((previous_hash + canonical).encode()).hexdigest()


def database() -> Path:
    """``$FLEXT_AUDIT_PATH``, else ``<data dir>/audit.db`` (one chain for every profile of this home)."""
    override = os.environ.get("FLEXT_AUDIT_PATH")
    return Path(override) if override else data_dir() / "audit.db"


@contextlib.contextmanager
def connected(*, create: bool) -> Iterator[sqlite3.Connection | None]:
    """An autocommit connection (callers open their own transactions); None: no file and not ``create``.

    Raises:
        sqlite3.Error: the file is not SQLite, or is locked past the timeout.
        OSError: the directory or file cannot be made.

    """
    path = database()
    fresh = not path.exists()
    if fresh:
        if not create:
            yield None
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        if fresh:
            connection.execute("PRAGMA journal_mode=WAL")  # persistent: set once, by whoever made the file
        if create:
            connection.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:  # no-ops (no write) once the tables exist
                connection.execute(statement)
        yield connection
    finally:
        connection.close()


def append(
    connection: sqlite3.Connection,
    *,
    user: str,
    profile: str,
    command: str,
    started: str,
    ended: str,
    exit_code: int,
    correlation_id: str | None,
) -> Record:
    """Link one record to the head and move the head, in one write transaction.

    Raises:
        sqlite3.Error: the write failed (nothing was written).

    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        head = connection.execute("SELECT id, hash FROM head WHERE one = 1").fetchone()
        last_id, previous = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        content: dict[str, object] = {
            "id": last_id + 1,
            "user": user,
            "profile": profile,
            "command": command,
            "started": started,
            "ended": ended,
            "exit_code": exit_code,
            "correlation_id": correlation_id,
        }
        record = Record(**content, previous_hash=previous, hash=digest(previous, content))  # type: ignore[arg-type]
        connection.execute(
            f"INSERT INTO records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tuple(asdict(record).values()),
        )
        connection.execute(
            "INSERT INTO head (one, id, hash) VALUES (1, ?, ?)"
            " ON CONFLICT (one) DO UPDATE SET id = excluded.id, hash = excluded.hash",
            (record.id, record.hash),
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return record


def _row(row: tuple[object, ...]) -> Record:
    return Record(*row)  # type: ignore[arg-type]


def records(connection: sqlite3.Connection, *, after: int = 0) -> Iterator[Record]:
    """The records with an id above ``after``, by id."""
    cursor = connection.execute(f"SELECT {_COLUMNS} FROM records WHERE id > ? ORDER BY id", (after,))
    for row in cursor:
        yield _row(row)


def uncopied(connection: sqlite3.Connection) -> tuple[int, list[Record]]:
    """The id the event store copy has reached, and the records after it."""
    head = connection.execute("SELECT copied FROM head WHERE one = 1").fetchone()
    copied = int(head[0]) if head else 0
    return copied, list(records(connection, after=copied))


def mark_copied(connection: sqlite3.Connection, through: int) -> None:
    """Remember that the event store holds every record up to ``through`` (never moves back)."""
    connection.execute("UPDATE head SET copied = max(copied, ?) WHERE one = 1", (through,))


def verify(connection: sqlite3.Connection) -> tuple[int, list[tuple[int, str]]]:
    """Recompute the chain: how many records were checked, and each problem as (record id, what)."""
    problems: list[tuple[int, str]] = []
    previous_hash, expected_id, checked = GENESIS, 1, 0
    for record in records(connection):
        checked += 1
        gap = record.id != expected_id
        if gap:
            span = f"{expected_id}" if record.id == expected_id + 1 else f"{expected_id}-{record.id - 1}"
            problems.append((expected_id, f"record {span} is missing (deleted) before record {record.id}"))
        if record.previous_hash != previous_hash and not gap:
            problems.append(
                (
                    record.id,
                    f"record {record.id} does not follow record {record.id - 1}: "
                    f"record {record.id - 1} was edited, or records were reordered or replaced",
                )
            )
        if digest(record.previous_hash, record.content()) != record.hash:
            edited = f"record {record.id} was edited: its content does not match its hash"
            problems.append((record.id, edited))
        previous_hash, expected_id = record.hash, record.id + 1
    head = connection.execute("SELECT id, hash FROM head WHERE one = 1").fetchone()
    last_id = expected_id - 1
    if head is not None:
        head_id, head_hash = int(head[0]), str(head[1])
        if head_id > last_id:
            span = f"{last_id + 1}" if head_id == last_id + 1 else f"{last_id + 1}-{head_id}"
            problems.append((last_id + 1, f"record {span} is missing (deleted at the end of the chain)"))
        elif head_id < last_id:
            added = f"record {head_id + 1} was added outside the chain (after its head)"
            problems.append((head_id + 1, added))
        elif head_hash != previous_hash:
            replaced = f"record {last_id} does not match the chain head: it was edited or replaced"
            problems.append((last_id, replaced))
    elif checked:
        problems.append((1, "the chain head is missing: records were added outside the chain"))
    return checked, problems
