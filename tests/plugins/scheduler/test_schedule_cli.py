"""``flext schedule add|list|remove|run-due`` as real ``flext`` subprocesses on a fresh home.

Bad input fails with one line naming what is wrong, exit 2, and records
nothing; a Meltano job without the ``meltano`` plugin fails its firing with
a recorded error naming the plugin; two ``run-due`` at once run a slot once.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_sdk.testing import FlextCliRunner

from .conftest import FLEXT, listed, of_type, past, stream, wait_for

EVERY_SECOND = "* * * * * *"
"""croniter's sixth field is seconds: a slot every second, so a test waits a second, not a quarter hour."""


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("61 * * * *", "[61 * * * *] is not acceptable, out of range"),
        ("*/15 * * *", "Exactly 5, 6 or 7 columns has to be specified for iterator expression"),
        ("every quarter", "Exactly 5, 6 or 7 columns has to be specified for iterator expression"),
        ("* * 31 2 mon-xyz", ""),
    ],
)
def test_a_cron_expression_that_does_not_parse_is_one_line_naming_it(
    flext_cli: FlextCliRunner, cron: str, reason: str
) -> None:
    refused = flext_cli("schedule", "add", "sync", "--cron", cron, "--pipeline", "numbers")
    assert refused.exit_code == 2, refused
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"error: cron expression {cron!r} does not parse: {reason}"), line
    assert line.endswith("(VALIDATION_ERROR)"), line
    assert "Traceback" not in refused.stderr
    assert listed(flext_cli) == {}  # nothing recorded
    as_json = flext_cli(
        "--output", "json", "schedule", "add", "sync", "--cron", cron, "--pipeline", "numbers"
    )
    assert (as_json.exit_code, as_json.json()["code"]) == (2, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--pipeline", "p", "--timezone", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        ((), "a schedule runs one job: give one of --pipeline, --meltano-job and --command"),
        (
            ("--pipeline", "p", "--meltano-job", "j"),
            "a schedule runs one job: give one of --pipeline, --meltano-job and --command",
        ),
        (("--pipeline=-rm",), "invalid pipeline name '-rm'"),
        (("--meltano-job", "a b"), "invalid Meltano job name 'a b'"),
    ],
)
def test_bad_options_are_refused_with_one_line(
    flext_cli: FlextCliRunner, options: tuple[str, ...], message: str
) -> None:
    refused = flext_cli("schedule", "add", "sync", "--cron", "*/15 * * * *", *options)
    assert refused.exit_code == 2, refused
    assert refused.stderr.splitlines()[0].startswith(f"error: {message}"), refused
    assert listed(flext_cli) == {}


def test_bad_names_and_policies_are_refused(flext_cli: FlextCliRunner) -> None:
    bad_name = flext_cli("schedule", "add", "../x", "--cron", "* * * * *", "--pipeline", "p")
    assert bad_name.exit_code == 2, bad_name
    assert bad_name.stderr.startswith("error: invalid schedule name '../x'"), bad_name
    bad_policy = flext_cli(
        "schedule", "add", "x", "--cron", "* * * * *", "--pipeline", "p", "--catch-up", "some"
    )
    assert bad_policy.exit_code == 2, bad_policy
    assert "Traceback" not in bad_policy.stderr
    for line in (("scheduler", "stop", "--background"), ("scheduler", "later")):
        refused = flext_cli(*line)
        assert refused.exit_code == 2, refused
        assert refused.stderr.startswith("error: "), refused


def test_add_list_remove(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    added = flext_cli(
        "--json", "schedule", "add", "wms", "--cron", "*/15 * * * *", "--pipeline", "wms-incremental",
        "--timezone", "America/Sao_Paulo", "--catch-up", "all",
    )  # fmt: skip
    assert added.exit_code == 0, added
    document = added.json()["data"]
    assert document["schedule"] == "wms"
    assert (document["cron"], document["timezone"], document["catch_up"]) == (
        "*/15 * * * *",
        "America/Sao_Paulo",
        "all",
    )
    assert (document["job_kind"], document["job"]) == ("pipeline", "wms-incremental")
    again = flext_cli("schedule", "add", "wms", "--cron", "0 * * * *", "--meltano-job", "other")
    assert again.exit_code == 1, again
    assert again.stderr.splitlines() == [
        "error: schedule 'wms' exists already (ALREADY_REGISTERED)",
        "hint: remove it first: 'flext schedule remove wms'",
    ]
    shown = listed(flext_cli)
    assert list(shown) == ["wms"]
    assert shown["wms"]["next_due"] == document["next_due"]
    assert (shown["wms"]["last_outcome"], shown["wms"]["last_slot"], shown["wms"]["firings"]) == (
        "never run",
        None,
        0,
    )
    table = flext_cli("schedule", "list")
    assert "wms" in table.stdout
    assert "*/15 * * * * America/Sao_Paulo" in table.stdout
    assert "pipeline wms-incremental" in table.stdout
    removed = flext_cli("schedule", "remove", "wms")
    assert (removed.exit_code, removed.stdout.strip()) == (0, "removed schedule wms")
    assert listed(flext_cli) == {}
    missing = flext_cli("schedule", "remove", "wms")
    assert missing.exit_code == 2, missing
    assert missing.stderr.splitlines()[0] == "error: no schedule named 'wms' (NOT_FOUND)"
    types = [event["type"] for event in stream(flext_cli, "wms")]
    assert types == ["schedule.Added", "schedule.Removed"]


def test_a_reload_schedule_runs_its_pipeline_with_full_refresh(flext_cli: FlextCliRunner) -> None:
    from flext_plugin_scheduler.events import ScheduleAdded
    from flext_plugin_scheduler.firing import command_of

    reload = ("wms-reload", "--cron", "0 2 * * 0", "--pipeline", "wms", "--full-refresh")
    added = flext_cli("--json", "schedule", "add", *reload)
    assert added.exit_code == 0, added
    assert added.json()["data"]["full_refresh"] is True
    assert listed(flext_cli)["wms-reload"]["full_refresh"] is True
    assert "pipeline wms --full-refresh" in flext_cli("schedule", "list").stdout
    payload = stream(flext_cli, "wms-reload")[0]["payload"]
    definition = ScheduleAdded.model_validate({**payload, "aggregate_id": "schedule-wms-reload"})
    assert command_of(definition) == ["pipeline", "run", "wms", "--full-refresh"]
    refused = flext_cli("schedule", "add", "m", "--cron", "0 2 * * 0", "--meltano-job", "j", "--full-refresh")
    assert refused.exit_code == 2, refused
    assert refused.stderr.startswith("error: --full-refresh applies to a pipeline"), refused


def test_a_schedule_can_run_a_flext_command_line(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    from flext_plugin_scheduler.events import ScheduleAdded
    from flext_plugin_scheduler.firing import command_of

    line = f"algar oud sync --project '{tmp_path / 'my migration'}'"
    added = flext_cli("--json", "schedule", "add", "oud", "--cron", "*/30 * * * *", "--command", line)
    assert added.exit_code == 0, added
    assert added.json()["data"]["job_kind"] == "command"
    payload = stream(flext_cli, "oud")[0]["payload"]
    definition = ScheduleAdded.model_validate({**payload, "aggregate_id": "schedule-oud"})
    assert command_of(definition) == ["algar", "oud", "sync", "--project", str(tmp_path / "my migration")]
    assert "flext algar oud sync" in flext_cli("schedule", "list").stdout
    for bad, message in (("", "is not a FLEXT command line"), ("-v x", "is not a FLEXT command line"),
                         ("algar 'oud", "No closing quotation")):  # fmt: skip
        refused = flext_cli("schedule", "add", "x", "--cron", "* * * * *", f"--command={bad}")
        assert refused.exit_code == 2, (bad, refused)
        assert message in refused.stderr, (bad, refused)
    both = flext_cli(
        "schedule", "add", "x", "--cron", "* * * * *", "--command", "pipeline list", "--pipeline", "p"
    )
    assert both.exit_code == 2, both
    assert "give one of --pipeline, --meltano-job and --command" in both.stderr


def test_list_refuses_a_store_that_is_not_there(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    shown = flext_cli("schedule", "list", "--store", str(missing))
    assert shown.exit_code == 2, shown
    assert shown.stderr.startswith(f"error: no event store at {missing}")
    assert not missing.exists()


def test_run_due_with_nothing_due_says_so(flext_cli: FlextCliRunner) -> None:
    added = flext_cli("schedule", "add", "later", "--cron", "0 0 1 1 *", "--pipeline", "p")
    assert added.exit_code == 0, added
    ran = flext_cli("schedule", "run-due")
    assert (ran.exit_code, ran.stdout.strip()) == (0, "nothing was due"), ran
    assert of_type(stream(flext_cli, "later"), "SlotClaimed") == []


def test_a_meltano_job_without_the_meltano_plugin_fails_its_firing_with_a_recorded_error(
    flext_cli: FlextCliRunner,
) -> None:
    """The meltano plugin turned off here (it may be installed): the firing names it and says what to do.

    With the plugin not installed at all the code is NOT_FOUND and the hint
    says how to install it: test_loop.py's kernel has no meltano plugin.
    """
    off = {"FLEXT_DISABLE_PLUGINS": "meltano"}
    added = flext_cli("schedule", "add", "elt", "--cron", EVERY_SECOND, "--meltano-job", "tap-to-target")
    assert added.exit_code == 0, added
    wait_for(lambda: past(listed(flext_cli)["elt"]["next_due"]), what="the first slot")
    ran = flext_cli("schedule", "run-due", env=off)
    assert ran.exit_code == 1, ran
    expected = "schedule 'elt' runs 'flext meltano run tap-to-target', but plugin 'meltano' is disabled"
    lines = ran.stderr.splitlines()
    assert f"error: 1 of 1 firing(s) failed; elt: {expected} [PLUGIN_DISABLED] (FIRING_FAILED)" in lines, ran
    assert lines[-1].startswith("hint: "), ran
    assert "FLEXT_DISABLE_PLUGINS" in lines[-1], ran  # what turned it off, and so what turns it on
    events = stream(flext_cli, "elt")
    (claim,) = of_type(events, "SlotClaimed")
    (finished,) = of_type(events, "FiringFinished")
    assert of_type(events, "FiringStarted") == []  # no process was started
    assert (finished["run_id"], finished["slot"]) == (claim["run_id"], claim["slot"])
    assert (finished["outcome"], finished["code"], finished["error"]) == (
        "failed",
        "PLUGIN_DISABLED",
        expected,
    )
    shown = listed(flext_cli)["elt"]
    assert (shown["last_outcome"], shown["last_error"]) == ("failed", expected)
    assert shown["last_run_id"] == claim["run_id"]


@pytest.mark.slow
def test_run_due_runs_a_real_pipeline_recorded_in_the_same_store(
    flext_cli: FlextCliRunner, numbers_pipeline: Callable[..., Path], tmp_path: Path
) -> None:
    folder = numbers_pipeline("numbers")
    store = ("--store", str(tmp_path / "ops.db"))  # not the default: the job must record its run there too
    added = flext_cli(
        "schedule", "add", "numbers-often", "--cron", EVERY_SECOND, "--pipeline", "numbers", *store
    )
    assert added.exit_code == 0, added
    wait_for(lambda: past(listed(flext_cli, *store)["numbers-often"]["next_due"]), what="the first slot")
    ran = flext_cli("--output", "json", "schedule", "run-due", *store)
    assert ran.exit_code == 0, ran
    (firing,) = ran.json()["data"]
    assert (firing["schedule"], firing["outcome"], firing["exit_code"]) == ("numbers-often", "completed", 0)
    history = flext_cli("--output", "json", "pipeline", "history", "numbers", *store)
    assert [run["status"] for run in history.json()["data"]] == ["completed"]
    assert len(json.loads((folder / "rows.json").read_text())) == 5
    events = stream(flext_cli, "numbers-often", *store)
    (started,) = of_type(events, "FiringStarted")
    assert started["command"] == ["pipeline", "run", "numbers"]
    assert [e["outcome"] for e in of_type(events, "FiringFinished")] == ["completed"]
    assert listed(flext_cli, *store)["numbers-often"]["last_outcome"] == "completed"


@pytest.mark.slow
def test_two_run_due_at_once_on_one_store_run_each_slot_once(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    store = str(tmp_path / "shared.db")
    added = flext_cli(
        "schedule", "add", "elt", "--cron", EVERY_SECOND, "--meltano-job", "j", "--store", store
    )
    assert added.exit_code == 0, added
    for _round in range(3):
        wait_for(lambda: past(listed(flext_cli, "--store", store)["elt"]["next_due"]), what="a slot")
        both = [
            subprocess.Popen(
                [FLEXT, "--output", "json", "schedule", "run-due", "--store", store],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=flext_cli.environment({"FLEXT_DISABLE_PLUGINS": "meltano"}),  # firings fail at once
            )
            for _ in range(2)
        ]
        for process in both:
            process.communicate(timeout=120)
            assert process.returncode in (0, 1)  # 1: it ran a firing (which fails: no meltano plugin)
    events = stream(flext_cli, "elt", "--store", store)
    slots = [claim["slot"] for claim in of_type(events, "SlotClaimed")]
    assert slots, events
    assert len(slots) == len(set(slots))
    assert sorted(f["run_id"] for f in of_type(events, "FiringFinished")) == sorted(
        c["run_id"] for c in of_type(events, "SlotClaimed")
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_parse_cron_never_raises(expression: str) -> None:
    from flext_plugin_scheduler.cron import parse_cron

    parsed = parse_cron(expression)
    if parsed.is_failure:
        assert parsed.error_code == "VALIDATION_ERROR"
        assert parsed.error is not None
        assert parsed.error.startswith(f"cron expression {expression!r} does not parse")
        assert "\n" not in parsed.error.replace(repr(expression), "")
