"""``${secret:NAME}`` in a pipeline's configs: resolved once before the run, filled in only when handed over.

A tap's, mapper's or target's config, and the dbt step's ``env``, may name a
secret of the secrets plugin as ``${secret:NAME}``. The pipeline never
imports that plugin: ``resolve`` asks ``flext_sdk.contracts.secrets`` (the
``ResolveSecret`` query) for every name the definition uses, before the
run takes its lock or records anything, so a missing secret stops the job
with ``SECRET_NOT_FOUND`` naming it and nothing written, and a pipeline
without references needs no secrets plugin.

The values stay in this process's memory: ``fill`` puts them into a config
at the moment it is handed to its process (the Singer engine writes each
connector's config to a 0600 file in a private directory; the dbt plugin
passes ``env`` to dbt alone), never into an argument list, the environment
of another process, the definition or an event. The SDK registered every
value with ``flext_sdk.redaction``; the run's ``Masker`` gets them too
(``runner``), so the run's log, events and outputs hide them.

``${VAR}`` is filled first, then ``${secret:NAME}``: a secret's value is
never read for ``${...}`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from flext_plugin_pipeline.errors import SECRET_NOT_FOUND
from flext_sdk import FlextResult
from flext_sdk.contracts.secrets import REFERENCE, references_in, resolve_references

if TYPE_CHECKING:
    from flext_plugin_pipeline.definition import PipelineDefinition
    from flext_sdk import FlextKernel

__all__ = ["BAD_INPUT_CODES", "fill", "resolve"]

BAD_INPUT_CODES: Final = frozenset({SECRET_NOT_FOUND})
"""Failures of ``resolve`` that are the user's input (exit 2), besides the kernel's own usage codes."""


def _configs(definition: PipelineDefinition) -> list[Any]:
    return [
        definition.extract.config,
        definition.load.config,
        [mapper.config for mapper in definition.mappers],
        definition.transform.env if definition.transform else {},
    ]


def resolve(kernel: FlextKernel, definition: PipelineDefinition) -> FlextResult[dict[str, str]]:
    """Every secret the definition names, by name (empty without references; no plugin asked then)."""
    names = references_in(_configs(definition))
    if names.is_failure:
        return FlextResult.fail(names.error or "", names.error_code, names.error_data)
    if not names.value:
        return FlextResult.ok({})
    wanted = {name: f"${{secret:{name}}}" for name in sorted(names.value)}
    resolved = resolve_references(kernel, wanted)
    if resolved.is_failure:
        return FlextResult.fail(
            f"pipeline {definition.name!r}: {resolved.error}", resolved.error_code, resolved.error_data
        )
    filled, _values = resolved.value
    return FlextResult.ok(dict(filled))


def fill(config: Any, secrets: Mapping[str, str]) -> Any:
    """``config`` with each ``${secret:NAME}`` replaced by its value (names ``resolve`` found)."""
    if not secrets:
        return config
    if isinstance(config, str):
        return REFERENCE.sub(lambda match: secrets.get(match.group(1), match.group(0)), config)
    if isinstance(config, Mapping):
        return {fill(key, secrets): fill(value, secrets) for key, value in config.items()}
    if isinstance(config, list | tuple):
        return [fill(value, secrets) for value in config]
    return config
