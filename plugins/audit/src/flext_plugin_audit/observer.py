"""The run observer: the kernel calls ``record`` after every ``flext`` run (docs/cli.md, "Run hooks").

It appends one record to the chain and returns. It must cost milliseconds,
so it imports the stdlib, the shared redactor and the already loaded
correlation module: no kernel boot, no pydantic. It never raises (the kernel
ignores what an observer raises anyway): an audit file that cannot be
written costs the record, and says so on stderr, never the command's outcome.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from datetime import UTC, datetime

from flext_kernel.correlation import current_correlation_id
from flext_plugin_audit import chain
from flext_plugin_audit.redact import command_line

__all__ = ["current_user", "record"]


def current_user() -> str:
    """The OS user of this process (from its uid, not from ``$USER``, which anyone can set)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "unknown")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def record(argv: list[str], exit_code: int, duration: float) -> int | None:
    """Append this run to the audit chain; the record's id, or None when it could not be written."""
    ended = time.time()
    try:
        with chain.connected(create=True) as connection:
            assert connection is not None  # create=True always connects
            written = chain.append(
                connection,
                user=current_user(),
                profile=os.environ.get("FLEXT_PROFILE") or "default",
                command=command_line(list(argv)),
                started=_iso(ended - max(0.0, float(duration))),
                ended=_iso(ended),
                exit_code=int(exit_code),
                correlation_id=current_correlation_id(),
            )
    except (sqlite3.Error, OSError) as error:
        print(f"warning: the audit record was not written to {chain.database()}: {error}", file=sys.stderr)
        return None
    return written.id
