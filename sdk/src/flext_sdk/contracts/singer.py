"""The singer plugin's contract: Singer connectors, and running a tap into a target.

Both sides import this module, never each other:

- a plugin that ships a tap, target or mapper answers the singer plugin's
  ``flext_singer_connectors`` hook with ``ConnectorSpec`` values;
- a plugin that runs Singer (the pipeline plugin) resolves the
  ``SingerEngine`` service from the container
  (``require_service(kernel, SingerEngine, why=...)``) and calls ``start``
  with a ``SingerJob``.

Running is a service rather than a command on the bus because a run is a
conversation, not one answer: the caller watches live record counts, is
handed each state the target confirms while the run goes on, and may ask
for a graceful stop. The data that crosses (specs, jobs, results) is
pydantic, so it can be logged, stored and checked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from flext_sdk.contracts._providers import provided_by

if TYPE_CHECKING:
    from flext_kernel.result import FlextResult

__all__ = [
    "ConnectorKind",
    "ConnectorSpec",
    "ConnectorStep",
    "RunOutcome",
    "SingerEngine",
    "SingerJob",
    "SingerRun",
    "SingerRunResult",
]

ConnectorKind = Literal["tap", "target", "mapper"]
"""What a Singer executable does: extract (tap), load (target), or rewrite messages between (mapper)."""
RunOutcome = Literal["completed", "failed", "stopped"]
"""How a Singer run ended."""


class ConnectorSpec(BaseModel):
    """A Singer executable: what it is, where it comes from, what it can do.

    A plugin that ships one fills in what it knows (``name``, ``kind``,
    ``executable``, ``description``, ``capabilities``); the singer plugin adds
    where it was found (``source``, ``plugin``, ``location``, ``version``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str = Field(min_length=1)
    """What users call it (``tap-ldif``); pipeline definitions name it."""
    kind: ConnectorKind
    """``tap``, ``target`` or ``mapper``."""
    executable: str = Field(min_length=1)
    """The command it runs: a name found next to flext's Python (a console script), or an absolute path."""
    description: str = ""
    """One line for ``flext data taps list``."""
    capabilities: tuple[str, ...] = ()
    """Singer capabilities (``catalog``, ``discover``, ``state``, ``about``...)."""
    family: str = "third-party"
    """``flext`` for the FLEXT family's own connectors."""
    pip_url: str | None = None
    """What installs it (a PyPI requirement, a path, a VCS URL)."""
    version: str | None = None
    """Installed version (None when only known from the catalog)."""
    source: Literal["catalog", "plugin", "tools"] = "catalog"
    """``plugin``: from a running plugin; ``tools``: in its own environment; ``catalog``: installable."""
    plugin: str | None = None
    """The plugin that provides it (set by the singer plugin for contributed ones, and for catalog entries
    that come with a plugin)."""
    location: str | None = None
    """The installed executable's path."""


class ConnectorStep(BaseModel):
    """One process of a job: the connector's name and its Singer config."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str = Field(min_length=1)
    """The connector (as ``SingerEngine.connectors`` lists it)."""
    config: dict[str, Any] = Field(default_factory=dict, repr=False)
    """Its ``--config`` file's content, values already filled in (secrets included: left out of ``repr``,
    which is what ``LoggingBehavior(log_fields=True)`` logs)."""
    spec: ConnectorSpec | None = None
    """The connector as ``SingerEngine.resolve`` found it; given, ``start`` runs exactly this one
    instead of resolving ``name`` a second time (a caller that checked its steps up front runs what it
    checked, and the tools directory and the plugins' hooks are not scanned again)."""


class SingerJob(BaseModel):
    """What to run: a tap into a target, optionally through mappers."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    tap: ConnectorStep
    """The tap."""
    target: ConnectorStep
    """The target."""
    mappers: tuple[ConnectorStep, ...] = ()
    """Mappers between them, in order."""
    select: tuple[str, ...] = ()
    """Stream selection patterns (``users``, ``users.mail``); empty: what the tap extracts by default."""
    state: dict[str, Any] | None = None
    """The state to resume from (the last one a target confirmed), or None for a full extract."""
    cwd: Path | None = None
    """Working directory of every process (relative paths in configs are relative to it)."""
    env: dict[str, str] | None = Field(default=None, repr=False)
    """Extra environment variables for every process (may hold secrets: left out of ``repr``)."""
    stop_timeout: float = Field(default=30.0, gt=0)
    """Seconds a graceful stop may take before the processes are killed."""


class SingerRunResult(BaseModel):
    """What a run did: outcome, records per stream, the last confirmed state, and why it failed."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    outcome: RunOutcome
    """``completed``, ``failed`` or ``stopped``."""
    records: dict[str, int] = Field(default_factory=dict)
    """Records read from the tap, per stream."""
    elapsed: float = 0.0
    """Seconds the run took."""
    last_state: dict[str, Any] | None = None
    """The last state the target confirmed."""
    error: str | None = None
    """Why it failed, one line."""
    error_code: str | None = None
    """The failure's code (``NOT_FOUND``, ``RUN_FAILED``, ``VALIDATION_ERROR``...)."""
    stderr_tail: dict[str, list[str]] = Field(default_factory=dict)
    """The last stderr lines of each process, by connector name."""
    failed_process: str | None = None
    """The connector whose exit failed the run."""
    first_record_after: float | None = None
    """Seconds from start to the first record."""


@runtime_checkable
class SingerRun(Protocol):
    """A run in progress, as ``SingerEngine.start`` hands it back; it runs in a thread of its own."""

    @property
    def records(self) -> Mapping[str, int]:
        """Records read so far, per stream (a snapshot)."""

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""

    @property
    def process_group(self) -> int | None:
        """The process group of the connectors once they started (to kill them all if one must)."""

    def stop(self) -> None:
        """Ask for a graceful stop (the outcome is then ``stopped``); returns at once, ``wait`` for the end.

        Sets the ``stop`` event the run was started with (its own one if none was given), so a
        caller that leaves early can always end what it started.
        """

    def wait(self, timeout: float | None = None) -> SingerRunResult | None:
        """The result once the run is over; None if ``timeout`` seconds passed first.

        Raises:
            Exception: what the run raised (a bug), raised again here.

        """


@provided_by("singer", distribution="flext-plugin-singer")
@runtime_checkable
class SingerEngine(Protocol):
    """The ``singer`` plugin's service (container key ``SingerEngine``): connectors and runs."""

    def connectors(self, kind: ConnectorKind | None = None) -> list[ConnectorSpec]:
        """Every installed connector (of ``kind``), by name; what ``flext data taps list`` shows."""

    def resolve(self, name: str, kind: ConnectorKind) -> FlextResult[ConnectorSpec]:
        """The installed ``kind`` called ``name``; a failure says how to install or enable it."""

    def start(
        self,
        job: SingerJob,
        *,
        stop: threading.Event | None = None,
        on_state: Callable[[dict[str, Any]], None] | None = None,
        log: Callable[[str, str], None] | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> FlextResult[SingerRun]:
        """Prepare ``job`` (configs, catalog, state) and start its processes.

        Args:
            job: What to run.
            stop: Set it to ask for a graceful stop (the result's outcome is then ``stopped``);
                ``SingerRun.stop()`` sets it too.
            on_state: Called with each state the target confirms, in order, from a reader thread.
            log: Called with ``(connector name, line)`` for every stderr line of every process.
            redact: Applied to each line before ``log`` sees it (mask secrets).

        Returns:
            The running job, or why it could not start (an unknown connector, a select pattern
            that matches nothing, a tap whose discovery failed).

        """
