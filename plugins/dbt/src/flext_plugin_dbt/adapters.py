"""dbt's own environments: one isolated virtual environment per adapter, built on first use.

dbt-core and its adapters pin dozens of packages (agate, protobuf, networkx,
...), so flext never installs them into its own environment: each adapter
gets a tool environment (``flext_sdk.tools``) named ``dbt-<adapter>``, built
the first time a project with that adapter runs and reused afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_sdk.tools import ToolEnvironment

__all__ = ["ADAPTERS", "DBT_CORE", "dbt_environment", "environment_name"]

DBT_CORE: Final = "dbt-core~=1.10.0"
"""The dbt-core every environment gets (dbt-sqlite 1.10 needs dbt-core 1.10 and dbt-adapters 1.16)."""

ADAPTERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "sqlite": (DBT_CORE, "dbt-sqlite~=1.10.0"),
        "duckdb": (DBT_CORE, "dbt-duckdb~=1.10.0"),
        "postgres": (DBT_CORE, "dbt-postgres~=1.10.0"),
    }
)
"""Profile ``type`` to what its environment installs."""


def environment_name(adapter: str) -> str:
    """The tool environment of ``adapter``: ``dbt-sqlite``."""
    return f"dbt-{adapter}"


def dbt_environment(adapter: str) -> FlextResult[ToolEnvironment]:
    """The ready environment for ``adapter``, installing it first if needed (and saying so on stderr).

    Returns:
        The environment; ``VALIDATION_ERROR`` for an adapter flext does not
        know, ``TOOL_INSTALL_FAILED`` if the install failed.

    """
    from flext_sdk import tools
    from flext_sdk.cli import note

    requirements = ADAPTERS.get(adapter)
    if requirements is None:
        return FlextResult.fail(
            f"unknown dbt adapter {adapter!r} (the profile's type): flext runs "
            f"{', '.join(sorted(ADAPTERS))}; change the type in profiles.yml",
            error_code=VALIDATION_ERROR,
            error_data={"reason": "unknown_adapter", "adapter": adapter},
        )
    name = environment_name(adapter)
    ready = tools.environment(name)
    if ready is None or ready.requirements != requirements:
        note(
            f"installing dbt for {adapter} ({' '.join(requirements)}) into its own environment "
            f"{name}; the first time takes a while"
        )
    installed = tools.install(name, requirements)
    if installed.is_failure:
        return FlextResult.fail(
            installed.error or f"could not install dbt for {adapter}",
            error_code=installed.error_code,
            error_data={**installed.error_data, "adapter": adapter},
        )
    return installed
