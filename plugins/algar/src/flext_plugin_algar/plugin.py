"""The ``algar`` plugin: the OID to OUD migration.

This first version contributes no command yet: the migration phases and the
``flext algar`` commands come with the phases. What it has is the ACL
translator (``flext_plugin_algar.acl``), a library the phases will use.
Loading the plugin imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flext_sdk import PluginManifest, hookimpl

if TYPE_CHECKING:
    from flext_sdk import FlextResult

__all__ = ["NAME", "flext_health", "manifest"]

NAME = "algar"
"""The plugin's name."""

manifest = PluginManifest(
    name=NAME,
    version="0.1.0",
    description="ALGAR: Oracle Internet Directory to Oracle Unified Directory migration (ACL translator)",
)
"""The plugin's manifest (no commands yet)."""


@hookimpl
def flext_health() -> FlextResult[dict[str, Any]]:
    """Check that the ACL translator loads and translates a known directive as documented."""
    from flext_kernel.errors import INTERNAL_ERROR
    from flext_plugin_algar.acl import translate_acl
    from flext_sdk import FlextResult

    probe = translate_acl("access to entry by * (browse)", entry_dn="dc=example,dc=com")
    if len(probe.acis) != 1 or probe.failed:
        return FlextResult.fail(
            f"the ACL translator gave {probe.acis!r} for a known directive",
            error_code=INTERNAL_ERROR,
        )
    return FlextResult.ok({"acl_translator": "ok"})
