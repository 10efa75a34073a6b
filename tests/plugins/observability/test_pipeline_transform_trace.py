"""The span tree of the README's sample pipeline (examples/directory): LDIF -> SQLite -> dbt.

The transform step is a span of its own after the extract-load step, and the
``RunDbt`` command the run dispatches to the dbt plugin nests under the run
span. dbt is really installed into its own environment (shared between test
runs, as tests/e2e/test_main_job.py does).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flext_sdk.testing import FlextCliRunner

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[3] / "examples" / "directory"
CORRELATION_ID = "sample-run-0001"


def test_the_sample_pipeline_has_a_transform_step_and_its_dbt_dispatch_under_the_run(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    sample = tmp_path / "directory"
    shutil.copytree(EXAMPLE, sample, ignore=shutil.ignore_patterns("output", "target", "logs"))
    created = flext_cli("data", "pipeline", "create", str(sample / "pipeline.yaml"))
    assert created.exit_code == 0, created.stderr
    recorded = tmp_path / "telemetry.jsonl"
    env = {
        "FLEXT_TELEMETRY_EXPORTER": "memory",
        "FLEXT_TELEMETRY_MEMORY_FILE": str(recorded),
        "FLEXT_CORRELATION_ID": CORRELATION_ID,
    }
    run = flext_cli("--output", "json", "pipeline", "run", "directory", env=env)
    assert run.exit_code == 0, run.stderr
    assert run.json()["data"]["status"] == "completed"
    spans = [json.loads(line) for line in recorded.read_text(encoding="utf-8").splitlines()]
    spans = [span for span in spans if span["kind"] == "span"]

    [root] = [span for span in spans if span["name"] == "pipeline.run directory"]
    children = {span["name"]: span for span in spans if span["parent_id"] == root["span_id"]}
    loaded, transform = children["pipeline.step extract-load"], children["pipeline.step transform"]
    assert root["start"] == loaded["start"] < loaded["end"] <= transform["start"] < transform["end"]
    assert transform["end"] == root["end"]
    assert transform["attributes"]["flext.dbt.success"] is True
    [dbt] = [span for span in spans if span["name"].startswith("flext.command ") and "RunDbt" in span["name"]]
    assert dbt["parent_id"] == root["span_id"]
    assert dbt["status"] == "UNSET"
    for span in (root, loaded, transform, dbt):
        assert span["attributes"].get("flext.correlation_id") == CORRELATION_ID, span["name"]
