"""Contracts between plugins: the types both sides import, so neither imports the other.

A plugin never imports another plugin's modules; it asks the kernel for what
the other provides (a handler on a bus, a service in the container, a hook).
The types that cross live here, owned by no plugin:

- ``flext_sdk.contracts.singer``: ``ConnectorSpec`` (what the singer plugin's
  ``flext_singer_connectors`` hook returns), ``SingerJob`` and
  ``SingerRunResult``, and the ``SingerEngine`` service the singer plugin
  registers in the container;
- ``flext_sdk.contracts.dbt``: the ``RunDbt`` command the dbt plugin handles,
  and the ``DbtReport`` it answers;
- ``flext_sdk.contracts.ldif``: the ``LdifReader`` service the ldif plugin
  registers (LDIF files as ``LdifRecord`` and ``LdifProblem`` items);
- ``flext_sdk.contracts.pipeline``: ``GetPipelineState`` and
  ``SetPipelineState``, a pipeline's resume state, handled by the pipeline plugin;
- ``flext_sdk.contracts.observability``: ``GetMetricsText``, the process's
  metrics as Prometheus text (a ``MetricsText``), handled by the
  observability plugin;
- ``flext_sdk.contracts.services``: ``GetServiceHealth``, every service's
  health now (``ServiceHealth`` rows), handled by the service plugin;
- ``flext_sdk.contracts.schedule``: ``AddSchedule``, a schedule another
  plugin adds (``ScheduleAdding`` answers), handled by the scheduler plugin;
- ``flext_sdk.contracts.secrets``: ``ResolveSecret`` (a ``SecretValue``),
  handled by the secrets plugin, and ``resolve_references``, which fills every
  ``${secret:NAME}`` of a config through the query bus;
- ``require_handler``, ``require_service``: check that what a caller needs is
  there, or fail naming the plugin that provides it and what to do
  (``PLUGIN_DISABLED``: enable it; ``NOT_FOUND``: install it); ``hint_of``
  reads that advice back for the CLI's ``hint:`` line.

Names are re-exported lazily: importing this package loads none of the contract modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.lazy import lazy_exports

if TYPE_CHECKING:
    from flext_sdk.contracts._providers import (
        Provider,
        hint_of,
        plugin_unavailable,
        provided_by,
        provider_of,
        require_handler,
        require_service,
    )
    from flext_sdk.contracts.dbt import DbtCommand, DbtReport, NodeResult, RunDbt
    from flext_sdk.contracts.ldif import LdifItem, LdifModification, LdifProblem, LdifReader, LdifRecord
    from flext_sdk.contracts.observability import GetMetricsText, MetricsText
    from flext_sdk.contracts.schedule import AddSchedule, ScheduleAdding
    from flext_sdk.contracts.secrets import ResolveSecret, SecretValue, resolve_references
    from flext_sdk.contracts.services import GetServiceHealth, ServiceHealth
    from flext_sdk.contracts.singer import (
        ConnectorKind,
        ConnectorSpec,
        ConnectorStep,
        SingerEngine,
        SingerJob,
        SingerRun,
        SingerRunResult,
    )

_PROVIDERS = "flext_sdk.contracts._providers"
_SINGER = "flext_sdk.contracts.singer"
_DBT = "flext_sdk.contracts.dbt"
_LDIF = "flext_sdk.contracts.ldif"
_OBSERVABILITY = "flext_sdk.contracts.observability"
_SERVICES = "flext_sdk.contracts.services"
_SCHEDULE = "flext_sdk.contracts.schedule"
_SECRETS = "flext_sdk.contracts.secrets"

_LOCATIONS: dict[str, str] = {
    "AddSchedule": _SCHEDULE,
    "ResolveSecret": _SECRETS,
    "ScheduleAdding": _SCHEDULE,
    "SecretValue": _SECRETS,
    "resolve_references": _SECRETS,
    "ConnectorKind": _SINGER,
    "ConnectorSpec": _SINGER,
    "ConnectorStep": _SINGER,
    "DbtCommand": _DBT,
    "DbtReport": _DBT,
    "GetMetricsText": _OBSERVABILITY,
    "GetServiceHealth": _SERVICES,
    "LdifItem": _LDIF,
    "LdifModification": _LDIF,
    "LdifProblem": _LDIF,
    "LdifReader": _LDIF,
    "LdifRecord": _LDIF,
    "MetricsText": _OBSERVABILITY,
    "NodeResult": _DBT,
    "Provider": _PROVIDERS,
    "RunDbt": _DBT,
    "ServiceHealth": _SERVICES,
    "SingerEngine": _SINGER,
    "SingerJob": _SINGER,
    "SingerRun": _SINGER,
    "SingerRunResult": _SINGER,
    "hint_of": _PROVIDERS,
    "plugin_unavailable": _PROVIDERS,
    "provided_by": _PROVIDERS,
    "provider_of": _PROVIDERS,
    "require_handler": _PROVIDERS,
    "require_service": _PROVIDERS,
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LOCATIONS)

__all__ = [
    "AddSchedule",
    "ConnectorKind",
    "ConnectorSpec",
    "ConnectorStep",
    "DbtCommand",
    "DbtReport",
    "GetMetricsText",
    "GetServiceHealth",
    "LdifItem",
    "LdifModification",
    "LdifProblem",
    "LdifReader",
    "LdifRecord",
    "MetricsText",
    "NodeResult",
    "Provider",
    "ResolveSecret",
    "RunDbt",
    "ScheduleAdding",
    "SecretValue",
    "ServiceHealth",
    "SingerEngine",
    "SingerJob",
    "SingerRun",
    "SingerRunResult",
    "hint_of",
    "plugin_unavailable",
    "provided_by",
    "provider_of",
    "require_handler",
    "require_service",
    "resolve_references",
]
