"""Printing results: tables for people, stable JSON/YAML for machines, one-line errors.

The conventions, exit codes and table layout: docs/cli.md, "Output" and "Errors and exit codes".
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from flext_kernel.cli.settings import current
from flext_kernel.errors import (
    INTERRUPTED,
    LOCAL_PLUGIN,
    NOT_A_PLUGIN,
    NOT_FOUND,
    PLUGIN_DISABLED,
    USAGE_ERROR,
    VALIDATION_ERROR,
)

__all__ = [
    "EXIT_CLOSED_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "emit",
    "emit_error",
    "emit_table",
    "exit_code_for",
    "is_human",
    "note",
    "snake_case",
]

EXIT_OK = 0
"""Success."""
EXIT_FAILED = 1
"""The operation failed."""
EXIT_USAGE = 2
"""Bad usage or input: an unknown command, option or name, a value that does not validate."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C: 128 + SIGINT."""
EXIT_CLOSED_PIPE = 141
"""Whoever read the output closed it early (``| head``): 128 + SIGPIPE, what a shell reports for ``cat``."""

_EXIT_CODES: Mapping[str, int] = {
    USAGE_ERROR: EXIT_USAGE,
    VALIDATION_ERROR: EXIT_USAGE,
    NOT_FOUND: EXIT_USAGE,
    PLUGIN_DISABLED: EXIT_USAGE,
    NOT_A_PLUGIN: EXIT_USAGE,
    LOCAL_PLUGIN: EXIT_USAGE,
    INTERRUPTED: EXIT_INTERRUPTED,
}
"""The error codes whose exit code is not ``EXIT_FAILED`` (the table in docs/cli.md)."""


def exit_code_for(code: str | None) -> int:
    """The exit code of a failure with error code ``code``: 1, 2 for bad input, 130 (table: docs/cli.md)."""
    return _EXIT_CODES.get(code or "", EXIT_FAILED)


def _machine(payload: Mapping[str, Any]) -> None:
    if current().output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(_iso_times(dict(payload)), sort_keys=False))
    else:
        sys.stdout.write(json.dumps(_iso_times(payload), indent=2, default=str) + "\n")


_SNAKE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


def snake_case(key: str) -> str:
    """``key`` as a snake_case JSON key: ``"last run"``, ``"lastRun"``, ``"Last-Run"`` give ``"last_run"``."""
    if _SNAKE.fullmatch(key):
        return key
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return re.sub(r"[^0-9A-Za-z]+", "_", words).strip("_").lower() or key


def _snake_keys(data: Any) -> Any:
    """``data`` with its own keys in snake_case (an object's, or each row's); deeper levels are data.

    A key that would collide with another one keeps its spelling.
    """
    if isinstance(data, Mapping):
        renamed: dict[Any, Any] = {}
        for key, value in data.items():
            name = snake_case(key) if isinstance(key, str) else key
            taken = name in renamed or (name != key and name in data)
            renamed[key if taken else name] = value
        return renamed
    if isinstance(data, list | tuple):
        return [_snake_keys(item) if isinstance(item, Mapping) else item for item in data]
    return data


def _iso_times(value: Any) -> Any:
    """``value`` with every datetime, date and time in it as an ISO 8601 string."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: _iso_times(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_iso_times(item) for item in value]
    return value


def emit(data: Any, *, human: str | None = None, raw_keys: bool = False) -> int:
    """Print a successful result: ``human`` text for people, ``data`` for machines.

    Machine output has snake_case keys and ISO 8601 times; ``raw_keys=True`` keeps keys that are
    the user's data (a SQL query's columns).
    """
    if not is_human():
        _machine({"ok": True, "data": data if raw_keys else _snake_keys(data)})
    elif human is not None:
        print(human)
    return EXIT_OK


def emit_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    raw_keys: bool = False,
) -> int:
    """Print rows as a table (rich on a terminal, else plain text), or ``{"ok": true, "data": rows}``.

    The table's headers are ``columns`` as given; machine output follows ``emit`` (``raw_keys`` included).
    """
    if not is_human():
        return emit(list(rows), raw_keys=raw_keys)
    if sys.stdout.isatty():
        _terminal_table(rows, columns, title=title)
    else:
        sys.stdout.write(_plain_table(rows, columns, title=title))
    return EXIT_OK


def _terminal_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, title: str | None) -> None:
    """A rich table that never cuts a name, a state or a time, whatever the terminal's width (docs/cli.md)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    plan = [_column_width(column, [line[index] for line in cells]) for index, column in enumerate(columns)]
    if sum(width for width, _ in plan) + 3 * len(columns) + 1 > console.width:
        console.print(Text(_records(cells, columns, title=title)), end="", soft_wrap=True)
        return
    table = Table(title=title)
    for column, (width, wraps) in zip(columns, plan, strict=True):
        table.add_column(column, min_width=width, no_wrap=not wraps, overflow="fold")
    for line in cells:
        table.add_row(*(Text(text) for text in line))  # Text: a value's brackets are not rich markup
    console.print(table)


_TEXT_COLUMN_WIDTH = 12
"""Width a free-text column may shrink to (wrapping at spaces) before rows are printed as records."""


def _column_width(header: str, values: list[str]) -> tuple[int, bool]:
    """(the narrowest the column may be, whether it wraps): single words never wrap, text does."""
    if not any(" " in value or "\n" in value for value in values):
        return max([len(header), *(len(value) for value in values)]), False
    longest = max(len(word) for text in [header, *values] for word in text.split() or [""])
    return max(len(header), min(longest, _TEXT_COLUMN_WIDTH)), True


def _records(cells: list[list[str]], columns: Sequence[str], *, title: str | None) -> str:
    """Rows too wide for the terminal, one ``column  value`` line per cell and a blank line between."""
    width = max(len(column) for column in columns)
    blocks = [
        "\n".join(
            f"{column.ljust(width)}  {text}".rstrip() for column, text in zip(columns, line, strict=True)
        )
        for line in cells
    ]
    return "\n\n".join(([title] if title else []) + blocks) + "\n"


def _plain_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None
) -> str:
    """``rows`` as lines of text: the title, the column names, a rule, then one line per row.

    Nothing is cut, and a value's line breaks become spaces (one line per row, for ``grep``).
    """
    cells = [
        list(columns),
        *([" ".join(_cell(row.get(column)).splitlines()) for column in columns] for row in rows),
    ]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    cells.insert(1, ["-" * width for width in widths])
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    return "\n".join(([title] if title else []) + lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def emit_error(
    message: str, code: str | None, *, hint: str | None = None, exit_code: int | None = None
) -> int:
    """Print one failure the documented way and return its exit code (by default ``exit_code_for(code)``)."""
    if exit_code is None:
        exit_code = exit_code_for(code)
    if not is_human():
        _machine({"ok": False, "error": message, "code": code})
        return exit_code
    suffix = f" ({code})" if code else ""
    print(f"error: {message}{suffix}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return exit_code


def is_human() -> bool:
    """True when results are printed for people (no ``--output json|yaml``)."""
    return current().output == "table"


def note(message: str) -> None:
    """An informational line on stderr, silenced by ``--quiet`` and machine output."""
    if not current().quiet and is_human():
        print(message, file=sys.stderr)
