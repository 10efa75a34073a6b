"""``flext gruponos pipeline deploy``: make the pipeline and its schedules match ``gruponos.yaml``.

The plugin works the pipelines and schedules through FLEXT's own commands
(``flext pipeline create --replace``, ``flext schedule add|remove|list``), run
as child processes in the project directory, as an operator would: it never
imports the pipeline or scheduler plugins, and whatever those commands check
and record (validation, ``PipelineRegistered``, schedule events) happens as
for any other pipeline. What is live is compared first, so deploying twice
changes nothing the second time, and a deploy that failed part way is
finished by the next one. Each deploy is recorded as a ``Deployed`` event.
"""

from __future__ import annotations

import difflib
import getpass
import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from flext_kernel.errors import NOT_FOUND
from flext_plugin_gruponos.config import GrupoNosConfig
from flext_plugin_gruponos.definitions import definition, render
from flext_plugin_gruponos.errors import DEPLOY_FAILED
from flext_plugin_gruponos.events import AGGREGATE_TYPE, EVENT_CLASSES, Deployed, stream_of
from flext_sdk import ANY, FlextEventStore, FlextResult

__all__ = ["DEPLOY_DIR", "Flext", "deploy", "last_deployed", "register_events"]

DEPLOY_DIR: Final = "deploy"
"""Where the generated definitions are written, in the project directory."""


def register_events(store: FlextEventStore) -> None:
    """Teach the store's codec the GrupoNos events (once per store)."""
    for cls in EVENT_CLASSES:
        if cls not in store.codec:
            store.codec.register(cls, owner="gruponos")


@dataclass(frozen=True)
class Flext:
    """Runs ``flext`` commands as child processes in a directory (the project's)."""

    directory: Path
    command: tuple[str, ...] = (sys.executable, "-m", "flext_kernel.cli")
    store: str | None = None
    """The event store every command is given (``--store``), if not the default."""

    def json(self, *arguments: str, store: bool = False) -> FlextResult[Any]:
        """Run ``flext --output json ARGUMENTS``; its ``data``, or its error as a failure."""
        argv = [*self.command, "--output", "json", *arguments]
        if store and self.store:
            argv += ["--store", self.store]
        done = subprocess.run(argv, cwd=self.directory, capture_output=True, text=True, check=False)
        try:
            document = json.loads(done.stdout) if done.stdout.strip() else {}
        except json.JSONDecodeError:
            document = {}
        if done.returncode == 0 and document.get("ok", False):
            return FlextResult.ok(document.get("data"))
        error = document.get("error") or (done.stderr.strip().splitlines() or ["no output"])[-1]
        shown = " ".join(arguments[:2])
        return FlextResult.fail(
            f"'flext {shown}' failed: {error}", error_code=document.get("code") or DEPLOY_FAILED
        )


def last_deployed(store: FlextEventStore, name: str) -> FlextResult[Deployed | None]:
    """The latest ``Deployed`` event of the deployment, or None before the first deploy."""
    read = store.read_stream(stream_of(name))
    if read.is_failure:
        return FlextResult.fail(read.error or "", error_code=read.error_code)
    for recorded in reversed(read.value):
        if isinstance(recorded.event, Deployed):
            return FlextResult.ok(recorded.event)
    return FlextResult.ok(None)


def _schedules(config: GrupoNosConfig) -> dict[str, dict[str, str]]:
    """The schedules wanted: incremental runs, and full reloads unless ``schedule.full`` is null."""
    wanted = {config.incremental: (config.schedule.incremental, "incremental")}
    if config.schedule.full is not None:
        wanted[config.reload] = (config.schedule.full, "full refresh")
    return {
        name: {"cron": cron, "pipeline": config.pipeline, "timezone": config.schedule.timezone, "run": run}
        for name, (cron, run) in wanted.items()
    }


def _diff(name: str, before: str, after: str) -> str:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    lines = difflib.unified_diff(old, new, f"{name} (deployed)", f"{name} (new)")
    return "".join(lines)


def _write(path: Path, text: str) -> None:
    partial = path.with_suffix(".yaml.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _pipeline(
    flext: Flext, config: GrupoNosConfig, previous: dict[str, str], changes: list[str], diffs: list[str]
) -> FlextResult[dict[str, str]]:
    """Register the pipeline (``create --replace``) unless the live one is the one last deployed."""
    listed = flext.json("pipeline", "list", store=True)
    if listed.is_failure:
        return FlextResult.fail(listed.error or "", listed.error_code)
    registered = {row.get("name") for row in listed.value or [] if isinstance(row, dict)}
    name, text = config.pipeline, render(definition(config))
    folder = flext.directory / DEPLOY_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    if name not in registered or previous.get(name) != text or not path.is_file():
        _write(path, text)
        created = flext.json("pipeline", "create", str(path), "--replace", store=True)
        if created.is_failure:
            return FlextResult.fail(created.error or "", created.error_code)
        changes.append(f"pipeline {name} {'updated' if name in registered else 'created'}")
        diffs.append(_diff(name, previous.get(name, ""), text))
    return FlextResult.ok({name: text})


def _apply_schedules(
    flext: Flext, wanted: dict[str, dict[str, str]], previous: dict[str, dict[str, str]], changes: list[str]
) -> FlextResult[None]:
    listed = flext.json("schedule", "list", store=True)
    live: dict[str, dict[str, str]] = {}
    if listed.is_success:
        for row in listed.value or []:
            run = "full refresh" if row.get("full_refresh") else "incremental"
            live[row["schedule"]] = {
                "cron": row["cron"], "pipeline": row["job"], "timezone": row["timezone"], "run": run,
            }  # fmt: skip
    elif listed.error_code != NOT_FOUND:  # no store yet: no schedule yet
        return FlextResult.fail(listed.error or "", listed.error_code)
    for name in sorted(set(previous) - set(wanted)):
        if name in live:
            removed = flext.json("schedule", "remove", name, store=True)
            if removed.is_failure:
                return FlextResult.fail(removed.error or "", removed.error_code)
            changes.append(f"schedule {name} removed")
    for name, schedule in wanted.items():
        if live.get(name) == schedule:
            continue
        if name in live:
            removed = flext.json("schedule", "remove", name, store=True)
            if removed.is_failure:
                return FlextResult.fail(removed.error or "", removed.error_code)
        reload = ["--full-refresh"] if schedule["run"] == "full refresh" else []
        added = flext.json(
            "schedule", "add", name, "--cron", schedule["cron"], "--pipeline", schedule["pipeline"],
            "--timezone", schedule["timezone"], *reload, store=True,
        )  # fmt: skip
        if added.is_failure:
            return FlextResult.fail(added.error or "", added.error_code)
        verb = "changed" if name in live else "added"
        when = f"{schedule['cron']} {schedule['timezone']}, {schedule['run']}"
        changes.append(f"schedule {name} {verb} ({when})")
    return FlextResult.ok(None)


def deploy(
    config: GrupoNosConfig, flext: Flext, store: FlextEventStore, *, dry_run: bool = False
) -> FlextResult[dict[str, Any]]:
    """Create or update the pipeline and its schedules, record the deploy; returns what changed.

    ``dry_run`` writes nothing and runs nothing: the changes and the diff against the last deploy.
    """
    register_events(store)
    previous_event = last_deployed(store, config.name)
    if previous_event.is_failure:
        return FlextResult.fail(previous_event.error or "", previous_event.error_code)
    previous = previous_event.value
    before_texts = previous.definitions if previous else {}
    before_schedules = previous.schedules if previous else {}
    wanted_schedules = _schedules(config)
    if dry_run:
        return FlextResult.ok(_planned(config, before_texts, before_schedules, wanted_schedules))
    changes: list[str] = []
    diffs: list[str] = []
    texts = _pipeline(flext, config, before_texts, changes, diffs)
    if texts.is_failure:
        return FlextResult.fail(texts.error or "", texts.error_code, {"done": changes})
    scheduled = _apply_schedules(flext, wanted_schedules, before_schedules, changes)
    if scheduled.is_failure:
        return FlextResult.fail(scheduled.error or "", scheduled.error_code, {"done": changes})
    if not changes:  # nothing changed: the last Deployed event still says what is live
        return FlextResult.ok({
            "deployment": config.name, "changes": [], "diff": "", "pipelines": sorted(texts.value),
            "schedules": wanted_schedules, "deployed_by": _user(),
        })  # fmt: skip
    event = Deployed(
        aggregate_id=stream_of(config.name),
        aggregate_type=AGGREGATE_TYPE,
        deployment=config.name,
        deployed_by=_user(),
        host=socket.gethostname(),
        project=str(flext.directory.resolve()),
        changes=changes,
        diff="".join(diffs),
        definitions=texts.value,
        schedules=wanted_schedules,
    )
    appended = store.append(stream_of(config.name), [event], ANY)
    if appended.is_failure:
        return FlextResult.fail(appended.error or "", appended.error_code, {"done": changes})
    return FlextResult.ok({
        "deployment": config.name, "changes": changes, "diff": event.diff,
        "pipelines": sorted(texts.value), "schedules": wanted_schedules, "deployed_by": event.deployed_by,
    })  # fmt: skip


def _planned(
    config: GrupoNosConfig,
    before_texts: dict[str, str],
    before_schedules: dict[str, dict[str, str]],
    wanted_schedules: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """What a deploy would change, compared with the last deploy (``--dry-run``)."""
    planned = {config.pipeline: render(definition(config))}
    changes = [f"pipeline {name} would change" for name in planned if before_texts.get(name) != planned[name]]
    changes += [
        f"schedule {name} would change"
        for name in sorted(set(wanted_schedules) | set(before_schedules))
        if wanted_schedules.get(name) != before_schedules.get(name)
    ]
    diff = "".join(_diff(name, before_texts.get(name, ""), text) for name, text in planned.items())
    return {"deployment": config.name, "dry_run": True, "changes": changes, "diff": diff}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): the number says who
        return str(os.getuid())


def required_variables(config: GrupoNosConfig, environ: Sequence[str] | None = None) -> list[str]:
    """The secret variables the pipelines need that are not set in this environment."""
    present = set(os.environ if environ is None else environ)
    return [name for name in config.secret_variables() if name not in present]
