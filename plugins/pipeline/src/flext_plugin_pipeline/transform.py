"""A pipeline's transform step: its dbt project, run by the dbt plugin on what was just loaded.

The pipeline does not import the dbt plugin: it dispatches the contract's
``RunDbt`` command on the command bus, which the ``dbt`` plugin handles
(``steps.check_steps`` made sure a handler is there before the run began).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.correlation import CORRELATION_ENV, current_correlation_id
from flext_kernel.errors import VALIDATION_ERROR
from flext_plugin_pipeline.definition import DbtStep, interpolate
from flext_plugin_pipeline.errors import TRANSFORM_FAILED
from flext_plugin_pipeline.runtime import RunLog
from flext_plugin_pipeline.secret_refs import fill
from flext_sdk import FlextResult
from flext_sdk.contracts.dbt import DbtReport, RunDbt

if TYPE_CHECKING:
    from flext_sdk import FlextCommandBus

__all__ = ["run_transform"]


def run_transform(
    bus: FlextCommandBus,
    step: DbtStep,
    environment: dict[str, str],
    log: RunLog,
    *,
    cancel: threading.Event | None = None,
    secrets: Mapping[str, str] | None = None,
) -> FlextResult[dict[str, Any]]:
    """Run ``dbt <command>`` on the step's project; the result summarises the nodes dbt built and tested.

    Setting ``cancel`` ends dbt (the failure is then ``INTERRUPTED``). ``secrets`` fills
    ``${secret:NAME}`` in the step's ``env`` (handed to dbt alone).
    """
    try:
        env, _filled = interpolate(step.env, environment)  # masked by the run's log since the job began
    except KeyError as missing:
        return FlextResult.fail(
            f"the transform step needs the environment variable {missing.args[0]}",
            error_code=VALIDATION_ERROR,
        )
    env = fill(env, secrets or {})
    correlation_id = current_correlation_id()
    if correlation_id is not None:  # dbt and its adapters run under the action's id, like the Singer steps
        env = {**env, CORRELATION_ENV: correlation_id}
    project = Path(environment["FLEXT_PIPELINE_DIR"]) / step.project
    log.write("flext", f"dbt {step.command} {project}")
    command = RunDbt(
        project_dir=project,
        command=step.command,
        select=tuple(step.select),
        target=step.target,
        env=env,
        log=lambda line: log.write("dbt", line),
        cancel=cancel,
    )
    report: FlextResult[DbtReport] = bus.dispatch(command)
    if report.is_failure:
        return FlextResult.fail(f"dbt {step.command} failed: {report.error}", error_code=report.error_code)
    if not report.value.success:
        failed = [node.name for node in report.value.nodes if node.failed]
        return FlextResult.fail(
            f"dbt {step.command} failed: {', '.join(map(str, failed)) or 'see the log'}",
            error_code=TRANSFORM_FAILED,
        )
    return FlextResult.ok(report.value.model_dump(mode="json"))
