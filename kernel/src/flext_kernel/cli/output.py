"""Printing results: rich tables for people, stable JSON/YAML for machines, one-line errors.

The conventions (docs/cli.md): a failure is ``error: <message> (<CODE>)`` on
stderr with exit code 1 (2 for bad usage or input); with ``--output json`` it
is ``{"ok": false, "error": ..., "code": ...}`` on stdout. Successful
machine output is ``{"ok": true, "data": ...}``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from flext_kernel.cli.settings import current

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "emit", "emit_error", "emit_table", "note"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _machine(payload: Mapping[str, Any]) -> None:
    if current().output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(dict(payload), sort_keys=False))
    else:
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def emit(data: Any, *, human: str | None = None) -> int:
    """Print a successful result: ``human`` text for people, ``data`` for machines."""
    if current().output != "table":
        _machine({"ok": True, "data": data})
    elif human is not None:
        print(human)
    return EXIT_OK


def emit_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None) -> int:
    """Print rows as a rich table, or as ``{"ok": true, "data": rows}`` for machines."""
    if current().output != "table":
        _machine({"ok": True, "data": list(rows)})
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    Console().print(table)
    return EXIT_OK


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def emit_error(
    message: str, code: str | None, *, hint: str | None = None, exit_code: int = EXIT_FAILED
) -> int:
    """Print one failure the documented way and return its exit code."""
    if current().output != "table":
        _machine({"ok": False, "error": message, "code": code})
        return exit_code
    suffix = f" ({code})" if code else ""
    print(f"error: {message}{suffix}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return exit_code


def note(message: str) -> None:
    """An informational line on stderr, silenced by ``--quiet`` and machine output."""
    if not current().quiet and current().output == "table":
        print(message, file=sys.stderr)
