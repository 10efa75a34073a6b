"""What a plugin's CLI command uses to look and behave like every other ``flext`` command.

- ``boot_kernel()``: the kernel with this run's enabled plugins (what
  ``flext plugin disable``, ``FLEXT_PLUGINS`` and ``--plugins-dir`` say applies).
  The event store a ``--store`` option names comes from event sourcing's own
  ``flext_eventsourcing.opened_store``.
- ``emit``, ``emit_table``: results, as rich tables for people or
  ``{"ok": true, "data": ...}`` under ``--output json|yaml``.
- ``fail``, ``emit_error``: one-line ``error: <message> (<CODE>)`` on stderr
  (or the JSON form), returning the exit code its error code calls for
  (``exit_code_for``: 2 for bad input or an unknown name, 130 for
  ``INTERRUPTED``, 1 otherwise).
- ``EXIT_INTERRUPTED`` (130): what a command that handles Ctrl-C itself
  (stops cleanly, prints what it did) returns afterwards.
- ``note``: progress and hints on stderr, silenced by ``--quiet``.

A command returns the exit code these give. The module is light: importing it
loads neither pluggy nor pydantic.
"""

from __future__ import annotations

from flext_kernel.cli.output import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    emit,
    emit_error,
    emit_table,
    exit_code_for,
    note,
)
from flext_kernel.cli.session import boot_kernel, fail
from flext_kernel.cli.settings import current

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "boot_kernel",
    "current",
    "emit",
    "emit_error",
    "emit_table",
    "exit_code_for",
    "fail",
    "note",
]
