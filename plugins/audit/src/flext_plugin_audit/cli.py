"""The audit plugin's commands: thin, each parses, reads the chain and maps the result to an exit code.

None of them boots the kernel but ``sync``: the chain is a local SQLite file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Literal

from cyclopts import Parameter

from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR
from flext_plugin_audit import chain
from flext_plugin_audit.errors import AUDIT_CHAIN_BROKEN
from flext_sdk.cli import EXIT_OK, emit, emit_error, emit_table, note

__all__ = ["export", "log", "parse_since", "sync", "verify"]

LOG_COLUMNS = ("id", "started", "user", "profile", "exit_code", "duration", "command")
_DURATION = re.compile(r"^(?P<count>\d+)(?P<unit>[smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> str | None:
    """``--since`` as an ISO 8601 UTC time: a duration before now (30m, 2h, 7d) or a time; None if neither."""
    found = _DURATION.match(text.strip())
    if found:
        moment = time.time() - int(found["count"]) * _SECONDS[found["unit"]]
        return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # a time without offset is local time
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _storage_error(error: Exception) -> int:
    return emit_error(f"cannot read the audit chain {chain.database()}: {error}", STORAGE_ERROR)


def _duration(record: chain.Record) -> float:
    started, ended = datetime.fromisoformat(record.started), datetime.fromisoformat(record.ended)
    return round((ended - started).total_seconds(), 3)


def log(
    *,
    user: str | None = None,
    since: str | None = None,
    command: str | None = None,
    limit: int = 50,
) -> int:
    """The runs recorded here, newest last: who ran what, in which profile, when, and its exit code.

    Args:
        user: Only runs of this OS user.
        since: Only runs started from then on: a duration before now (30m, 2h, 7d, 1w) or an ISO 8601 time.
        command: Only command lines containing this text (any case).
        limit: At most this many records (the newest).

    """
    if limit < 1:
        return emit_error(f"--limit must be at least 1, not {limit}", VALIDATION_ERROR)
    clauses, values = ["1=1"], []
    if since is not None:
        start = parse_since(since)
        if start is None:
            why = f"--since {since!r} is neither a duration (30m, 2h, 7d) nor an ISO 8601 time"
            return emit_error(why, VALIDATION_ERROR)
        clauses.append("started >= ?")
        values.append(start)
    if user is not None:
        clauses.append("user = ?")
        values.append(user)
    if command is not None:
        clauses.append("instr(lower(command), lower(?)) > 0")
        values.append(command)
    sql = (
        "SELECT id, user, profile, command, started, ended, exit_code, correlation_id, previous_hash, hash"
        f" FROM records WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT {int(limit)}"  # fixed clauses
    )
    try:
        with chain.connected(create=False) as connection:
            rows = [] if connection is None else connection.execute(sql, values).fetchall()
    except (sqlite3.Error, OSError) as error:
        return _storage_error(error)
    found = [chain.Record(*row) for row in reversed(rows)]
    if not found:
        filtered = user is not None or since is not None or command is not None
        return emit([], human="no matching audit records" if filtered else "no audit records yet")
    shown = [
        {
            "id": record.id,
            "started": record.started,
            "ended": record.ended,
            "duration": _duration(record),
            "user": record.user,
            "profile": record.profile,
            "command": record.command,
            "exit_code": record.exit_code,
            "correlation_id": record.correlation_id,
        }
        for record in found
    ]
    return emit_table(shown, LOG_COLUMNS)


def _write(connection: sqlite3.Connection | None, handle: IO[str]) -> int:
    written = 0
    if connection is not None:
        for record in chain.records(connection):
            handle.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
            written += 1
    return written


def export(
    *,
    fmt: Annotated[Literal["jsonl"], Parameter(name="--format")] = "jsonl",
    to: Annotated[Path | None, Parameter(name=["--to", "-o"])] = None,
) -> int:
    """Write every record, oldest first, with its previous hash and hash, one JSON object a line.

    Args:
        fmt: jsonl (one JSON object a line), the only format.
        to: The file to write (whole or not at all, mode 0600); default standard output.

    """
    del fmt  # one format; the option documents it and refuses others
    if to is not None and not to.parent.is_dir():
        return emit_error(f"the directory of {to} does not exist", NOT_FOUND)
    try:
        with chain.connected(create=False) as connection:
            if to is None:
                written = _write(connection, sys.stdout)
                note(f"exported {written} audit records")
                return EXIT_OK
            temporary = to.with_name(f".{to.name}.{os.getpid()}.tmp")
            try:
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    written = _write(connection, handle)
                os.replace(temporary, to)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temporary.unlink()
    except sqlite3.Error as error:
        return _storage_error(error)
    except OSError as error:
        return emit_error(f"cannot write {to}: {error.strerror or error}", STORAGE_ERROR)
    return emit({"exported": written, "file": str(to)}, human=f"exported {written} audit records to {to}")


def verify() -> int:
    """Recompute the hash chain; a record edited, deleted or moved is named and the exit code is 1.

    Exit codes: 0 the chain is intact (or empty), 1 ``AUDIT_CHAIN_BROKEN`` (the message names
    each record), 1 ``STORAGE_ERROR`` (the file cannot be read).
    """
    try:
        with chain.connected(create=False) as connection:
            checked, problems = (0, []) if connection is None else chain.verify(connection)
    except (sqlite3.Error, OSError) as error:
        return _storage_error(error)
    if problems:
        listed = "; ".join(what for _, what in problems)
        return emit_error(
            f"the audit chain {chain.database()} is broken ({checked} records checked): {listed}",
            AUDIT_CHAIN_BROKEN,
            exit_code=1,
        )
    return emit(
        {"intact": True, "records": checked, "file": str(chain.database())},
        human=f"the audit chain is intact: {checked} records verified",
    )


def sync() -> int:
    """Copy the records not yet in the event store (stream ``audit``: an ``audit.CommandRan`` each), once.

    Exit codes: 0 copied (or nothing pending), 2 ``NOT_FOUND`` when there is no event store yet
    (the audit never creates one) or no chain; the records then stay pending.
    """
    from flext_plugin_audit.plugin import copy_pending
    from flext_sdk.cli import boot_kernel, fail

    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        pending = copy_pending(kernel)
    if pending is None:
        return emit_error(
            "nothing to copy to: no event store yet (the audit never creates one), or no audit chain",
            NOT_FOUND,
            hint="run a command that records events first (flext pipeline run ...), then flext audit sync",
        )
    human = f"copied {pending} audit records to the event store (stream audit)"
    return emit({"copied": pending}, human=human)
