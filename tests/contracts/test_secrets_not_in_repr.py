"""Secrets the contracts carry never show in a ``repr``, so logging a command or a job does not leak them.

``LoggingBehavior(log_fields=True)`` logs a message through its pydantic
``repr``; so would any ``log.debug("%r", job)``. The fields that hold
secrets (``RunDbt.env``, ``ConnectorStep.config``, ``SingerJob.env``) are
declared ``repr=False``; serialized they stay whole, since the handler and
the connectors need them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flext_kernel.behaviors import LoggingBehavior
from flext_kernel.bus import FlextCommandBus
from flext_sdk import FlextResult
from flext_sdk.contracts.dbt import RunDbt
from flext_sdk.contracts.singer import ConnectorStep, SingerJob

SECRET = "s3cr3t-value-42"


def _job() -> SingerJob:
    return SingerJob(
        tap=ConnectorStep(name="tap-ldap", config={"password": SECRET, "host": "ldap.example"}),
        target=ConnectorStep(name="target-postgres", config={"dsn": f"postgresql://u:{SECRET}@db/x"}),
        mappers=(ConnectorStep(name="meltano-map-transformer", config={"token": SECRET}),),
        env={"PGPASSWORD": SECRET},
    )


def test_a_singer_job_and_its_steps_keep_secrets_out_of_repr_but_not_out_of_the_data() -> None:
    job = _job()
    for shown in (repr(job), str(job), repr(job.tap), repr(job.mappers[0])):
        assert SECRET not in shown
    assert "tap-ldap" in repr(job)  # the rest still shows
    assert job.tap.config["password"] == SECRET
    assert SECRET in str(job.model_dump())  # what the engine writes into the private config files


def test_run_dbt_keeps_its_env_out_of_repr_but_serializes_it() -> None:
    command = RunDbt(project_dir=Path("transform"), env={"WAREHOUSE_PASSWORD": SECRET})
    assert SECRET not in repr(command)
    assert "project_dir=" in repr(command)
    assert command.model_dump()["env"] == {"WAREHOUSE_PASSWORD": SECRET}  # the handler needs it


def test_the_logging_behavior_logs_a_dbt_command_without_its_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("test.contracts.secrets")
    bus = FlextCommandBus()
    bus.register(RunDbt, lambda command: FlextResult.ok(None))
    bus.use(LoggingBehavior(logger, log_fields=True))
    with caplog.at_level(logging.INFO, logger=logger.name):
        assert bus.dispatch(
            RunDbt(project_dir=Path("transform"), env={"WAREHOUSE_PASSWORD": SECRET})
        ).is_success
    (record,) = caplog.records
    assert "project_dir=" in record.getMessage()  # the fields were logged
    assert SECRET not in record.getMessage()
