"""The FLEXT pipeline a GrupoNos deployment runs, built from ``gruponos.yaml``.

One pipeline, ``NAME``, run two ways by two schedules: incrementally (only
rows whose ``mod_ts`` moved since the state its last run confirmed) and as a
full reload (``--full-refresh``: every row read and upserted again). One
pipeline rather than two so that both kinds of run keep one state: a reload
moves the bookmark the next incremental run starts from (docs/gruponos.md).
It is a plain definition (docs/pipelines.md), registered through ``flext
pipeline`` like any other, so ``flext pipeline run|status|history|logs`` work
on it unchanged. Secrets stay ``${VAR}`` references.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from flext_plugin_gruponos.config import GrupoNosConfig, OracleTarget

__all__ = ["TAP", "TARGET", "TARGETS", "definition", "render"]

TAP: Final = "tap-oracle-wms"
"""The Singer tap the pipelines extract with (flext-tap-oracle-wms)."""
TARGET: Final = "target-postgres"
"""The Singer target of ``kind: postgres`` (MeltanoLabs' target-postgres, ``flext data targets add``)."""
TARGETS: Final = {"postgres": TARGET, "oracle": "target-oracle"}
"""The Singer target of each ``target.kind`` (``target-oracle``: the flext-target-oracle distribution)."""
_HEADER: Final = (
    "# Written by 'flext gruponos pipeline deploy' from gruponos.yaml: edit that file and deploy again,\n"
    "# not this one (the next deploy replaces it).\n"
)


def _variable(reference: str) -> str:
    return "${" + reference.removeprefix("env:") + "}"


def _tap_config(config: GrupoNosConfig) -> dict[str, Any]:
    wms = config.wms
    settings: dict[str, Any] = {"base_url": wms.base_url, "auth_method": wms.auth_method}
    if wms.auth_method == "basic":
        settings["username"] = wms.username
        settings["password"] = _variable(wms.password or "")
    else:
        settings["oauth_token_url"] = wms.oauth_token_url
        settings["client_id"] = wms.client_id
        settings["client_secret"] = _variable(wms.client_secret or "")
        if wms.oauth_scope:
            settings["oauth_scope"] = wms.oauth_scope
    settings["entities"] = list(wms.entities)
    settings["page_size"] = wms.page_size
    if wms.page_concurrency > 1:  # left out at 1, so a deploy from an older file changes nothing
        settings["page_concurrency"] = wms.page_concurrency
    if wms.start_date:
        settings["start_date"] = wms.start_date
    return settings


def _target_config(config: GrupoNosConfig) -> dict[str, Any]:
    target = config.target
    if isinstance(target, OracleTarget):
        return _oracle_config(target)
    settings: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "user": target.user,
        "database": target.database,
        "default_target_schema": target.schema_name,
        "add_record_metadata": True,  # the _sdc_ columns: when each row was extracted and loaded
    }
    # target-postgres wants a password even for a server that trusts the connection: "" then.
    settings["password"] = _variable(target.password) if target.password else ""
    return settings


def _oracle_config(target: OracleTarget) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "user": target.user,
        "service_name": target.service_name,
        "add_record_metadata": True,
    }
    if target.password:
        settings["password"] = _variable(target.password)
    if target.schema_name:
        settings["default_target_schema"] = target.schema_name
    return settings


def definition(config: GrupoNosConfig) -> dict[str, Any]:
    """The deployment's pipeline, as ``flext pipeline create`` reads it."""
    return {
        "name": config.pipeline,
        "description": f"GrupoNos: Oracle WMS facility {config.wms.facility} of {config.wms.company}",
        "extract": {"name": TAP, "config": _tap_config(config)},
        "load": {"name": TARGETS[config.target.kind], "config": _target_config(config)},
        "retry": {"attempts": config.retry_attempts, "backoff": 30},
    }


def render(definition: dict[str, Any]) -> str:
    """A definition as the YAML file deploy writes (and diffs against the last deployed one)."""
    return _HEADER + yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100)
