"""``target-oracle``: the Singer target (singer-sdk ``SQLTarget``) with its settings.

Settings: ``host``, ``port`` (1521), ``user``, ``password`` (secret),
``service_name``, and singer-sdk's SQL target settings
(``default_target_schema``: an existing schema, that is an Oracle user;
``add_record_metadata``; ``load_method``; ``hard_delete``; batch sizes...).
"""

from __future__ import annotations

from typing import Any, ClassVar

from singer_sdk import typing as th
from singer_sdk.sql import SQLTarget

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
