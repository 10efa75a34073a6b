"""A failed run's message is the line that says what failed (issue 15, item 2).

Real processes fail the way the issue saw them: a target whose SQLAlchemy
exception ends with the "Background on this error" link after a long,
chained traceback (longer than the kept tail); a tap killed by a signal
whose last line was an unrelated SDK warning; a tap whose SDK logs the cause
before a generic line. The pure cases go through ``failure_summary``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from flext_plugin_singer.engine import Outcome, ProcessSpec, SingerEngine
from flext_plugin_singer.failures import failure_summary

SDK_WARNING = (
    "2026-12-07 08:32:35,256 | WARNING  | tap-slow | Property 'x' was present in the 'users' stream "
    "but not found in catalog schema. Ignoring."
)
TAP = r"""
import json, os, signal, sys, time
print(json.dumps({"type": "SCHEMA", "stream": "s", "key_properties": ["n"],
                  "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}), flush=True)
for n in range(1, 4):
    print(json.dumps({"type": "RECORD", "stream": "s", "record": {"n": n}}), flush=True)
mode = sys.argv[-1]
if mode == "killed":
    print(THE_WARNING, file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "sdk-config":
    for level, message in [("INFO", "tap-slow v1, Meltano SDK v0.54"),
                           ("ERROR", "'files' is a required property"),
                           ("ERROR", "Config validation failed")]:
        print(f"2026-12-07 08:32:35,256 | {level:8} | tap-slow | {message}", file=sys.stderr, flush=True)
    sys.exit(1)
""".replace("THE_WARNING", repr(SDK_WARNING))

# What MeltanoLabs' target-postgres printed (abridged from a real run: the traceback is 115 lines).
SQLALCHEMY_FAILURE = r"""
import sys
for line in sys.stdin:
    pass
frames = ['  File "/venv/lib/python3.11/site-packages/joblib/parallel.py", line %d, in _retrieve\n'
          '    self._raise_error_fast()' % n for n in range(40)]
err = sys.stderr
print("2026-12-07 08:32:35,256 | ERROR    | target-postgres | (psycopg.DataError) PostgreSQL text fields "
      "cannot contain NUL (0x00) bytes", file=err)
print("Traceback (most recent call last):", file=err)
print("\n".join(frames), file=err)
print("psycopg.DataError: PostgreSQL text fields cannot contain NUL (0x00) bytes", file=err)
print("\nThe above exception was the direct cause of the following exception:\n", file=err)
print("Traceback (most recent call last):", file=err)
print("\n".join(frames), file=err)
print("sqlalchemy.exc.DataError: (psycopg.DataError) PostgreSQL text fields cannot contain NUL (0x00) bytes",
      file=err)
print("[SQL: INSERT INTO users (id, name) VALUES (%(id)s::BIGINT, %(name)s::VARCHAR)]", file=err)
print("[parameters: {'id': 1, 'name': 'a\\x00b'}]", file=err)
print("(Background on this error at: https://sqlalche.me/e/20/9h9h)", file=err)
sys.exit(1)
"""
QUIET_TARGET = "import sys\nfor line in sys.stdin:\n    pass\n"


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


def _run(tmp_path: Path, mode: str, target_body: str = QUIET_TARGET):
    tap = _script(tmp_path, "tap-slow", TAP)
    target = _script(tmp_path, "target-postgres", target_body)
    engine = SingerEngine(
        ProcessSpec("tap-slow", [str(tap), mode]), ProcessSpec("target-postgres", [str(target)])
    )
    return engine.run()


def test_a_sqlalchemy_failure_is_named_by_its_exception_not_its_background_link(tmp_path: Path) -> None:
    result = _run(tmp_path, "fine", SQLALCHEMY_FAILURE)
    assert result.outcome is Outcome.FAILED
    assert result.error == (
        "target-postgres exited with code 1: sqlalchemy.exc.DataError: (psycopg.DataError) "
        "PostgreSQL text fields cannot contain NUL (0x00) bytes"
    )
    assert (
        "Traceback (most recent call last):" not in result.stderr_tail["target-postgres"]
    )  # beyond the tail


def test_a_killed_tap_is_said_to_be_killed_without_quoting_an_unrelated_warning(tmp_path: Path) -> None:
    result = _run(tmp_path, "killed")
    assert result.outcome is Outcome.FAILED
    assert result.error == "tap-slow was killed by signal 9 (SIGKILL)"
    assert SDK_WARNING in result.stderr_tail["tap-slow"]  # still in the tail and the log


def test_the_sdk_s_cause_comes_before_its_generic_line(tmp_path: Path) -> None:
    result = _run(tmp_path, "sdk-config")
    assert (
        result.error
        == "tap-slow exited with code 1: 'files' is a required property; Config validation failed"
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Traceback (most recent call last):", '  File "x.py", line 1', "KeyError: 'id'"], "KeyError: 'id'"),
        (
            [
                "Traceback (most recent call last):",
                "  File 'x'",
                "psycopg.errors.UniqueViolation: duplicate key",
                "DETAIL:  Key (id)=(1) already exists.",
            ],
            "psycopg.errors.UniqueViolation: duplicate key",
        ),
        (
            ["loading 10 rows", "CRITICAL table users is missing", "INFO done"],
            "CRITICAL table users is missing",
        ),
        (
            ["x.py:3: DeprecationWarning: old API", "  warnings.warn(", "Error: cannot connect"],
            "Error: cannot connect",
        ),
        (["WARNING:root:slow", "connection reset by peer"], "connection reset by peer"),
        (["WARNING:root:slow", "x.py:3: UserWarning: careful"], ""),
        (["error: people.ldif:12: refused (VALIDATION_ERROR)"], "people.ldif:12: refused (VALIDATION_ERROR)"),
        (["(Background on this error at: https://sqlalche.me/e/20/9h9h)"], ""),
    ],
)
def test_the_summary_picks_the_line_that_says_what_failed(lines: list[str], expected: str) -> None:
    assert failure_summary(lines) == expected


def test_a_killed_process_is_not_explained_by_its_last_ordinary_line() -> None:
    assert failure_summary(["reading users", "read 100 users"], killed=True) == ""
    assert failure_summary(["reading users", "read 100 users"]) == "read 100 users"
    assert failure_summary(["Error: out of memory", "read 100 users"], killed=True) == "Error: out of memory"


def test_the_discovery_of_a_failing_tap_is_named_by_its_exception(tmp_path: Path) -> None:
    from flext_plugin_singer.invocation import discover

    from flext_sdk.contracts.singer import ConnectorSpec

    tap = _script(
        tmp_path,
        "tap-broken",
        "import sys\nprint('Traceback (most recent call last):', file=sys.stderr)\n"
        "print('  File \"t.py\", line 3, in <module>', file=sys.stderr)\n"
        "print('ldap.INVALID_CREDENTIALS: bind refused', file=sys.stderr)\n"
        f"print({SDK_WARNING!r}, file=sys.stderr)\nsys.exit(2)\n",
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({}))
    logged: list[tuple[str, str]] = []
    spec = ConnectorSpec(name="tap-broken", kind="tap", executable=str(tap), location=str(tap))
    found = discover(spec, config, log=lambda name, line: logged.append((name, line)))
    assert found.error == "tap-broken --discover exited with code 2: ldap.INVALID_CREDENTIALS: bind refused"
    assert ("tap-broken --discover", SDK_WARNING) in logged
