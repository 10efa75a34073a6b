"""``flext data dbt ...``: run a dbt project, show what its nodes did, record the invocation.

Each command is thin: it parses the options, calls ``run_dbt``, appends the
invocation to the event store (stream ``dbt-<project>``) and prints the
report. dbt's own log lines go to stderr as dbt writes them (not with
``--quiet`` or ``--output json|yaml``; its debug noise only with
``--debug``); the results are a table of models and a count of tests, or with
``--output json`` the report as ``{"ok": true, "data": {...}}`` (``"ok":
false`` with the same ``data``, an ``error`` and a ``code`` when a node
failed).

Exit codes: 0 when every node succeeded, 1 when a node failed or dbt could
not run, 2 for bad input (no project, no ``dbt_project.yml``, an unknown
adapter, ``--vars`` that is not a JSON object).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

from flext_kernel.errors import VALIDATION_ERROR
from flext_sdk import FlextResult
from flext_sdk.cli import EXIT_FAILED, EXIT_OK, boot_kernel, current, emit, emit_error, emit_table, fail, note

if TYPE_CHECKING:
    from flext_eventsourcing import AppendResult
    from flext_plugin_dbt.report import DbtCommand, DbtReport, NodeResult

__all__ = ["dbt_build", "dbt_docs", "dbt_run", "dbt_show", "dbt_test"]

Selectors = Annotated[tuple[str, ...], Parameter(negative_iterable=())]
"""``--select`` (repeatable), without cyclopts' ``--empty-select``."""
Flag = Annotated[bool, Parameter(negative="")]
"""A ``--flag`` without a ``--no-flag``."""

_INSTALL_HINT = "check that the package index is reachable, then run the command again"


def dbt_run(
    project: Path,
    *,
    select: Selectors = (),
    target: str | None = None,
    profiles_dir: Path | None = None,
    vars: str | None = None,  # dbt's own name for the option, though a builtin
    full_refresh: Flag = False,
) -> int:
    """Run the project's models (dbt run).

    Args:
        project: The dbt project directory (holding dbt_project.yml).
        select: dbt selector of the nodes to run (repeatable).
        target: The profile target; default the profile's own.
        profiles_dir: Where profiles.yml is; default the project if it has one, else dbt's default.
        vars: dbt variables, as a JSON object.
        full_refresh: Rebuild incremental models from scratch.

    """
    return _invoke("run", project, select, target, profiles_dir, vars, full_refresh=full_refresh)


def dbt_build(
    project: Path,
    *,
    select: Selectors = (),
    target: str | None = None,
    profiles_dir: Path | None = None,
    vars: str | None = None,  # dbt's own name for the option, though a builtin
    full_refresh: Flag = False,
) -> int:
    """Run seeds, models, snapshots and tests in dependency order (dbt build).

    Args:
        project: The dbt project directory (holding dbt_project.yml).
        select: dbt selector of the nodes to build (repeatable).
        target: The profile target; default the profile's own.
        profiles_dir: Where profiles.yml is; default the project if it has one, else dbt's default.
        vars: dbt variables, as a JSON object.
        full_refresh: Rebuild incremental models from scratch.

    """
    return _invoke("build", project, select, target, profiles_dir, vars, full_refresh=full_refresh)


def dbt_test(
    project: Path,
    *,
    select: Selectors = (),
    target: str | None = None,
    profiles_dir: Path | None = None,
    vars: str | None = None,  # dbt's own name for the option, though a builtin
) -> int:
    """Run the project's data tests (dbt test); exit code 1 if one fails.

    Args:
        project: The dbt project directory (holding dbt_project.yml).
        select: dbt selector of the tests, or of the models whose tests run (repeatable).
        target: The profile target; default the profile's own.
        profiles_dir: Where profiles.yml is; default the project if it has one, else dbt's default.
        vars: dbt variables, as a JSON object.

    """
    return _invoke("test", project, select, target, profiles_dir, vars)


def dbt_docs(
    project: Path,
    *,
    select: Selectors = (),
    target: str | None = None,
    profiles_dir: Path | None = None,
    vars: str | None = None,  # dbt's own name for the option, though a builtin
) -> int:
    """Generate the project's documentation site and catalog (dbt docs generate).

    Args:
        project: The dbt project directory (holding dbt_project.yml).
        select: dbt selector of the nodes to document (repeatable).
        target: The profile target; default the profile's own.
        profiles_dir: Where profiles.yml is; default the project if it has one, else dbt's default.
        vars: dbt variables, as a JSON object.

    """
    return _invoke("docs", project, select, target, profiles_dir, vars)


def dbt_show(
    project: Path,
    *,
    select: str,
    limit: int | None = None,
    target: str | None = None,
    profiles_dir: Path | None = None,
    vars: str | None = None,  # dbt's own name for the option, though a builtin
) -> int:
    """Preview the rows of one model without writing anything (dbt show).

    Args:
        project: The dbt project directory (holding dbt_project.yml).
        select: The model to preview.
        limit: How many rows; default dbt's (5).
        target: The profile target; default the profile's own.
        profiles_dir: Where profiles.yml is; default the project if it has one, else dbt's default.
        vars: dbt variables, as a JSON object.

    """
    return _invoke("show", project, (select,), target, profiles_dir, vars, limit=limit)


def _invoke(
    command: DbtCommand,
    project: Path,
    select: Sequence[str],
    target: str | None,
    profiles_dir: Path | None,
    vars_json: str | None,
    *,
    full_refresh: bool = False,
    limit: int | None = None,
) -> int:
    """Parse, run, record, print; return the exit code."""
    variables = _parse_vars(vars_json)
    if variables.is_failure:
        return fail(variables)
    from flext_plugin_dbt.runner import run_dbt

    outcome = run_dbt(
        project,
        command,
        profiles_dir=profiles_dir,
        target=target,
        select=select,
        vars=variables.value,
        full_refresh=full_refresh,
        limit=limit,
        log=note,
        debug_log=note if current().debug else None,  # dbt's debug noise only with --debug
    )
    recorded = _record(command, outcome, select)
    if outcome.is_failure:
        if recorded.is_failure:
            note(f"warning: the failure was not recorded in the event store: {recorded.error}")
        return fail(outcome, hint=_hint(outcome))
    return _show_report(outcome.value, recorded)


def _parse_vars(text: str | None) -> FlextResult[Mapping[str, object] | None]:
    if text is None:
        return FlextResult.ok(None)
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        return FlextResult.fail(f"--vars is not JSON: {exc}", VALIDATION_ERROR)
    if not isinstance(parsed, dict):
        return FlextResult.fail(
            '--vars must be a JSON object, like {"since": "2024-01-01"}', VALIDATION_ERROR
        )
    return FlextResult.ok(parsed)


def _record(
    command: DbtCommand, outcome: FlextResult[DbtReport], select: Sequence[str]
) -> FlextResult[AppendResult | None]:
    """Append the invocation to the event store (nothing if it never reached a project)."""
    if outcome.is_failure and "project" not in outcome.error_data:
        return FlextResult.ok(None)
    from flext_eventsourcing import stores_of
    from flext_plugin_dbt.events import record_invocation

    booted = boot_kernel()
    if booted.is_failure:
        return FlextResult.fail(booted.error or "boot failed", booted.error_code)
    with booted.value as kernel:
        opened = stores_of(kernel).flat_map(lambda stores: stores.open_event_store())
        if opened.is_failure:
            return FlextResult.fail(opened.error or "cannot open the event store", opened.error_code)
        try:
            return record_invocation(opened.value, command, outcome, select=select)
        finally:
            opened.value.close()


def _hint(outcome: FlextResult[Any]) -> str | None:
    from flext_plugin_dbt.errors import DBT_COMPILE_ERROR, DBT_CONFIG_ERROR, DBT_ERROR
    from flext_sdk.errors import TOOL_INSTALL_FAILED

    project_dir = outcome.error_data.get("project_dir")
    if outcome.error_code == TOOL_INSTALL_FAILED:
        return _INSTALL_HINT
    if outcome.error_code == DBT_CONFIG_ERROR:
        return "profiles.yml reads paths and secrets from environment variables: set the one named above"
    unopened = "unable to open database file" in (outcome.error or "")
    if unopened and outcome.error_data.get("adapter") == "sqlite":
        return (
            "dbt-sqlite cannot open a file profiles.yml names: check that its directory exists "
            "(a path read with env_var must be absolute)"
        )
    if outcome.error_code in (DBT_COMPILE_ERROR, DBT_ERROR) and project_dir:
        return f"dbt's log is {Path(str(project_dir)) / 'logs' / 'dbt.log'}"
    return None


def _show_report(report: DbtReport, recorded: FlextResult[AppendResult | None]) -> int:
    """Print the report; exit 1 if a node failed or the invocation could not be recorded."""
    from flext_plugin_dbt.errors import DBT_NODES_FAILED
    from flext_plugin_dbt.events import stream_id

    unrecorded = f"dbt ran, but the event store did not record it: {recorded.error}"
    problem: tuple[str, str | None] | None = None
    hint: str | None = None
    if not report.success:
        if recorded.is_failure:
            note(f"warning: {unrecorded}")
        problem = (report.failure_message(), DBT_NODES_FAILED)
        hint = f"dbt's log is {report.project_dir / 'logs' / 'dbt.log'}"
    elif recorded.is_failure:
        problem = (unrecorded, recorded.error_code)
    if current().output != "table":
        data = report.model_dump(mode="json")
        if problem is None:
            return emit(data)
        _machine({"ok": False, "error": problem[0], "code": problem[1], "data": data})
        return EXIT_FAILED
    _print_human(report)
    if problem is not None:
        return emit_error(problem[0], problem[1], hint=hint)
    if recorded.value is not None:
        note(f"recorded: flext events show {stream_id(report.project)}")
    return EXIT_OK


def _print_human(report: DbtReport) -> None:
    from flext_plugin_dbt.report import one_line

    title = f"dbt {report.command}: {report.project} ({report.elapsed:.1f}s, dbt {report.dbt_version})"
    if report.command == "show":
        _table(report.rows, report.columns, title=f"{title}, first {len(report.rows)} rows")
        return
    if report.command == "docs":
        print(f"docs generated in {report.artifacts_dir} (index.html, catalog.json, manifest.json)")
        return
    if report.command == "deps" or not report.nodes:
        print(f"{title}: nothing to run" if report.command != "deps" else f"{title}: packages installed")
        return
    built = [node for node in report.nodes if node.resource_type != "test"]
    tests = [node for node in report.nodes if node.resource_type == "test"]
    if built:
        rows = [
            {
                "node": node.name,
                "status": node.status,
                "rows": node.rows_affected,
                "seconds": f"{node.execution_time:.2f}",
            }
            for node in built
        ]
        _table(rows, ["node", "status", "rows", "seconds"], title=title)
    else:
        print(title)
    if tests:
        print(_tests_line(tests))
    for node in report.nodes:
        if node.failed or node.status == "warn":
            print(f"{node.status}: {node.resource_type} {node.name}: {one_line(node.message or '')}")


_TEST_OUTCOMES = {
    "pass": "passed",
    "fail": "failed",
    "warn": "warned",
    "error": "errored",
    "skipped": "skipped",
}


def _tests_line(tests: Sequence[NodeResult]) -> str:
    """``tests: 18 passed, 1 failed``: tests are counted, not listed (their names run to 90 characters)."""
    counts = Counter(node.status for node in tests)
    return "tests: " + ", ".join(f"{n} {_TEST_OUTCOMES.get(status, status)}" for status, n in counts.items())


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, title: str) -> None:
    """A table, or on a terminal too narrow for it, one block of ``column  value`` lines per row.

    rich would cut a cell without spaces (a DN, a test's name) to fit; a block
    per row keeps every value whole, as psql's expanded display does.
    """
    import shutil

    widths = [max([len(str(column)), *(len(_text(row.get(column))) for row in rows)]) for column in columns]
    needed = sum(widths) + 3 * len(widths) + 1  # rich's borders and padding
    if not sys.stdout.isatty() or needed <= shutil.get_terminal_size().columns:
        emit_table(rows, columns, title=title)
        return
    print(title)
    label = max(len(str(column)) for column in columns)
    for number, row in enumerate(rows, 1):
        print(f"-[ row {number} ]-")
        for column in columns:
            print(f"{str(column).ljust(label)}  {_text(row.get(column))}")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _machine(payload: Mapping[str, Any]) -> None:
    """One machine-readable document on stdout, as ``--output`` asks (a report with a failure)."""
    if current().output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(dict(payload), sort_keys=False))
    else:
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
