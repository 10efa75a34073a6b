"""The service plugin's contract: every service's health, asked on the query bus.

``flext monitor`` (and any plugin that shows or acts on health) asks
``GetServiceHealth`` instead of importing the ``service`` plugin; that plugin
checks the services of its registry concurrently, each within ``timeout``
seconds, records since when each is in its state (as ``flext service
health`` does), and answers with one ``ServiceHealth`` row per service.
``require_handler(kernel, GetServiceHealth, why=...)`` says first whether the
plugin is there.

The rows carry no secret: ``target`` is the checked address with any
password replaced by ``***``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from flext_kernel.messages import FlextQuery
from flext_sdk.contracts._providers import provided_by

__all__ = ["GetServiceHealth", "ServiceHealth"]


class ServiceHealth(BaseModel):
    """One service's check: the columns of ``flext service health``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    service: str
    """The service's name (``flext service list``)."""
    kind: Literal["local-process", "dependency"]
    """``local-process``: FLEXT runs it; ``dependency``: FLEXT only checks it."""
    status: Literal["up", "down"]
    """The check's answer now."""
    required: bool
    """Whether FLEXT is unready while it is down."""
    latency_ms: float | None
    """How long the check took; None when it timed out."""
    detail: str
    """One line: the check's answer or why it failed."""
    target: str
    """What was checked, without secrets (a URL, ``host:port``, ``pid file``)."""
    since: str | None = None
    """ISO 8601 UTC time the service entered ``status`` (None before it was recorded)."""


@provided_by("service", distribution="flext-plugin-service")
class GetServiceHealth(FlextQuery):
    """Check the services now; answered with ``list[ServiceHealth]`` in registry order.

    An unknown name in ``services`` is ``NOT_FOUND``.
    """

    model_config = ConfigDict(defer_build=True)

    services: tuple[str, ...] = ()
    """Only these services (empty: all)."""
    timeout: float = Field(default=5.0, gt=0)
    """Seconds each check may take before it counts as down."""
