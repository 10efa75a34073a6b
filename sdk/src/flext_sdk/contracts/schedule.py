"""The scheduler plugin's contract: other plugins add cron schedules without importing it.

The meltano plugin turns a Meltano project's ``schedules:`` into FLEXT
schedules by dispatching ``AddSchedule`` on the command bus; the
``scheduler`` plugin handles it exactly as ``flext schedule add`` would
(same name rules, the cron read by croniter in ``timezone``), so a cron that
does not parse is the scheduler's one line naming the schedule
(``VALIDATION_ERROR``). ``require_handler(kernel, AddSchedule, why=...)``
says first whether that plugin is there.

Adding is idempotent for one ``source``: a schedule of the same name that
the same source added with the same definition is left as it is
(``unchanged``); with another definition it is replaced (``replaced``).
A schedule of that name that something else added (``flext schedule add``,
another project) is never touched: ``ALREADY_REGISTERED``. With
``check_only`` nothing is written: the answer says what adding would do, so
a caller checks every schedule before it adds any.

The answer is ``FlextResult[ScheduleAdding]``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, InstanceOf
from pydantic.json_schema import SkipJsonSchema

from flext_eventsourcing import FlextEventStore
from flext_kernel.messages import FlextCommand
from flext_sdk.contracts._providers import provided_by

__all__ = ["AddSchedule", "AddingOutcome", "ScheduleAdding", "ScheduleJobKind"]

ScheduleJobKind = Literal["pipeline", "meltano-job", "command"]
"""What a firing runs: ``flext pipeline run JOB``, ``flext meltano run JOB`` or ``flext JOB``."""
AddingOutcome = Literal["added", "unchanged", "replaced"]
"""What ``AddSchedule`` did (or would do)."""


@provided_by("scheduler", distribution="flext-plugin-scheduler")
class AddSchedule(FlextCommand):
    """Add (or keep, or replace) the schedule ``name``; answered with a ``ScheduleAdding``."""

    model_config = ConfigDict(defer_build=True)

    name: str
    """The schedule's name (1-64 letters, digits, ``_``, ``.``, ``-``)."""
    cron: str
    """When: a cron expression or an ``@hourly``-style preset, read by croniter."""
    job_kind: ScheduleJobKind
    """What a firing runs."""
    job: str
    """The pipeline, the Meltano job, or (``command``) the FLEXT command line after ``flext``."""
    directory: str
    """Where the job runs (a Meltano project's root for its jobs)."""
    source: str = Field(min_length=1)
    """Who adds it (``meltano:/srv/project/meltano.yml``): only the same source may replace it."""
    timezone: str = "UTC"
    """The IANA time zone the expression is read in."""
    catch_up: Literal["none", "latest", "all"] = "latest"
    """Slots missed while no scheduler ran: run the most recent once, all, or none."""
    check_only: bool = False
    """Check and answer what adding would do; write nothing."""
    store: SkipJsonSchema[InstanceOf[FlextEventStore]] = Field(exclude=True, repr=False)
    """The event store holding the schedules (in-process only)."""


class ScheduleAdding(BaseModel):
    """What ``AddSchedule`` did (or, with ``check_only``, would do)."""

    model_config = ConfigDict(frozen=True)

    schedule: str
    """The schedule's name."""
    outcome: AddingOutcome
    """``added`` (new), ``unchanged`` (the same source added the same definition), ``replaced``."""
