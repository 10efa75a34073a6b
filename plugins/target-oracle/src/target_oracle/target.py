"""``target-oracle``: the Singer target (singer-sdk ``SQLTarget``) with its settings.

Settings: ``host``, ``port`` (1521), ``user``, ``password`` (secret),
``service_name``, and singer-sdk's SQL target settings
(``default_target_schema``: an existing schema, that is an Oracle user;
``add_record_metadata``; ``load_method``; ``hard_delete``; batch sizes...).

A database that cannot be reached, refuses the login or a statement, or
lacks the schema ends the run with one ``error:`` line on stderr (exit 1)
and no traceback: the driver's own message (``DPY-…``/``ORA-…``), never the
statement's values nor the password.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar, NoReturn

import sqlalchemy as sa
from singer_sdk import typing as th
from singer_sdk.sql import SQLTarget

from target_oracle.connector import SchemaMissingError
from target_oracle.sink import OracleSink

__all__ = ["TargetOracle"]


class TargetOracle(SQLTarget):
    """Singer records into Oracle Database tables, upserted on their key."""

    name = "target-oracle"
    package_name = "flext-target-oracle"
    default_sink_class = OracleSink

    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList(
        th.Property("host", th.StringType, required=True, description="The database host."),
        th.Property("port", th.IntegerType, default=1521, description="The listener port."),
        th.Property("user", th.StringType, required=True, description="The user the target connects as."),
        th.Property("password", th.StringType, secret=True, description="Its password."),
        th.Property(
            "service_name", th.StringType, required=True, description="The database service (e.g. FREEPDB1)."
        ),
    ).to_dict()

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Load; a database failure ends the run with one ``error:`` line (exit 1)."""
        try:
            super().invoke(*args, **kwargs)
        except (sa.exc.DBAPIError, SchemaMissingError) as exc:
            _fail(exc)


def _fail(error: sa.exc.DBAPIError | SchemaMissingError) -> NoReturn:
    """One ``error:`` line: the driver's message only (SQLAlchemy's also holds the statement's values)."""
    sys.stdout.flush()
    if isinstance(error, sa.exc.DBAPIError):
        text = str(error.orig) if error.orig is not None else type(error).__name__
        reason = "; ".join(line.strip() for line in text.splitlines() if line.strip())
        message = f"target-oracle: the database failed: {reason}"
    else:
        message = f"target-oracle: {error}"
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1) from None
