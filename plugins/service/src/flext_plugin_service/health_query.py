"""The answer to the SDK's ``GetServiceHealth``: the registry checked now, as typed rows.

Other plugins (``flext monitor``) show health without importing this one:
they ask the query bus, and this handler does what ``flext service health``
does (concurrent checks, each within the query's timeout, states recorded
with since when) and answers ``ServiceHealth`` rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.errors import NOT_FOUND
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel
    from flext_sdk.contracts.services import GetServiceHealth, ServiceHealth

__all__ = ["answer_service_health"]


def answer_service_health(kernel: FlextKernel, query: GetServiceHealth) -> FlextResult[list[ServiceHealth]]:
    """Check the services the query names (all when none), concurrently; one row each."""
    from flext_plugin_service.health import check_all
    from flext_plugin_service.registry import read_registry
    from flext_sdk.contracts.services import ServiceHealth

    registry = read_registry(kernel)
    unknown = [name for name in query.services if name not in registry.services]
    if unknown:
        return FlextResult.fail(f"no service named {unknown[0]!r}", error_code=NOT_FOUND)
    specs = [registry.services[name] for name in query.services] or list(registry.services.values())
    results = check_all(specs, kernel, query.timeout)
    return FlextResult.ok([ServiceHealth.model_validate(result.document()) for result in results])
