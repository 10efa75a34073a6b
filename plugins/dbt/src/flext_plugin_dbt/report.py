"""What one dbt invocation did: ``DbtReport`` and its ``NodeResult`` rows.

They are the dbt contract's own types (``flext_sdk.contracts.dbt``), which
other plugins receive when they dispatch ``RunDbt``; this module keeps the
dbt plugin's modules importing them from one place.
"""

from __future__ import annotations

from flext_sdk.contracts.dbt import COMMANDS, FAILED_STATUSES, DbtCommand, DbtReport, NodeResult, one_line

__all__ = ["COMMANDS", "FAILED_STATUSES", "DbtCommand", "DbtReport", "NodeResult", "one_line"]
