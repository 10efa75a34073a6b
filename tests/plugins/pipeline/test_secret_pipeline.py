"""A pipeline whose target password is a ``flext secret``: it runs, and the password is nowhere (issue 19).

The secret is stored with ``flext secret set`` from stdin in the encrypted-file
backend (``FLEXT_SECRET_KEY``); the target is MeltanoLabs' target-postgres,
logging in to the machine's PostgreSQL as a role made for the test with that
password. The run goes in the background (``flext pipeline start``) while
``ps`` (arguments and, for our own processes, environments) is read over and
over; afterwards every file under ``FLEXT_HOME`` and the project folder, the
run's log, ``flext events`` and ``flext pipeline history|status`` outputs are
searched for the password. A definition naming a secret that does not exist
is refused before the run starts, with nothing written.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flext_plugin_ldif.sample import write_directory

pytestmark = pytest.mark.slow

PASSWORD = f"PgRolePw-{uuid.uuid4().hex[:12]}"
"""Unique to this test run, so finding it anywhere can only be a leak."""
SECRET_ENV = {"FLEXT_SECRET_KEY": "a passphrase for the test vault", "FLEXT_SECRET_BACKEND": "file"}


@pytest.fixture
def role(postgres_url: str) -> Iterator[str]:
    """A login role with ``PASSWORD`` that may create schemas in the test database; dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"flext_secret_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), PASSWORD))
        connection.execute(sql.SQL("GRANT CREATE ON DATABASE test TO {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
        connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _target_configs(listing: str) -> dict[str, tuple[int, str]]:
    """The mode and text of each running target-postgres's ``--config`` file (read while it exists)."""
    found: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines():
        words = line.split()
        if any(word.endswith("target-postgres") for word in words[1:3]) and "--config" in words:
            path = Path(words[words.index("--config") + 1])
            try:
                found[str(path)] = (path.stat().st_mode & 0o777, path.read_text(encoding="utf-8"))
            except OSError:
                continue
    return found


def _every_file(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path


@pytest.mark.postgres
def test_a_pipeline_with_a_secret_password_runs_and_the_password_is_nowhere(
    flext_cli, flext_home: Path, tmp_path: Path, postgres_url: str, pg_schema: str, role: str
) -> None:
    def flext(*args: str, stdin: str | None = None):
        return flext_cli(*args, env=SECRET_ENV, input=stdin)

    assert flext("data", "targets", "add", "target-postgres").exit_code == 0
    stored = flext("secret", "set", "PG_PW", stdin=PASSWORD + "\n")
    assert stored.exit_code == 0, stored.stderr
    project = tmp_path / "project"
    project.mkdir()
    ldif = project / "directory.ldif"
    write_directory(ldif, users=300, groups=6, ous=3)
    definition = {
        "name": "guarded",
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},
        "load": {
            "name": "target-postgres",
            "config": {
                "host": "127.0.0.1",
                "port": 5432,
                "user": role,
                "password": "${secret:PG_PW}",
                "database": "test",
                "default_target_schema": pg_schema,
            },
        },
    }
    (project / "pipeline.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")
    assert flext("data", "pipeline", "create", str(project / "pipeline.yaml"), "--replace").exit_code == 0

    started = flext("--output", "json", "pipeline", "start", "guarded")
    assert started.exit_code == 0, started.stderr
    pid = started.json()["data"]["pid"]
    listings: list[str] = []
    handed: dict[str, tuple[int, str]] = {}
    saw_target = False
    deadline = time.monotonic() + 300  # bounds the wait only
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        listing = subprocess.run(
            ["ps", "axeww", "-o", "pid,args"], capture_output=True, text=True, check=True
        ).stdout
        listings.append(listing)
        saw_target = saw_target or "target-postgres" in listing
        handed.update(_target_configs(listing))
        time.sleep(0.1)
    assert saw_target, "ps never showed the target running: the listings were not taken during the run"
    for listing in listings:
        assert PASSWORD not in listing
    # The one place the password went: the target's private config file, while it ran.
    assert handed, "the target's --config file was never read"
    assert all(mode == 0o600 for mode, _text in handed.values()), handed
    assert any(PASSWORD in text for _mode, text in handed.values())
    assert not any(Path(path).exists() for path in handed)  # gone with the run

    history = flext("--output", "json", "pipeline", "history", "guarded")
    assert history.exit_code == 0, history.stderr
    assert history.json()["data"][0]["status"] == "completed", history.stdout
    import psycopg

    with psycopg.connect(postgres_url) as connection:
        (users,) = connection.execute(f'select count(*) from "{pg_schema}".users').fetchone() or (0,)
    assert users == 300  # loaded as the role, logged in with the secret

    outputs = [
        history,
        flext("pipeline", "history", "guarded"),
        flext("--output", "json", "pipeline", "status"),
        flext("pipeline", "logs", "guarded"),
        flext("--output", "json", "pipeline", "logs", "guarded"),
        flext("--output", "json", "events", "show", "pipeline-guarded"),
        flext("events", "show", "pipeline-guarded"),
        flext("events", "export", "--to", str(tmp_path / "events.jsonl")),
    ]
    for output in outputs:
        assert output.exit_code == 0, output.stderr
        assert PASSWORD not in output.stdout + output.stderr
    searched = 0
    for path in _every_file(flext_home, tmp_path):
        assert PASSWORD.encode() not in path.read_bytes(), path
        searched += 1
    assert searched > 5
    assert any(
        path.suffix == ".log" for path in _every_file(flext_home / "data")
    )  # the run's log was searched


def test_a_missing_secret_is_refused_before_the_run_with_nothing_written(
    flext_cli, flext_home: Path, tmp_path: Path
) -> None:
    ldif = tmp_path / "directory.ldif"
    write_directory(ldif, users=5, groups=1, ous=1)
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

    ran = flext_cli("pipeline", "run", "unresolved", env=SECRET_ENV)
    assert ran.exit_code == 2, ran.stderr
    assert "NOPE_PW" in ran.stderr
    assert "(SECRET_NOT_FOUND)" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert not (tmp_path / "out.db").exists()
    history = flext_cli("--output", "json", "pipeline", "history", "unresolved")
    assert history.exit_code == 0, history.stderr
    assert history.json()["data"] == []
    assert not list((flext_home / "data").rglob("*.log"))
