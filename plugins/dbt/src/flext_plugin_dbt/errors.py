"""The error codes of the dbt plugin.

Failures of ``run_dbt`` carry one of these, or a code of the kernel or SDK:

- ``VALIDATION_ERROR`` (exit 2): no such project directory, no
  ``dbt_project.yml``, no usable profile, an adapter flext cannot install,
  options that do not fit the command;
- ``TOOL_INSTALL_FAILED``: dbt's own environment could not be built;
- ``DBT_CONFIG_ERROR``, ``DBT_COMPILE_ERROR``, ``DBT_ERROR``: dbt started
  but stopped before running nodes (below).

A run whose nodes fail (a model's SQL error, a failing test) is not a failed
result: ``run_dbt`` returns its report with ``success`` False, and the CLI
reports it with ``DBT_NODES_FAILED``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DBT_COMPILE_ERROR", "DBT_CONFIG_ERROR", "DBT_ERROR", "DBT_NODES_FAILED"]

DBT_CONFIG_ERROR: Final = "DBT_CONFIG_ERROR"
"""dbt could not use the project's configuration: a missing env var in ``profiles.yml``, a bad profile."""
DBT_COMPILE_ERROR: Final = "DBT_COMPILE_ERROR"
"""The project did not parse or compile: bad Jinja, a ``ref`` to a model that does not exist."""
DBT_ERROR: Final = "DBT_ERROR"
"""dbt stopped with any other error, or its process ended without reporting a result."""
DBT_NODES_FAILED: Final = "DBT_NODES_FAILED"
"""dbt ran, and at least one node failed: a model's SQL error, a failing test (CLI exit code 1)."""
