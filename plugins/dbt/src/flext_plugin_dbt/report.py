"""What one dbt invocation did: ``DbtReport`` and its ``NodeResult`` rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["COMMANDS", "FAILED_STATUSES", "DbtCommand", "DbtReport", "NodeResult", "one_line"]

DbtCommand = Literal["run", "build", "test", "docs", "show", "seed", "deps"]
"""The dbt commands flext runs; ``docs`` is ``dbt docs generate``."""

COMMANDS: Final[tuple[DbtCommand, ...]] = ("run", "build", "test", "docs", "show", "seed", "deps")
"""Every ``DbtCommand``, in the order the docs list them."""

FAILED_STATUSES: Final = frozenset({"error", "fail", "runtime error", "partial success"})
"""Node statuses that make an invocation fail (``warn`` and ``skipped`` do not by themselves)."""


def one_line(text: str) -> str:
    """A multi-line dbt message as one line: ``"<first line>: <second>; <third>"``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    return f"{lines[0].rstrip(':')}: {'; '.join(lines[1:])}"


class NodeResult(BaseModel):
    """One finished dbt node: a model, test, seed or snapshot."""

    model_config = ConfigDict(frozen=True)

    unique_id: str
    """dbt's id of the node: ``model.directory.group_membership``."""
    resource_type: str
    """``model``, ``test``, ``seed``, ``snapshot``, ..."""
    name: str
    """The node's name: ``group_membership``."""
    status: str
    """``success``, ``error``, ``skipped`` for models; ``pass``, ``fail``, ``warn`` for tests."""
    execution_time: float = 0.0
    """Seconds the node took."""
    message: str | None = None
    """dbt's message: ``OK``, the database error, ``Got 2 results, configured to fail if != 0``."""
    rows_affected: int | None = None
    """Rows the adapter reported as written, when it reports any."""
    failures: int | None = None
    """For tests: how many rows failed the test."""

    @property
    def failed(self) -> bool:
        """True if the node failed (an error, a failing test)."""
        return self.status in FAILED_STATUSES


class DbtReport(BaseModel):
    """The outcome of one dbt invocation that ran (its nodes may still have failed)."""

    model_config = ConfigDict(frozen=True)

    command: DbtCommand
    """What ran: ``run``, ``build``, ``test``, ``docs`` (generate), ``show``, ``seed``, ``deps``."""
    project: str
    """The project's name (``name`` in ``dbt_project.yml``)."""
    project_dir: Path
    """The project's directory, absolute."""
    target: str | None
    """The profile target dbt used (None: the profile's default, not known)."""
    adapter: str
    """The profile's adapter type: ``sqlite``, ``duckdb``, ``postgres``."""
    artifacts_dir: Path
    """Where dbt wrote its artifacts (``run_results.json``, the docs): the project's target path."""
    success: bool
    """True if dbt succeeded and no node failed."""
    elapsed: float
    """Seconds dbt took, start-up included."""
    dbt_version: str
    """The version of dbt-core that ran."""
    nodes: tuple[NodeResult, ...] = ()
    """Every finished node, in the order dbt finished them."""
    columns: tuple[str, ...] = ()
    """For ``show``: the preview's columns."""
    rows: tuple[dict[str, Any], ...] = ()
    """For ``show``: the preview's rows (at most ``limit``)."""

    @property
    def failed_nodes(self) -> tuple[NodeResult, ...]:
        """The nodes that failed."""
        return tuple(node for node in self.nodes if node.failed)

    def failure_message(self) -> str:
        """One line saying what failed: the first failed node's message, and how many more failed."""
        failed = self.failed_nodes
        if not failed:
            return f"dbt {self.command} did not succeed; see dbt's log in {self.project_dir / 'logs'}"
        first = failed[0]
        detail = one_line(first.message or first.status)
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return (
            f"dbt {self.command}: {len(failed)} of {len(self.nodes)} nodes failed: "
            f"{first.resource_type} {first.name}: {detail}{more}"
        )
