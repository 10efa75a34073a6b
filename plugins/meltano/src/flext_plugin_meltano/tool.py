"""Meltano's own environment: the pinned ``meltano`` in a tool environment, built on first use.

Meltano pins SQLAlchemy, structlog, click and more, so it is never installed
into flext's environment: it gets the tool environment ``meltano``
(``flext_sdk.tools``), built the first time a ``flext meltano`` command
needs it and reused afterwards. Meltano then builds each of a project's
plugins into the project's own ``.meltano/`` as it always does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_sdk.tools import ToolEnvironment

__all__ = ["MELTANO", "TOOL_NAME", "meltano_environment", "meltano_schema"]

TOOL_NAME: Final = "meltano"
"""The tool environment's name."""
MELTANO: Final = ("meltano==4.4.1",)
"""What the environment installs: the Meltano flext is tested with."""


def meltano_environment() -> FlextResult[ToolEnvironment]:
    """The ready environment, installing Meltano first if needed (and saying so on stderr)."""
    from flext_sdk import tools
    from flext_sdk.cli import note

    ready = tools.environment(TOOL_NAME)
    if ready is None or ready.requirements != MELTANO:
        note(
            f"installing {' '.join(MELTANO)} into its own environment {TOOL_NAME}; "
            "the first time takes a while"
        )
    installed = tools.install(TOOL_NAME, MELTANO)
    if installed.is_failure:
        return FlextResult.fail(
            installed.error or "could not install meltano",
            error_code=installed.error_code,
            error_data={**installed.error_data, "tool": TOOL_NAME},
        )
    return installed


def meltano_schema(tool: ToolEnvironment) -> Path | None:
    """The JSON schema of ``meltano.yml`` that the installed Meltano ships, or None if it has none."""
    found = sorted(tool.path.glob("lib/python*/site-packages/meltano/schemas/meltano.schema.json"))
    return found[0] if found else None
