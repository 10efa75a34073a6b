"""The dbt plugin's handler of ``RunDbt``, the command other plugins dispatch to run a dbt project.

The handler is ``run_dbt`` with the command's fields as arguments; it records
nothing (``flext data dbt ...`` records its own invocations). The runner is
imported when the first command arrives, so registering the handler at boot
costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flext_sdk import FlextResult
    from flext_sdk.contracts.dbt import DbtReport, RunDbt

__all__ = ["handle_run_dbt"]


def handle_run_dbt(command: RunDbt) -> FlextResult[DbtReport]:
    """Run the command's dbt invocation and answer its report (see ``run_dbt`` for the failures)."""
    from flext_plugin_dbt.runner import run_dbt

    return run_dbt(
        command.project_dir,
        command.command,
        profiles_dir=command.profiles_dir,
        target=command.target,
        select=command.select,
        vars=command.vars,
        full_refresh=command.full_refresh,
        limit=command.limit,
        env=command.env,
        log=command.log,
        cancel=command.cancel,
    )
