"""Run one dbt command with dbt-core's programmatic runner and report it as JSON lines.

This script runs with the *tool environment's* interpreter (where dbt is
installed), never with flext's, so it imports only dbt and the standard
library. flext starts it as ``python -I _driver.py`` and writes the request
on its standard input::

    {"args": ["build", "--project-dir", "...", "--select", "..."]}

It answers on standard output, one JSON object per line:

- ``{"kind": "node", "unique_id", "resource_type", "name", "status",
  "execution_time", "message", "rows_affected", "failures"}`` per finished node;
- ``{"kind": "show", "unique_id", "columns": [...], "rows": [{...}, ...]}``
  after the node line of each node ``dbt show`` previewed;
- last, ``{"kind": "summary", "success", "elapsed", "dbt_version", "error",
  "error_type"}``; ``error`` is set when dbt stopped with an exception
  (a compilation error, a bad profile) instead of running nodes.

dbt's own log lines go to standard error (and ``logs/dbt.log``): standard
output is moved to standard error before dbt is imported, and the JSON goes
to a duplicate of the original standard output, so nothing dbt prints can
end up between the JSON lines.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import os
import sys
import time
from typing import IO, Any


def _json_channel() -> IO[str]:
    """Keep the real stdout for the JSON lines and point fd 1 (and ``sys.stdout``) at stderr."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _not_finite(nan: bool, negative: bool) -> str:
    """An infinite or NaN number as PostgreSQL writes it."""
    return "NaN" if nan else ("-Infinity" if negative else "Infinity")


def _plain(value: Any) -> Any:
    """A value of a result table as JSON can hold it."""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():  # int() of one raises, and JSON has no Infinity or NaN
            return _not_finite(value.is_nan(), value.is_signed())
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return _not_finite(math.isnan(value), value < 0)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _rows_affected(adapter_response: Any) -> int | None:
    if not isinstance(adapter_response, dict):
        return None
    rows = adapter_response.get("rows_affected")
    return rows if isinstance(rows, int) and rows >= 0 else None


def _node_line(result: Any) -> dict[str, Any]:
    node = result.node
    failures = result.failures
    return {
        "kind": "node",
        "unique_id": node.unique_id,
        "resource_type": str(node.resource_type),
        "name": node.name,
        "status": str(result.status),
        "execution_time": float(result.execution_time or 0.0),
        "message": result.message,
        "rows_affected": _rows_affected(result.adapter_response),
        "failures": failures if isinstance(failures, int) else None,
    }


def _show_line(result: Any) -> dict[str, Any]:
    table = result.agate_table
    columns = [str(name) for name in table.column_names]
    rows = [dict(zip(columns, (_plain(value) for value in row), strict=True)) for row in table.rows]
    return {"kind": "show", "unique_id": result.node.unique_id, "columns": columns, "rows": rows}


def main() -> int:
    """Run the requested dbt command; return 0 once the summary line is written."""
    started = time.monotonic()
    out = _json_channel()
    request = json.loads(sys.stdin.read())
    args = [str(arg) for arg in request["args"]]

    from dbt.cli.main import dbtRunner  # type: ignore[import-not-found]  # only in the tool environment
    from dbt.version import __version__ as dbt_version  # type: ignore[import-not-found]  # likewise

    outcome = dbtRunner().invoke(args)
    elapsed = time.monotonic() - started

    for result in getattr(outcome.result, "results", None) or ():
        if getattr(result, "node", None) is None:
            continue
        out.write(json.dumps(_node_line(result), default=str) + "\n")
        if getattr(result, "agate_table", None) is not None:
            out.write(json.dumps(_show_line(result), default=str) + "\n")
    error = outcome.exception
    summary = {
        "kind": "summary",
        "success": bool(outcome.success),
        "elapsed": round(elapsed, 3),
        "dbt_version": str(dbt_version),
        "error": str(error) if error is not None else None,
        "error_type": type(error).__name__ if error is not None else None,
    }
    out.write(json.dumps(summary) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
