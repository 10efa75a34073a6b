"""``MERGE INTO``: the upsert of a batch of records on their key, compiled by SQLAlchemy's Oracle dialect.

SQLAlchemy has no MERGE construct, so this is a small ``ClauseElement``
whose compiler uses the dialect's own identifier quoting and bind
parameters. One statement, run with ``executemany`` over the batch (one
set of binds per record), merges one record from ``DUAL``::

    MERGE INTO wms.item tgt
    USING (SELECT :p0 AS id, :p1 AS code, FROM_TZ(CAST(:p2 AS TIMESTAMP(6)), 'UTC') AS mod_ts FROM DUAL) src
    ON (tgt.id = src.id)
    WHEN MATCHED THEN UPDATE SET tgt.code = src.code, tgt.mod_ts = src.mod_ts
    WHEN NOT MATCHED THEN INSERT (id, code, mod_ts) VALUES (src.id, src.code, src.mod_ts)

Binds are named ``p0``, ``p1``... rather than after the columns, because
Oracle bind names cannot start with ``_`` (``_sdc_extracted_at``) nor be
reserved words (``date``). A ``TIMESTAMP WITH TIME ZONE`` column is bound as
the instant in UTC without an offset (the driver binds a ``datetime`` as a
plain ``TIMESTAMP``) and made an instant again with ``FROM_TZ(..., 'UTC')``,
so the stored value never depends on the session's time zone. A table
whose every column is in the key has no ``WHEN MATCHED`` branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

__all__ = ["Merge", "bind_name"]


def bind_name(position: int) -> str:
    """The bind parameter of the ``position``-th column of the table."""
    return f"p{position}"


class Merge(Executable, ClauseElement):
    """Upsert one record (a set of binds) into ``table`` on ``keys``."""

    inherit_cache = False

    def __init__(self, table: sa.Table, keys: Sequence[str]) -> None:
        missing = [key for key in keys if key not in table.columns]
        if not keys or missing:
            msg = f"MERGE into {table.name} needs key columns of the table (missing: {missing or 'all'})"
            raise ValueError(msg)
        self.table = table
        self.keys = tuple(keys)

    def bind_names(self) -> dict[str, str]:
        """Column name -> its bind parameter name."""
        return {column.name: bind_name(n) for n, column in enumerate(self.table.columns)}


def _is_instant(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.DateTime) and bool(column.type.timezone)


@compiles(Merge, "oracle")
def _compile_merge(element: Merge, compiler: SQLCompiler, **kw: Any) -> str:
    quote = compiler.preparer.quote
    table = compiler.preparer.format_table(element.table)
    names = element.bind_names()
    selected = []
    for column in element.table.columns:
        bind = compiler.process(sa.bindparam(names[column.name], type_=column.type), **kw)
        if _is_instant(column):
            bind = f"FROM_TZ(CAST({bind} AS TIMESTAMP(6)), 'UTC')"
        selected.append(f"{bind} AS {quote(column.name)}")
    columns = [quote(column.name) for column in element.table.columns]
    keys = {quote(key) for key in element.keys}
    on = " AND ".join(f"tgt.{key} = src.{key}" for key in sorted(keys, key=columns.index))
    updates = ", ".join(f"tgt.{name} = src.{name}" for name in columns if name not in keys)
    statement = [
        f"MERGE INTO {table} tgt",
        f"USING (SELECT {', '.join(selected)} FROM DUAL) src",
        f"ON ({on})",
    ]
    if updates:
        statement.append(f"WHEN MATCHED THEN UPDATE SET {updates}")
    statement.append(
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'src.{name}' for name in columns)})"
    )
    return "\n".join(statement)
