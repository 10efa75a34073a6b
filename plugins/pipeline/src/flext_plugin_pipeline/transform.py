"""A pipeline's transform step: its dbt project, run by the dbt plugin on what was just loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flext_plugin_pipeline.definition import DbtStep, interpolate
from flext_plugin_pipeline.runtime import RunLog
from flext_sdk import FlextResult

__all__ = ["run_transform"]


def run_transform(step: DbtStep, environment: dict[str, str], log: RunLog) -> FlextResult[dict[str, Any]]:
    """Run ``dbt <command>`` on the step's project; the result summarises the nodes dbt built and tested."""
    try:
        from flext_plugin_dbt.runner import run_dbt
    except ImportError:
        return FlextResult.fail(
            "this pipeline has a dbt transform step but the dbt plugin is not installed: "
            "pip install flext-plugin-dbt",
            error_code="NOT_FOUND",
        )
    try:
        env, secrets = interpolate(step.env, environment)
    except KeyError as missing:
        return FlextResult.fail(
            f"the transform step needs the environment variable {missing.args[0]}",
            error_code="VALIDATION_ERROR",
        )
    secrets.discard(environment.get("FLEXT_PIPELINE_DIR", ""))
    log.secrets.update(secrets)
    project = Path(environment["FLEXT_PIPELINE_DIR"]) / step.project
    log.write("flext", f"dbt {step.command} {project}")
    report = run_dbt(
        project,
        step.command,  # type: ignore[arg-type]  # validated by dbt's runner
        select=step.select,
        target=step.target,
        env=env,
        log=lambda line: log.write("dbt", line),
    )
    if report.is_failure:
        return FlextResult.fail(f"dbt {step.command} failed: {report.error}", error_code=report.error_code)
    if not report.value.success:
        failed = [node.name for node in report.value.nodes if node.failed]
        return FlextResult.fail(
            f"dbt {step.command} failed: {', '.join(map(str, failed)) or 'see the log'}",
            error_code="TRANSFORM_FAILED",
        )
    return FlextResult.ok(report.value.model_dump(mode="json"))
