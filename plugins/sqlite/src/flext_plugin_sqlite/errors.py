"""What ends ``target-sqlite``: each failure is one line on stderr, a code and an exit code.

::

    TargetError            base: message, ``code`` (docs/plugins/sqlite.md), ``exit_code``
    ├── InputError         the Singer input is wrong (VALIDATION_ERROR, exit 2); knows its input line
    │   ├── SchemaError    a SCHEMA message that cannot become (or change) a table
    │   └── RecordError    a RECORD that SQLite cannot store as its schema says
    ├── ConfigError        the target's configuration is wrong (VALIDATION_ERROR, exit 2)
    ├── StorageError       the database file failed: disk, permissions, corruption (STORAGE_ERROR, exit 1)
    │   └── LockTimeout    another writer held the database too long (TIMEOUT, exit 1)
    └── Stopped            SIGTERM or SIGINT arrived (INTERRUPTED, exit 128 + signal)

Whatever the failure, nothing of the batch being written is committed, and
the last STATE the target printed is covered by committed rows.
"""

from __future__ import annotations

import signal

__all__ = [
    "ConfigError",
    "InputError",
    "LockTimeout",
    "RecordError",
    "SchemaError",
    "Stopped",
    "StorageError",
    "TargetError",
]


class TargetError(Exception):
    """A failure ``target-sqlite`` reports as ``error: <message> (<CODE>)`` and exits on."""

    code = "OPERATION_ERROR"
    """The stable error code printed in parentheses."""
    exit_code = 1
    """The process's exit status."""


class InputError(TargetError):
    """The Singer input is wrong; ``line`` is the input line it was found on, when known."""

    code = "VALIDATION_ERROR"
    exit_code = 2

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        """What is wrong, without the location."""
        self.line = line
        """The 1-based input line, or None until the reader fills it in."""

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


class SchemaError(InputError):
    """A SCHEMA message that cannot become a table, or cannot change the table that exists."""


class RecordError(InputError):
    """A RECORD holding a value SQLite cannot store as the stream's schema says."""


class ConfigError(TargetError):
    """The configuration (``--config``) is missing something or holds a wrong value."""

    code = "VALIDATION_ERROR"
    exit_code = 2


class StorageError(TargetError):
    """The database failed: the file cannot be opened or written, the disk is full, the file is corrupt."""

    code = "STORAGE_ERROR"


class LockTimeout(StorageError):
    """Another connection held the write lock for longer than the busy timeout."""

    code = "TIMEOUT"


class Stopped(TargetError):
    """A termination signal arrived; the batch being loaded was rolled back."""

    code = "INTERRUPTED"

    def __init__(self, signum: int) -> None:
        self.signum = signum
        """The signal's number."""
        self.exit_code = 128 + signum
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        super().__init__(
            f"stopped by {name}; records not yet committed were discarded, "
            "the last STATE printed is the one to resume from"
        )
