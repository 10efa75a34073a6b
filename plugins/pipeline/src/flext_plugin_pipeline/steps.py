"""Check, before anything runs, that every step of a pipeline has a plugin to run it.

A pipeline's steps are run by other plugins, reached through the kernel
only: the Singer steps by the ``SingerEngine`` service the ``singer`` plugin
registers (a requirement of this plugin), the dbt step by the ``RunDbt``
handler of the ``dbt`` plugin (optional: only pipelines with a transform
need it). ``check_steps`` finds all of them up front, so a pipeline whose dbt
plugin is disabled fails before its tap starts, not after loading half of
what it was meant to: with ``PLUGIN_DISABLED`` and how to enable it, or
``NOT_FOUND`` and what to install.

The connectors are found once, here: the runner hands these specs to
``SingerEngine.start`` in the job's steps, so what runs is what was checked
(not whatever a second lookup finds after a connector was installed in
between), and the tools directory and the plugins' hooks are scanned once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flext_sdk import FlextResult
from flext_sdk.contracts import require_handler, require_service
from flext_sdk.contracts.dbt import RunDbt
from flext_sdk.contracts.singer import ConnectorKind, ConnectorSpec, SingerEngine

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
    """The tap, resolved: the run starts exactly this one."""
    target: ConnectorSpec
    """The target, resolved: the run starts exactly this one."""
    mappers: tuple[ConnectorSpec, ...]
    """The mappers, resolved, in the definition's order: the run starts exactly these."""


def check_steps(kernel: FlextKernel, definition: PipelineDefinition) -> FlextResult[Steps]:
    """Find what runs each step of ``definition``; the first step that nothing can run fails it."""
    pipeline = f"pipeline {definition.name!r}"
    found = require_service(kernel, SingerEngine, why=f"{pipeline} runs Singer connectors")
    if found.is_failure:
        return FlextResult.fail(found.error or "", found.error_code, found.error_data)
    singer = found.value
    wanted: list[tuple[str, ConnectorKind]] = [
        (definition.extract.name, "tap"),
        *((mapper.name, "mapper") for mapper in definition.mappers),
        (definition.load.name, "target"),
    ]
    installed = {(spec.name, spec.kind): spec for spec in singer.connectors()}  # one scan for every step
    specs: list[ConnectorSpec] = []
    for name, kind in wanted:
        spec = installed.get((name, kind))
        if spec is None:  # resolve says why (not installed, its plugin disabled or broken)
            resolved = singer.resolve(name, kind)
            if resolved.is_failure:
                return FlextResult.fail(resolved.error or "", resolved.error_code, resolved.error_data)
            spec = resolved.value
        specs.append(spec)
    if definition.transform is not None:
        dbt = require_handler(kernel, RunDbt, why=f"{pipeline} has a dbt transform step")
        if dbt.is_failure:
            return FlextResult.fail(dbt.error or "", dbt.error_code, dbt.error_data)
    return FlextResult.ok(Steps(singer, specs[0], specs[-1], tuple(specs[1:-1])))
