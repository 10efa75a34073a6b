"""A Meltano project's ``schedules:`` as FLEXT schedules, added through the scheduler's contract.

Meltano has two kinds of schedule (its JSON schema allows no other):

- a job schedule (``name``, ``job``, ``interval``) fires ``flext meltano run
  JOB`` in the project directory, as ``meltano schedule run`` would run
  ``meltano run JOB``;
- an ELT schedule (``name``, ``extractor``, ``loader``, ``transform``,
  ``interval``) with ``transform: skip`` fires ``flext meltano run
  EXTRACTOR LOADER`` (the same block); one that runs transforms (``run``,
  ``only``) names no block FLEXT can run and is left out, saying so.

``interval`` is a cron expression or one of Meltano's presets; the presets
``@hourly`` ... ``@yearly`` are croniter's too, ``@once`` is not a recurring
schedule and is left out. When ``--environment`` names one, the firing runs
in it (``--environment E``); else in the project's default, as Meltano does.
Each schedule becomes an ``AddSchedule`` command for the ``scheduler``
plugin (this plugin never imports it), with ``source`` the project's
``meltano.yml``, so importing again keeps what did not change and replaces
what did.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flext_kernel.result import Failure, FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore
    from flext_kernel.bus import FlextCommandBus
    from flext_plugin_meltano.project import MeltanoProject
    from flext_sdk.contracts.schedule import AddSchedule, ScheduleAdding

__all__ = ["PlannedSchedule", "add_schedules", "planned_schedules"]

_RECURRING_PRESETS = frozenset({"@hourly", "@daily", "@weekly", "@monthly", "@yearly"})


@dataclass(frozen=True)
class PlannedSchedule:
    """One Meltano schedule and what FLEXT makes of it (``fields`` None: left out, ``reason`` says why)."""

    name: str
    """The schedule's name in ``meltano.yml`` (kept as the FLEXT schedule's name)."""
    interval: str
    """Meltano's ``interval`` as written."""
    fields: dict[str, Any] | None
    """``AddSchedule``'s fields (all but ``store`` and ``check_only``), or None."""
    reason: str = ""
    """Why it is left out."""

    @property
    def runs(self) -> str:
        """What a firing runs, after ``flext``."""
        if self.fields is None:
            return ""
        if self.fields["job_kind"] == "meltano-job":
            return f"meltano run {self.fields['job']}"
        return str(self.fields["job"])


def planned_schedules(project: MeltanoProject, environment: str | None) -> list[PlannedSchedule]:
    """Every schedule of ``project``, in file order, as FLEXT would add it (``environment``: pinned)."""
    source = f"meltano:{project.root / 'meltano.yml'}"
    pinned = ["--environment", environment] if environment is not None else []
    planned = []
    for entry in project.data.get("schedules") or []:
        name, interval = str(entry["name"]), str(entry["interval"])
        fields = {"name": name, "cron": interval, "directory": str(project.root), "source": source}
        if interval == "@once":
            planned.append(PlannedSchedule(name, interval, None, "@once is not a recurring schedule"))
            continue
        if "job" in entry and not pinned:
            fields |= {"job_kind": "meltano-job", "job": str(entry["job"])}
        elif "job" in entry:
            fields |= {
                "job_kind": "command",
                "job": shlex.join(["meltano", "run", *pinned, str(entry["job"])]),
            }
        elif (entry.get("transform") or "skip") != "skip":
            reason = (
                f"transform: {entry['transform']} runs Meltano's transforms, which FLEXT does not run here"
            )
            planned.append(PlannedSchedule(name, interval, None, reason))
            continue
        else:
            block = ["meltano", "run", *pinned, str(entry["extractor"]), str(entry["loader"])]
            fields |= {"job_kind": "command", "job": shlex.join(block)}
        planned.append(PlannedSchedule(name, interval, fields))
    return planned


def add_schedules(
    bus: FlextCommandBus, store: FlextEventStore, planned: list[PlannedSchedule], *, check_only: bool
) -> FlextResult[list[ScheduleAdding]]:
    """Dispatch ``AddSchedule`` for each planned schedule; the first failure stops it.

    Run with ``check_only`` first: then a bad schedule stops the import before any is added.
    """
    from flext_sdk.contracts.schedule import AddSchedule

    done: list[ScheduleAdding] = []
    for schedule in planned:
        if schedule.fields is None:
            continue
        command: AddSchedule = AddSchedule(**schedule.fields, check_only=check_only, store=store)
        answered: FlextResult[ScheduleAdding] = bus.dispatch(command)
        if isinstance(answered, Failure):
            return FlextResult.fail(answered.error or "", answered.error_code, answered.error_data)
        done.append(answered.value)
    return FlextResult.ok(done)
