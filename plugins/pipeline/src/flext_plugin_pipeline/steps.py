"""Check, before anything runs, that every step of a pipeline has a plugin to run it.

A pipeline's steps are run by other plugins, reached through the kernel
only: the Singer steps by the ``SingerEngine`` service the ``singer`` plugin
registers (a requirement of this plugin), the dbt step by the ``RunDbt``
handler of the ``dbt`` plugin (optional: only pipelines with a transform
need it). ``check_steps`` finds all of them up front, so a pipeline whose dbt
plugin is disabled fails before its tap starts, not after loading half of
what it was meant to: with ``PLUGIN_DISABLED`` and how to enable it, or
``NOT_FOUND`` and what to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flext_sdk import FlextResult
from flext_sdk.contracts import require_handler, require_service
from flext_sdk.contracts.dbt import RunDbt
from flext_sdk.contracts.singer import ConnectorSpec, SingerEngine

if TYPE_CHECKING:
    from flext_plugin_pipeline.definition import PipelineDefinition
    from flext_sdk import FlextKernel

__all__ = ["Steps", "check_steps"]


@dataclass(frozen=True)
class Steps:
    """What runs a pipeline's steps, found in the kernel."""

    singer: SingerEngine
    """The singer plugin's service: runs the tap, mappers and target."""
    tap: ConnectorSpec
    """The tap, resolved."""
    target: ConnectorSpec
    """The target, resolved."""
    mappers: tuple[ConnectorSpec, ...]
    """The mappers, resolved, in order."""


def check_steps(kernel: FlextKernel, definition: PipelineDefinition) -> FlextResult[Steps]:
    """Find what runs each step of ``definition``; the first step that nothing can run fails it."""
    pipeline = f"pipeline {definition.name!r}"
    found = require_service(kernel, SingerEngine, why=f"{pipeline} runs Singer connectors")
    if found.is_failure:
        return FlextResult.fail(found.error or "", found.error_code, found.error_data)
    singer = found.value
    tap = singer.resolve(definition.extract.name, "tap")
    mappers = [singer.resolve(mapper.name, "mapper") for mapper in definition.mappers]
    target = singer.resolve(definition.load.name, "target")
    for resolved in (tap, *mappers, target):
        if resolved.is_failure:
            return FlextResult.fail(resolved.error or "", resolved.error_code, resolved.error_data)
    if definition.transform is not None:
        dbt = require_handler(kernel, RunDbt, why=f"{pipeline} has a dbt transform step")
        if dbt.is_failure:
            return FlextResult.fail(dbt.error or "", dbt.error_code, dbt.error_data)
    return FlextResult.ok(Steps(singer, tap.value, target.value, tuple(mapper.value for mapper in mappers)))
