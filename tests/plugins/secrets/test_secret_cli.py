"""``flext secret`` through the real CLI: values never in arguments, output, files in clear, or ``ps``.

Each test runs ``flext`` in a subprocess with the value piped on stdin, then
reads every file under ``FLEXT_HOME`` (and the test's ``HOME``, where a
keyring backend would write) for the value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import PASSPHRASE, Secrets, mode

VALUE = "Tr0ub4dor&3-s3cr3t"


def test_set_get_list_delete_never_show_or_write_the_value_in_clear(secrets: Secrets) -> None:
    stored = secrets("secret", "set", "DB_PASSWORD", input=VALUE + "\n")
    assert stored.exit_code == 0, stored
    assert "encrypted-file" in stored.stdout
    shown = secrets("secret", "get", "DB_PASSWORD")
    assert shown.exit_code == 0, shown
    assert "exists" in shown.stdout
    assert "encrypted-file" in shown.stdout
    listed = secrets("secret", "list")
    assert listed.exit_code == 0, listed
    assert "DB_PASSWORD" in listed.stdout
    assert "default" in listed.stdout
    as_json = secrets("--output", "json", "secret", "list").json()
    assert [row["name"] for row in as_json["data"]] == ["DB_PASSWORD"]
    assert set(as_json["data"][0]) == {"name", "profile", "backend", "updated"}
    for done in (stored, shown, listed):
        assert VALUE not in done.stdout + done.stderr
    assert secrets.holding(VALUE) == []
    assert secrets.holding(json.dumps(VALUE)[1:-1]) == []
    vault = secrets.runner.home / "data" / "secrets" / "vault.json"
    assert vault.exists()
    assert all(mode(path) == 0o600 for path in secrets.files() if secrets.runner.home in path.parents)
    assert mode(vault.parent) == 0o700

    revealed = secrets("secret", "get", "DB_PASSWORD", "--reveal")
    assert revealed.exit_code == 0, revealed
    assert revealed.stdout == VALUE + "\n"

    deleted = secrets("secret", "delete", "DB_PASSWORD")
    assert deleted.exit_code == 0, deleted
    gone = secrets("secret", "get", "DB_PASSWORD", "--reveal")
    assert gone.exit_code == 2
    assert gone.stderr.strip() == "error: no secret 'DB_PASSWORD' in profile 'default' (SECRET_NOT_FOUND)"


def test_profiles_keep_their_own_secrets(secrets: Secrets) -> None:
    assert secrets("secret", "set", "TOKEN", "--profile", "prod", input="prod-token-1").exit_code == 0
    assert (
        secrets("secret", "set", "TOKEN", input="dev-token-22", env={"FLEXT_PROFILE": "dev"}).exit_code == 0
    )
    assert secrets("secret", "get", "TOKEN", "--reveal", "--profile", "prod").stdout == "prod-token-1\n"
    assert secrets("secret", "get", "TOKEN", "--reveal", "--profile", "dev").stdout == "dev-token-22\n"
    assert secrets("secret", "get", "TOKEN").exit_code == 2  # not in 'default'
    every = secrets("--output", "json", "secret", "list", "--all-profiles").json()["data"]
    assert sorted((row["profile"], row["name"]) for row in every) == [("dev", "TOKEN"), ("prod", "TOKEN")]


def test_a_value_as_an_argument_is_refused_and_nothing_is_written(secrets: Secrets) -> None:
    done = secrets("secret", "set", "DB_PASSWORD", "hunter2-as-argument", input="from-stdin-value")
    assert done.exit_code == 2
    assert done.stderr.startswith("error: 'flext secret set' takes no value argument")
    assert "< file" in done.stderr
    assert "hunter2-as-argument" not in done.stdout + done.stderr
    assert not (secrets.runner.home / "data" / "secrets" / "vault.json").exists()
    assert secrets.holding("hunter2-as-argument") == []


def test_bad_names_and_empty_values_are_one_line_and_exit_2(secrets: Secrets) -> None:
    for args, needle in (
        (("secret", "set", "../etc/passwd"), "is not a secret name"),
        (("secret", "set", "OK", "--profile", "../x"), "is not a profile name"),
        (("secret", "set", "EMPTY"), "no value for EMPTY"),
    ):
        done = secrets(*args, input="")
        assert done.exit_code == 2, done
        assert len(done.stderr.strip().splitlines()) == 1, done
        assert needle in done.stderr
    assert not (secrets.runner.home / "data" / "secrets" / "vault.json").exists()


def test_a_wrong_passphrase_is_one_line_exit_2_and_writes_nothing(secrets: Secrets) -> None:
    assert secrets("secret", "set", "DB_PASSWORD", input=VALUE).exit_code == 0
    vault = secrets.runner.home / "data" / "secrets" / "vault.json"
    index = vault.with_name("index.json")
    before = (vault.read_bytes(), index.read_bytes())
    wrong = {"FLEXT_SECRET_KEY": "not the passphrase"}
    for args, stdin in (
        (("secret", "get", "DB_PASSWORD", "--reveal"), ""),
        (("secret", "set", "OTHER"), "x-value"),
    ):
        done = secrets(*args, input=stdin, env=wrong)
        assert done.exit_code == 2, done
        assert done.stderr.startswith("error: the passphrase does not open ")
        assert done.stderr.strip().endswith("(SECRET_KEY_INVALID)")
        assert "not the passphrase" not in done.stderr
        assert "Traceback" not in done.stderr
    assert (vault.read_bytes(), index.read_bytes()) == before


def test_no_passphrase_and_no_terminal_says_what_to_do(secrets: Secrets) -> None:
    done = secrets("secret", "set", "DB_PASSWORD", input=VALUE, env={"FLEXT_SECRET_KEY": None})
    assert done.exit_code == 2, done
    assert "set FLEXT_SECRET_KEY or run on a terminal" in done.stderr
    assert not (secrets.runner.home / "data" / "secrets" / "vault.json").exists()


def test_the_plaintext_keyring_fallback_is_never_used(secrets: Secrets) -> None:
    """keyring reports keyrings.alt's PlaintextKeyring: auto uses the file, ``keyring`` fails closed."""
    backend = secrets("--output", "json", "secret", "backend").json()["data"]
    assert backend["backend"] == "encrypted-file"
    assert backend["active_keyring"] == "keyrings.alt.file.PlaintextKeyring"
    forced = secrets("secret", "set", "DB_PASSWORD", input=VALUE, env={"FLEXT_SECRET_BACKEND": "keyring"})
    assert forced.exit_code == 1, forced
    assert "(SECRET_BACKEND_UNAVAILABLE)" in forced.stderr
    assert "PlaintextKeyring" in forced.stderr
    assert secrets.holding(VALUE) == []
    assert not list(secrets.user_home.rglob("*keyring*"))
    assert secrets("secret", "set", "DB_PASSWORD", input=VALUE).exit_code == 0
    assert secrets.holding(VALUE) == []
    assert not list(secrets.user_home.rglob("*keyring*"))
    unknown = secrets("secret", "backend", env={"FLEXT_SECRET_BACKEND": "plaintext"})
    assert unknown.exit_code == 2
    assert "(VALIDATION_ERROR)" in unknown.stderr


def test_the_value_is_never_in_a_process_listing(secrets: Secrets, tmp_path: Path) -> None:
    """No process ``flext secret set`` runs (itself or a child) gets the value as an argument or variable.

    A process listing shows every argv (and /proc every environment) while the process lives; ``strace``
    records each ``execve`` of the whole run with its full argv and environment, so a helper given the
    value (``secret-tool store ... VALUE``, a variable) anywhere in the run fails this test. The value
    itself goes on stdin, the only way in (an argument is refused: see the test above).
    """
    if shutil.which("strace") is None:
        pytest.fail("strace is needed to watch every process the command starts (apt-get install strace)")
    trace = tmp_path / "execve.trace"
    done = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-v",
            "-s",
            "1000000",
            "-e",
            "trace=execve,execveat",
            "-o",
            str(trace),
            *secrets.runner.command,
            "secret",
            "set",
            "DB_PASSWORD",
        ],
        input=VALUE.encode(),
        capture_output=True,
        env=secrets.environment(),
        timeout=120,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stderr
    assert VALUE.encode() not in done.stdout + done.stderr
    executed = trace.read_text(encoding="utf-8", errors="replace")
    assert '"secret", "set", "DB_PASSWORD"' in executed, executed[:2000]  # strace saw the run
    assert VALUE not in executed
    assert all(VALUE not in value for value in secrets.environment().values())
    assert secrets("secret", "get", "DB_PASSWORD", "--reveal").stdout == VALUE + "\n"


def test_the_passphrase_environment_value_is_not_printed_or_stored(secrets: Secrets) -> None:
    assert secrets("secret", "set", "A_NAME", input=VALUE).exit_code == 0
    assert secrets.holding(PASSPHRASE) == []


def test_concurrent_sets_keep_every_secret(secrets: Secrets) -> None:
    """Four ``flext secret set`` at once: the directory's lock keeps each read-change-write whole."""
    names = [f"CONCURRENT_{index}" for index in range(4)]
    assert secrets("secret", "set", "FIRST", input="makes-the-file").exit_code == 0
    running = [
        subprocess.Popen(
            [*secrets.runner.command, "secret", "set", name],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=secrets.environment(),
            start_new_session=True,
        )
        for name in names
    ]
    for name, process in zip(names, running, strict=True):
        _out, err = process.communicate(f"value-of-{name}".encode(), timeout=120)
        assert process.returncode == 0, err
    listed = secrets("--output", "json", "secret", "list").json()["data"]
    assert sorted(row["name"] for row in listed) == sorted(["FIRST", *names])
    for name in names:
        assert secrets("secret", "get", name, "--reveal").stdout == f"value-of-{name}\n"
