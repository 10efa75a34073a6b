"""The domain events of dbt invocations, and appending them to the event store.

Each invocation of a project is one event in the stream ``dbt-<project name>``
(``flext events show dbt-directory``):

- ``DbtInvocationCompleted``: dbt ran; ``success`` says whether every node
  did (a failing test is a completed invocation that did not succeed);
- ``DbtInvocationFailed``: dbt could not run (an unknown adapter, a failed
  install, a compilation error), with the one-line error and its code.

Invocations that never reached a project (no such directory, no
``dbt_project.yml``) have no stream to go to and are not recorded. Preview
rows of ``dbt show`` are never stored: they are warehouse data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from flext_kernel.correlation import current_correlation_id, new_correlation_id
from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import FlextResult
from flext_plugin_dbt.report import DbtReport, NodeResult

if TYPE_CHECKING:
    from flext_eventsourcing import AppendResult, FlextEventStore

__all__ = [
    "OWNER",
    "DbtInvocationCompleted",
    "DbtInvocationFailed",
    "record_invocation",
    "register_events",
    "stream_id",
]

OWNER = "dbt"
"""The owner the event classes are registered under (the plugin's name)."""
_AGGREGATE = "dbt.Project"


class DbtInvocationCompleted(FlextDomainEvent):
    """dbt ran a command on a project; ``success`` is False if a node failed."""

    message_type: ClassVar[str | None] = "dbt.InvocationCompleted"

    command: str
    """``run``, ``build``, ``test``, ``docs``, ``show``, ``seed`` or ``deps``."""
    project: str
    """The project's name."""
    project_dir: str
    """The project's directory."""
    target: str | None = None
    """The profile target."""
    adapter: str
    """The profile's adapter type."""
    select: tuple[str, ...] = ()
    """The ``--select`` selectors."""
    success: bool
    """True if every node succeeded."""
    elapsed: float
    """Seconds dbt took."""
    dbt_version: str
    """The dbt-core version that ran."""
    nodes: tuple[NodeResult, ...] = ()
    """Every finished node with its status, time and message."""


class DbtInvocationFailed(FlextDomainEvent):
    """dbt could not run a command on a project."""

    message_type: ClassVar[str | None] = "dbt.InvocationFailed"

    command: str
    """The command that was asked for."""
    project: str
    """The project's name."""
    project_dir: str
    """The project's directory."""
    select: tuple[str, ...] = ()
    """The ``--select`` selectors."""
    error: str
    """The one-line error."""
    code: str | None = None
    """Its error code (``DBT_COMPILE_ERROR``, ``TOOL_INSTALL_FAILED``, ...)."""


def stream_id(project: str) -> str:
    """The stream of a project's invocations: ``dbt-<project>``."""
    return f"dbt-{project}"


def register_events(store: FlextEventStore) -> None:
    """Teach ``store``'s codec the dbt event classes, so reads return them rather than ``UnknownEvent``."""
    for event_class in (DbtInvocationCompleted, DbtInvocationFailed):
        store.codec.register(event_class, owner=OWNER)


def _event(
    command: str, outcome: FlextResult[DbtReport], select: tuple[str, ...], correlation_id: str
) -> FlextDomainEvent | None:
    if outcome.is_success:
        report = outcome.value
        return DbtInvocationCompleted(
            aggregate_id=stream_id(report.project),
            command=command,
            project=report.project,
            project_dir=str(report.project_dir),
            target=report.target,
            adapter=report.adapter,
            select=select,
            success=report.success,
            elapsed=report.elapsed,
            dbt_version=report.dbt_version,
            nodes=report.nodes,
            aggregate_type=_AGGREGATE,
            correlation_id=correlation_id,
            metadata={"plugin": OWNER},
        )
    project = outcome.error_data.get("project")
    if not isinstance(project, str):
        return None
    return DbtInvocationFailed(
        aggregate_id=stream_id(project),
        command=command,
        project=project,
        project_dir=str(outcome.error_data.get("project_dir", "")),
        select=select,
        error=outcome.error or "failed",
        code=outcome.error_code,
        aggregate_type=_AGGREGATE,
        correlation_id=correlation_id,
        metadata={"plugin": OWNER},
    )


def record_invocation(
    store: FlextEventStore,
    command: str,
    outcome: FlextResult[DbtReport],
    *,
    select: Sequence[str] = (),
    correlation_id: str | None = None,
) -> FlextResult[AppendResult | None]:
    """Append the event of one ``run_dbt`` outcome to its project's stream.

    Args:
        store: The event store.
        command: The dbt command that was run.
        outcome: What ``run_dbt`` returned.
        select: The selectors it was given.
        correlation_id: The action it belongs to; default the one in force (``flext_kernel.correlation``),
            else a new id.

    Returns:
        The append's result; ``ok(None)`` if the outcome names no project (nothing to record).

    """
    register_events(store)
    correlation_id = correlation_id or current_correlation_id() or new_correlation_id()
    event = _event(command, outcome, tuple(select), correlation_id)
    if event is None:
        return FlextResult.ok(None)
    from flext_eventsourcing import ANY

    appended = store.append(event.aggregate_id, [event], ANY)
    if appended.is_failure:
        return FlextResult.fail(appended.error or "append failed", appended.error_code, appended.error_data)
    return FlextResult.ok(appended.value)
