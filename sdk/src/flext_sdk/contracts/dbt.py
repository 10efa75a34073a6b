"""The dbt plugin's contract: the ``RunDbt`` command and the ``DbtReport`` it answers.

A plugin that needs a dbt project run (the pipeline's transform step)
dispatches ``RunDbt`` on the command bus; the ``dbt`` plugin handles it. The
caller checks first with ``require_handler(kernel, RunDbt, why=...)``, which
says whether the dbt plugin is disabled or not installed.

The handler answers ``FlextResult[DbtReport]``: the report of a run that
happened (``success`` False if a node failed), or a failure if dbt could not
run (codes in the dbt plugin's ``errors`` module and ``docs/plugins/dbt.md``),
or ``INTERRUPTED`` when the caller set the command's ``cancel`` event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, JsonValue
from pydantic.json_schema import SkipJsonSchema

from flext_kernel.messages import FlextCommand
from flext_sdk.contracts._providers import provided_by

__all__ = ["COMMANDS", "FAILED_STATUSES", "DbtCommand", "DbtReport", "NodeResult", "RunDbt", "one_line"]

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


@provided_by("dbt", distribution="flext-plugin-dbt")
class RunDbt(FlextCommand):
    """Run one dbt command on a project, in dbt's own environment; answered with a ``DbtReport``."""

    model_config = ConfigDict(defer_build=True)  # built on first use, not when a kernel boots

    project_dir: Path
    """The dbt project (the directory holding ``dbt_project.yml``)."""
    command: DbtCommand = "build"
    """``run``, ``build``, ``test``, ``docs`` (``dbt docs generate``), ``show``, ``seed`` or ``deps``."""
    select: tuple[str, ...] = ()
    """dbt selectors (``--select``); ``show`` needs exactly the model to preview."""
    target: str | None = None
    """The profile target; default the profile's own ``target``."""
    profiles_dir: Path | None = None
    """Where ``profiles.yml`` is; default the project directory if it holds one, else dbt's default."""
    vars: dict[str, JsonValue] | None = None  # dbt's own name for the option
    """dbt ``--vars``."""
    full_refresh: bool = False
    """``--full-refresh`` (``run``, ``build`` and ``seed`` only)."""
    limit: int | None = None
    """For ``show``: how many rows to preview."""
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    """Extra environment for dbt (secrets ``profiles.yml`` reads with ``env_var``); never printed: left out
    of ``repr``, which is what ``LoggingBehavior(log_fields=True)`` logs (serialized, it is kept: the
    handler needs it)."""
    log: SkipJsonSchema[Callable[[str], None] | None] = Field(default=None, exclude=True, repr=False)
    """Called with each of dbt's log lines as dbt writes them. In-process only: it is not serialized,
    so a command that crossed a process boundary runs without it."""
    cancel: SkipJsonSchema[InstanceOf[threading.Event] | None] = Field(default=None, exclude=True, repr=False)
    """Set it (from any thread, a signal handler included) to stop dbt: the handler interrupts dbt as
    Ctrl-C does (dbt cancels its open queries), kills it if it is still there a few seconds later,
    and answers ``INTERRUPTED``. In-process only, like ``log``."""


class NodeResult(BaseModel):
    """One finished dbt node: a model, test, seed or snapshot."""

    model_config = ConfigDict(frozen=True, defer_build=True)

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

    model_config = ConfigDict(frozen=True, defer_build=True)

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
