"""``flext history``, ``record`` (the function the kernel hook calls) and the redaction of secrets."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest
from flext_plugin_shell.redact import MASK, redact
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_sdk.redaction import register

from .helpers import flext


def record_in(home: Path, argv: list[str], code: int, duration: float, **env: str) -> None:
    """Call ``history.record`` in a fresh interpreter in ``home``, as the kernel hook would."""
    import subprocess
    import sys

    program = (
        "import sys, json; from flext_plugin_shell.history import record;"
        " record(json.loads(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))"
    )
    environment = {**os.environ, "FLEXT_HOME": str(home), **env}
    subprocess.run(
        [sys.executable, "-c", program, json.dumps(argv), str(code), str(duration)],
        env=environment,
        check=True,
    )


def rows(home: Path, *args: str) -> list[dict[str, object]]:
    done = flext(home, "history", *args, "--output", "json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout)["data"])


def test_filters_search_failed_limit_and_since(home: Path) -> None:
    record_in(home, ["pipeline", "run", "orders"], 0, 1.5)
    record_in(home, ["pipeline", "run", "refunds"], 1, 0.5, FLEXT_PROFILE="prod")
    record_in(home, ["plugin", "list"], 0, 0.1)
    assert [row["command"] for row in rows(home)] == [
        "pipeline run orders",
        "pipeline run refunds",
        "plugin list",
    ]
    assert [row["command"] for row in rows(home, "--search", "REFUND")] == ["pipeline run refunds"]
    failed = rows(home, "--failed")
    assert [(row["command"], row["exit_code"], row["profile"]) for row in failed] == [
        ("pipeline run refunds", 1, "prod")
    ]
    # Every flext run is recorded too (after it ends): the newest is the previous history command.
    assert [row["command"] for row in rows(home, "--limit", "1")] == ["history --failed --output json"]
    assert len(rows(home, "--since", "1h")) == 3 + 4
    assert rows(home)[0]["duration"] == 1.5
    assert stat.S_IMODE((home / "data" / "history.db").stat().st_mode) == 0o600


def test_bad_since_and_limit_are_one_line_usage_errors(home: Path) -> None:
    for args in (("--since", "yesterday"), ("--limit", "0")):
        done = flext(home, "history", *args)
        assert done.returncode == 2
        assert done.stderr.splitlines()[0].startswith("error: ")
        assert "(VALIDATION_ERROR)" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_damaged_history_is_a_storage_error(home: Path) -> None:
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "data" / "history.db").write_bytes(b"this is not a database" * 100)
    done = flext(home, "history")
    assert done.returncode == 1
    assert "(STORAGE_ERROR)" in done.stderr
    assert "Traceback" not in done.stderr


def test_secrets_never_reach_the_history_file(home: Path) -> None:
    secret = "hunter2-Sup3r"
    record_in(
        home,
        [
            "data",
            "taps",
            "add",
            "--password",
            secret,
            f"--api-key={secret}",
            f"postgresql://app:{secret}@db/x",
        ],
        0,
        0.2,
    )
    record_in(home, ["meltano", "invoke", f"TOKEN={secret}"], 0, 0.2)
    assert secret.encode() not in (home / "data" / "history.db").read_bytes()
    commands = [shlex.split(str(row["command"])) for row in rows(home)]
    assert commands[0] == [
        "data",
        "taps",
        "add",
        "--password",
        MASK,
        f"--api-key={MASK}",
        f"postgresql://app:{MASK}@db/x",
    ]
    assert commands[1] == ["meltano", "invoke", f"TOKEN={MASK}"]


def test_a_secret_typed_as_an_argument_of_flext_secret_is_not_recorded(home: Path) -> None:
    # flext secret refuses a value given as an argument (exit 2), but the line is still a run.
    secret = "hunter2xyz-Typed"
    refused = flext(home, "--output", "json", "secret", "set", "DBPW", secret)
    assert refused.returncode == 2, refused.stderr
    assert secret not in refused.stdout + refused.stderr
    record_in(home, ["secret", "set", "DBPW", "--profile", "prod", secret], 2, 0.1)
    assert secret.encode() not in (home / "data" / "history.db").read_bytes()
    commands = [shlex.split(str(row["command"])) for row in rows(home)]
    assert ["--output", "json", "secret", "set", "DBPW", MASK] in commands, commands
    assert ["secret", "set", "DBPW", "--profile", MASK, MASK] in commands, commands


@pytest.mark.parametrize(
    ("tokens", "shown"),
    [
        (["--secret", "s"], ["--secret", MASK]),
        (["--token=t"], [f"--token={MASK}"]),
        (["--db-password", "--verbose"], ["--db-password", "--verbose"]),
        (["https://u:p@h/x"], [f"https://u:{MASK}@h/x"]),
        (["pipeline", "run", "orders"], ["pipeline", "run", "orders"]),
        (["--password", "-Abc123xyz"], ["--password", MASK]),
        (["--pg-pw", "pw12345"], ["--pg-pw", MASK]),
        (["--pg_pw=pw12345"], [f"--pg_pw={MASK}"]),
        (["-p", "5432"], ["-p", "5432"]),
        (["--pw-file", "--verbose"], ["--pw-file", "--verbose"]),
    ],
)
def test_redact_cases(tokens: list[str], shown: list[str]) -> None:
    assert redact(tokens) == shown


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["--password", "--secret", "--token", "--api-key", "--db-pass", "--auth"]),
    value=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=6).filter(
        lambda v: not v.startswith("--") and MASK not in v
    ),
    form=st.sampled_from(["separate", "equals", "url"]),
)
def test_a_secret_value_never_survives_redaction(name: str, value: str, form: str) -> None:
    if form == "separate":
        tokens = ["cmd", name, value]
    elif form == "equals":
        tokens = ["cmd", f"{name}={value}"]
    else:
        value = value.replace("@", "").replace("/", "").replace(" ", "") or "pw1234"
        tokens = ["cmd", f"postgresql://user:{value}@host/db"]
    assert all(value not in token for token in redact(tokens)[1:])


@pytest.mark.parametrize(
    "token",
    [
        '{"password": "pw12345"}',
        "password:pw12345",
        "Authorization: Bearer pw12345abcdef",
        "--conf=password:pw12345",
    ],
)
def test_a_secret_inside_an_argument_is_hidden(token: str) -> None:
    shown = redact(["meltano", "config", token])
    assert "pw12345" not in " ".join(shown), shown
    assert shown[:2] == ["meltano", "config"]


def test_a_registered_secret_value_is_hidden_anywhere() -> None:
    # A value the secrets plugin resolved in this process (registered) is hidden wherever it occurs.
    register("Registered-Value-42")  # unique to this test: it stays registered in the test process
    assert redact(["run", "--note", "x Registered-Value-42 y"]) == ["run", "--note", f"x {MASK} y"]


def test_completion_runs_are_not_recorded(home: Path) -> None:
    # Every Tab runs `flext completion candidates` with FLEXT_COMP_LINE: none of it is a command line typed.
    done = flext(home, "completion", "candidates", FLEXT_COMP_LINE="flext pipeline ")
    assert done.returncode == 0, done.stderr
    record_in(home, ["pipeline", "list"], 0, 0.1, FLEXT_COMP_LINE="flext pi")
    assert [row["command"] for row in rows(home)] == []


def test_the_history_keeps_the_newest_entries_only(home: Path) -> None:
    for number in range(6):
        record_in(home, ["run", str(number)], 0, 0.1, FLEXT_HISTORY_SIZE="3")
    import sqlite3

    with sqlite3.connect(home / "data" / "history.db") as connection:
        kept = [row[0] for row in connection.execute("SELECT command FROM history ORDER BY id")]
    assert kept == ["run 3", "run 4", "run 5"]
    record_in(
        home, ["run", "6"], 0, 0.1, FLEXT_HISTORY_SIZE="not-a-number"
    )  # the default (10,000): nothing cut
    with sqlite3.connect(home / "data" / "history.db") as connection:
        assert connection.execute("SELECT count(*) FROM history").fetchone()[0] == 4
