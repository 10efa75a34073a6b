"""Meltano's ``schedules:`` as FLEXT schedules (``flext meltano schedules import``; ``import`` does the same).

The schedules go to the scheduler plugin as ``AddSchedule`` commands (this
plugin never imports it); what they became is read back with ``flext
schedule list``, as a user would. Each test has its own FLEXT home and its own
copy of the project; Meltano's environment is the shared one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import ProjectCopy  # the fixture's type (tests/plugins/meltano/conftest.py)


def test_each_schedule_becomes_a_flext_schedule_running_the_same_job(home: ProjectCopy) -> None:
    done = home.flext("--output", "json", "meltano", "schedules", "import", str(home.root))
    assert done.exit_code == 0, str(done)
    outcomes = {row["schedule"]: row["outcome"] for row in done.json()["data"]}
    assert outcomes == {"directory-nightly": "added", "contractors-hourly": "added"}
    schedules = home.schedules()
    nightly, hourly = schedules["directory-nightly"], schedules["contractors-hourly"]
    assert (nightly["cron"], nightly["job_kind"], nightly["job"]) == (
        "@daily",
        "meltano-job",
        "directory-to-warehouse",
    )
    assert (hourly["cron"], hourly["job_kind"], hourly["job"]) == (
        "15 * * * *",
        "command",
        "meltano run tap-ldif--contractors target-sqlite",
    )
    assert nightly["directory"] == hourly["directory"] == str(home.root)  # fired where meltano.yml is
    assert nightly["source"] == hourly["source"] == f"meltano:{home.root / 'meltano.yml'}"


def test_importing_again_keeps_the_same_and_replaces_the_changed(home: ProjectCopy) -> None:
    assert home.flext("meltano", "schedules", "import", str(home.root)).exit_code == 0
    again = home.flext("--output", "json", "meltano", "schedules", "import", str(home.root))
    assert again.exit_code == 0, str(again)
    assert {row["outcome"] for row in again.json()["data"]} == {"unchanged"}
    home.edit("interval: 15 * * * *", "interval: 45 */2 * * *")
    changed = home.flext("--output", "json", "meltano", "schedules", "import", str(home.root))
    outcomes = {row["schedule"]: row["outcome"] for row in changed.json()["data"]}
    assert outcomes == {"directory-nightly": "unchanged", "contractors-hourly": "replaced"}
    assert home.schedules()["contractors-hourly"]["cron"] == "45 */2 * * *"


def test_an_environment_chosen_at_import_is_the_one_the_firings_run_in(home: ProjectCopy) -> None:
    done = home.flext("meltano", "schedules", "import", str(home.root), "--environment", "prod")
    assert done.exit_code == 0, str(done)
    nightly = home.schedules()["directory-nightly"]
    assert (nightly["job_kind"], nightly["job"]) == (
        "command",
        "meltano run --environment prod directory-to-warehouse",
    )


def test_a_cron_that_does_not_parse_names_the_schedule_and_adds_none(home: ProjectCopy) -> None:
    home.edit("interval: 15 * * * *", "interval: 61 * * * *")  # Meltano's schema lets it through
    done = home.flext("meltano", "schedules", "import", str(home.root))
    assert done.exit_code == 2, str(done)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "meltano.yml: schedules: schedule 'contractors-hourly': cron expression '61 * * * *'" in errors[0]
    assert errors[0].endswith("(VALIDATION_ERROR)")
    assert "Traceback" not in done.stderr
    assert home.schedules() == {}  # the good one was not added either


def test_a_schedule_flext_schedule_add_made_is_left_alone(home: ProjectCopy) -> None:
    mine = home.flext(
        "schedule", "add", "directory-nightly", "--cron", "0 5 * * *", "--pipeline", "my-own-pipeline"
    )
    assert mine.exit_code == 0, str(mine)
    done = home.flext("meltano", "schedules", "import", str(home.root))
    assert done.exit_code == 1, str(done)  # as 'flext schedule add' of a name that exists
    assert "schedule 'directory-nightly' exists already, added by 'flext schedule add'" in done.stderr
    assert "(ALREADY_REGISTERED)" in done.stderr
    assert home.schedules()["directory-nightly"]["job"] == "my-own-pipeline"
    assert "contractors-hourly" not in home.schedules()


def test_once_and_transform_schedules_are_left_out_saying_why(home: ProjectCopy) -> None:
    home.edit("interval: '@daily'", "interval: '@once'")
    home.edit("  transform: skip\n", "  transform: run\n")
    done = home.flext("--output", "json", "meltano", "schedules", "import", str(home.root))
    assert done.exit_code == 0, str(done)
    rows = {row["schedule"]: row for row in done.json()["data"]}
    assert rows["directory-nightly"]["outcome"] == "left out"
    assert "@once" in rows["directory-nightly"]["reason"]
    assert "transform: run" in rows["contractors-hourly"]["reason"]
    assert home.schedules() == {}
