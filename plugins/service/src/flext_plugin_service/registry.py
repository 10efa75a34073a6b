"""The registry: every active plugin's ``flext_services`` answer, validated, one service per name.

Read afresh each time (a hook call is cheap and answers describe, never
connect), so a plugin enabled, disabled or reloaded is seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from flext_plugin_service.spec import ServiceSpec

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["Registry", "read_registry"]


@dataclass(frozen=True)
class Registry:
    """The services, by name, and what was refused with why (for a ``note`` line each)."""

    services: dict[str, ServiceSpec]
    """Each service by name, in plugin order."""
    refused: list[str] = field(default_factory=list)
    """``"plugin P: why"`` for each description that did not validate or reused a name."""


def read_registry(kernel: FlextKernel) -> Registry:
    """Ask every active plugin for its services; the first plugin to claim a name keeps it."""
    services: dict[str, ServiceSpec] = {}
    refused: list[str] = []
    for plugin, answer in kernel.plugins.collect("flext_services"):
        for item in answer or ():
            spec = _validated(plugin, item, refused)
            if spec is None:
                continue
            if spec.name in services:
                refused.append(
                    f"plugin {plugin}: service {spec.name!r} is taken by {services[spec.name].owner}; ignored"
                )
                continue
            services[spec.name] = spec
    return Registry(services, refused)


def _validated(plugin: str, item: Any, refused: list[str]) -> ServiceSpec | None:
    data = item.model_dump() if isinstance(item, BaseModel) and not isinstance(item, ServiceSpec) else item
    try:
        spec = ServiceSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "service"
        refused.append(f"plugin {plugin}: invalid service description ({where}: {first['msg']}); ignored")
        return None
    if spec.kind == "local-process" and not spec.argv:
        refused.append(f"plugin {plugin}: local process {spec.name!r} has no argv; ignored")
        return None
    return spec.model_copy(update={"owner": plugin})
