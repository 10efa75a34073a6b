"""A missing ``${secret:NAME}`` is bad input before anything runs: ``run --dry-run`` and ``start``.

``pipeline run`` refused it already (test_secret_pipeline); a dry run said all was
fine and ``start`` launched a background job that failed at once (RUN_FAILED, exit 1).
Both check the secret references with the steps now: exit 2, SECRET_NOT_FOUND, the name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from flext_plugin_ldif.sample import write_directory

from flext_sdk.testing import FlextCliRunner

SECRET_ENV = {"FLEXT_SECRET_KEY": "a passphrase for the test vault", "FLEXT_SECRET_BACKEND": "file"}


@pytest.mark.parametrize("command", [("run", "--dry-run"), ("start",)], ids=["dry-run", "start"])
def test_a_missing_secret_is_refused_by_a_dry_run_and_by_start(
    flext_cli: FlextCliRunner, flext_home: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=2, groups=1, ous=1)
    definition = {
        "name": "unresolved",
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},
        "load": {
            "name": "target-sqlite",
            "config": {"database": str(tmp_path / "out.db"), "password": "${secret:NOPE_PW}"},
        },
    }
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")
    assert flext_cli("data", "pipeline", "create", str(tmp_path / "pipeline.yaml")).exit_code == 0

    verb, *options = command
    ran = flext_cli("pipeline", verb, "unresolved", *options, env=SECRET_ENV)
    assert ran.exit_code == 2, ran.stderr
    first = ran.stderr.splitlines()[0]
    assert first.startswith("error: "), first
    assert "NOPE_PW" in first
    assert first.endswith("(SECRET_NOT_FOUND)"), first
    assert "Traceback" not in ran.stderr
    assert ran.stdout == ""
    assert not (tmp_path / "out.db").exists()
    assert not list((flext_home / "data").rglob("*.log"))  # no run was started
