"""The span tree of a real pipeline run: LDIF -> SQLite through the real ``flext`` CLI in a subprocess.

The CLI runs with the ``memory`` exporter and writes what it recorded to a
JSON-lines file when its kernel closes; the test reads the tree back from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from flext_plugin_ldif.sample import write_directory

from flext_sdk.testing import FlextCliRunner

pytestmark = pytest.mark.slow

CORRELATION_ID = "trace-test-0001"


def _definition(folder: Path, name: str, ldif: Path) -> Path:
    body = {
        "name": name,
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},
        "load": {"name": "target-sqlite", "config": {"database": str(folder / f"{name}.db")}},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def _recorded(path: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    spans: list[dict[str, Any]] = []
    metrics: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["kind"] == "span":
            spans.append(item)
        else:
            metrics[item["name"]] = item["points"]
    return spans, metrics


def test_a_pipeline_run_is_a_span_tree_with_its_step_and_appends(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=12, groups=3, ous=2)
    created = flext_cli("data", "pipeline", "create", str(_definition(tmp_path, "traced", ldif)))
    assert created.exit_code == 0, created.stderr
    recorded = tmp_path / "telemetry.jsonl"
    env = {
        "FLEXT_TELEMETRY_EXPORTER": "memory",
        "FLEXT_TELEMETRY_MEMORY_FILE": str(recorded),
        "FLEXT_CORRELATION_ID": CORRELATION_ID,
    }
    run = flext_cli("--output", "json", "pipeline", "run", "traced", "--no-retry", env=env)
    assert run.exit_code == 0, run.stderr
    loaded: dict[str, int] = run.json()["data"]["records"]
    spans, metrics = _recorded(recorded)

    [root] = [span for span in spans if span["name"] == "pipeline.run traced"]
    assert root["status"] == "UNSET"
    assert root["attributes"]["flext.pipeline"] == "traced"
    assert root["attributes"]["flext.run.outcome"] == "completed"
    assert root["attributes"]["flext.records"] == sum(loaded.values())
    children = [span for span in spans if span["parent_id"] == root["span_id"]]
    assert {span["trace_id"] for span in children} == {root["trace_id"]}
    [step] = [span for span in children if span["name"] == "pipeline.step extract-load"]
    assert step["start"] == root["start"]
    assert root["start"] < step["end"] <= root["end"]
    assert {
        k.removeprefix("flext.records."): v for k, v in step["attributes"].items() if "records." in k
    } == loaded
    # What the run appended while it ran (its end among them) nests under it.
    appends = [span for span in children if span["name"] == "eventstore.append"]
    assert appends
    assert all(span["attributes"]["flext.stream_id"] == "pipeline-traced" for span in appends)

    correlated = [root, step, *appends]
    ids = [span["attributes"].get("flext.correlation_id") for span in correlated]
    assert ids == [CORRELATION_ID] * len(correlated)
    # The run's log lines, in the log store, carry the same id as its spans (issue 18, "Done when").
    found = flext_cli("--output", "json", "logs", "search", "traced", "--correlation-id", CORRELATION_ID)
    assert found.exit_code == 0, found.stderr
    lines = found.json()["data"]
    assert lines, found.stdout
    assert {line["correlation_id"] for line in lines} == {CORRELATION_ID}
    assert {line["pipeline"] for line in lines} == {"traced"}

    [runs] = metrics["flext.pipeline.runs"]
    assert (runs["attributes"], runs["value"]) == ({"pipeline": "traced", "outcome": "completed"}, 1)
    by_stream = {p["attributes"]["stream"]: p["value"] for p in metrics["flext.pipeline.records"]}
    assert by_stream == loaded
    [duration] = metrics["flext.pipeline.run.duration"]
    assert duration["count"] == 1
    assert duration["sum"] == pytest.approx((root["end"] - root["start"]) / 1e9)
    assert sum(p["count"] for p in metrics["flext.eventstore.append.duration"]) >= len(appends)
    started = {p["attributes"]["plugin"] for p in metrics["flext.plugin.startup.duration"]}
    assert "observability" in started


def test_telemetry_off_writes_nothing_and_the_run_is_unchanged(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=3, groups=1, ous=1)
    assert flext_cli("data", "pipeline", "create", str(_definition(tmp_path, "quiet", ldif))).exit_code == 0
    recorded = tmp_path / "telemetry.jsonl"
    env = {"FLEXT_TELEMETRY_EXPORTER": "none", "FLEXT_TELEMETRY_MEMORY_FILE": str(recorded)}
    run = flext_cli("--output", "json", "pipeline", "run", "quiet", "--no-retry", env=env)
    assert run.exit_code == 0, run.stderr
    assert sum(run.json()["data"]["records"].values()) > 0
    assert not recorded.exists()


def test_a_failed_run_is_an_error_span_with_its_code_and_counted_as_failed(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=3, groups=1, ous=1)
    definition = _definition(tmp_path, "broken", ldif)
    body = yaml.safe_load(definition.read_text(encoding="utf-8"))
    body["load"]["config"]["database"] = "/proc/no-such-dir/broken.db"  # the target cannot create it
    definition.write_text(yaml.safe_dump(body), encoding="utf-8")
    assert flext_cli("data", "pipeline", "create", str(definition)).exit_code == 0
    recorded = tmp_path / "telemetry.jsonl"
    env = {"FLEXT_TELEMETRY_EXPORTER": "memory", "FLEXT_TELEMETRY_MEMORY_FILE": str(recorded)}
    run = flext_cli("--output", "json", "pipeline", "run", "broken", "--no-retry", env=env)
    assert run.exit_code == 1
    code = run.json()["code"]
    spans, metrics = _recorded(recorded)
    [root] = [span for span in spans if span["name"] == "pipeline.run broken"]
    assert root["status"] == "ERROR"
    assert root["attributes"]["flext.run.outcome"] == "failed"
    assert root["attributes"]["flext.error_code"] == code
    assert root["attributes"]["flext.run.will_retry"] is False
    assert [span["name"] for span in spans if span["parent_id"] == root["span_id"]].count(
        "pipeline.step extract-load"
    ) == 1
    [runs] = metrics["flext.pipeline.runs"]
    assert runs["attributes"] == {"pipeline": "broken", "outcome": "failed"}
