"""The Singer engine with real processes: counting, confirmed state, stops, failures, bad input."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from flext_plugin_singer.engine import Outcome, ProcessSpec, SingerEngine
from flext_plugin_singer.failures import failure_summary
from hypothesis import given
from hypothesis import strategies as st


def _configs(tmp_path: Path, tap: dict[str, Any], target: dict[str, Any] | None = None) -> tuple[Path, Path]:
    tap_config, target_config = tmp_path / "tap.json", tmp_path / "target.json"
    tap_config.write_text(json.dumps(tap))
    target_config.write_text(json.dumps(target or {"path": str(tmp_path / "rows.json")}))
    return tap_config, target_config


def _engine(tap: Path, target: Path, tap_config: Path, target_config: Path, states: list[Any], **kw: Any):
    return SingerEngine(
        ProcessSpec("tap-numbers", [str(tap), "--config", str(tap_config)]),
        ProcessSpec("target-file", [str(target), "--config", str(target_config)]),
        on_state=states.append,
        **kw,
    )


def _rows(tmp_path: Path) -> list[int]:
    return json.loads((tmp_path / "rows.json").read_text())


def _confirmed_and_rows(tmp_path: Path, states: list[Any]) -> tuple[int, list[int]]:
    """The last state the target confirmed (0 for none) and the rows it wrote (none before a state)."""
    confirmed = states[-1]["bookmarks"]["numbers"]["last"] if states else 0
    return confirmed, _rows(tmp_path) if (tmp_path / "rows.json").exists() else []


def _only_what_states_cover(rows: list[int], confirmed: int, every: int) -> bool:
    """The target (which writes at each STATE, and at a clean end of input) wrote up to a STATE only.

    At most one STATE beyond the confirmed one: SIGTERM may land between its write and its print.
    """
    return (
        rows == list(range(1, len(rows) + 1))
        and len(rows) % every == 0
        and len(rows) - confirmed in (0, every)
    )


def test_a_run_counts_records_and_passes_on_only_confirmed_states(counting_tap, file_target, tmp_path):
    states: list[Any] = []
    result = _engine(
        counting_tap, file_target, *_configs(tmp_path, {"records": 2000, "state_every": 500}), states
    ).run()
    assert result.outcome is Outcome.COMPLETED, result.error
    assert result.records == {"numbers": 2000}
    assert _rows(tmp_path) == list(range(1, 2001))
    assert [s["bookmarks"]["numbers"]["last"] for s in states] == [500, 1000, 1500, 2000, 2000]
    assert result.last_state == {"bookmarks": {"numbers": {"last": 2000}}}
    assert result.first_record_after is not None
    assert result.first_record_after <= result.elapsed


def test_stderr_goes_to_the_log_with_secrets_masked(counting_tap, file_target, tmp_path):
    lines: list[tuple[str, str]] = []
    result = _engine(
        counting_tap,
        file_target,
        *_configs(tmp_path, {"records": 3, "password": "hunter22"}),
        [],
        log=lambda name, line: lines.append((name, line)),
        redact=lambda line: line.replace("hunter22", "***"),
    ).run()
    assert result.outcome is Outcome.COMPLETED
    assert ("tap-numbers", "tap starting at 0 with password ***") in lines
    assert not any("hunter22" in line for _, line in lines)


def test_a_failing_tap_fails_the_run_with_its_last_stderr_line(counting_tap, file_target, tmp_path):
    states: list[Any] = []
    result = _engine(
        counting_tap,
        file_target,
        *_configs(tmp_path, {"records": 100, "state_every": 10, "crash_at": 55}),
        states,
    ).run()
    assert result.outcome is Outcome.FAILED
    assert result.error == "tap-numbers exited with code 3: tap crashed on purpose"
    assert result.failed_process == "tap-numbers"  # not the target flext ended
    # The target was ended with SIGTERM, not a clean end of input: it never wrote the records after its
    # last confirmed state (it writes them at the end of its input: 1 to 54 when it was given one).
    confirmed, rows = _confirmed_and_rows(tmp_path, states)
    assert confirmed <= 50
    assert _only_what_states_cover(rows, confirmed, 10), (confirmed, rows)


def test_a_failing_target_fails_the_run_and_never_hangs(counting_tap, file_target, tmp_path):
    tap_config, target_config = _configs(
        tmp_path,
        {"records": 1_000_000, "state_every": 1000},
        {"path": str(tmp_path / "rows.json"), "fail_at": 3000},
    )
    started = time.monotonic()
    result = _engine(counting_tap, file_target, tap_config, target_config, []).run()
    assert result.outcome is Outcome.FAILED
    assert result.error == "target-file exited with code 7: target refused record 3000"
    assert result.error_code == "RUN_FAILED"
    assert time.monotonic() - started < 30


def test_malformed_tap_output_fails_the_run_naming_the_line(counting_tap, file_target, tmp_path):
    states: list[Any] = []
    result = _engine(
        counting_tap,
        file_target,
        *_configs(tmp_path, {"records": 50, "state_every": 10, "garbage_at": 25}),
        states,
    ).run()
    assert result.outcome is Outcome.FAILED
    assert result.error_code == "SINGER_PROTOCOL_ERROR"
    assert result.error is not None
    assert "tap-numbers sent a malformed Singer message on line 28: not JSON" in result.error
    assert result.records == {"numbers": 24}
    # The lines before the bad one reached the target, which was then ended with SIGTERM: it kept what
    # its last confirmed state covers, not the 24 records a clean end of input would have had it write.
    confirmed, rows = _confirmed_and_rows(tmp_path, states)
    assert confirmed <= 20
    assert _only_what_states_cover(rows, confirmed, 10), (confirmed, rows)


def test_a_missing_executable_is_a_clear_failure(file_target, tmp_path):
    result = SingerEngine(
        ProcessSpec("tap-nowhere", [str(tmp_path / "tap-nowhere")]),
        ProcessSpec("target-file", [str(file_target), "--config", str(_configs(tmp_path, {})[1])]),
    ).run()
    assert result.outcome is Outcome.FAILED
    assert result.error_code == "NOT_FOUND"
    assert result.error is not None
    assert result.error.startswith("tap-nowhere is not installed")


def test_stop_is_graceful_the_target_keeps_what_it_confirmed(counting_tap, file_target, tmp_path):
    states: list[Any] = []
    engine = _engine(
        counting_tap,
        file_target,
        *_configs(tmp_path, {"records": 100_000, "state_every": 10, "delay": 0.001}),
        states,
    )
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    result = engine.run(stop, stop_timeout=10)
    assert result.outcome is Outcome.STOPPED
    assert result.error is None  # the target ended on SIGTERM; nothing had to be killed
    confirmed, loaded = _confirmed_and_rows(tmp_path, states)
    assert 0 < confirmed < 100_000
    # The target got SIGTERM, not a clean end of input: it kept what its last confirmed state covers.
    assert _only_what_states_cover(loaded, confirmed, 10), (confirmed, loaded)


def test_a_stop_with_a_target_that_stopped_reading_is_forced_and_never_hangs(counting_tap, tmp_path):
    stuck = tmp_path / "target-stuck"
    stuck.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(600)\n")
    stuck.chmod(0o755)
    tap_config, _ = _configs(tmp_path, {"records": 1_000_000, "state_every": 1000})
    engine = SingerEngine(
        ProcessSpec("tap-numbers", [str(counting_tap), "--config", str(tap_config)]),
        ProcessSpec("target-stuck", [str(stuck)]),
        buffer_size=1 << 20,
    )
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    result = engine.run(stop, stop_timeout=2)
    assert time.monotonic() - started < 20
    assert result.outcome is not Outcome.COMPLETED


def test_the_tap_runs_ahead_of_a_busy_target_by_the_buffer(counting_tap, file_target, tmp_path):
    # 60,000 records are about 3 MB: more than two pipes and a relay chunk hold, so without the
    # buffer the tap would stall until the target, busy for its first 3 s, starts reading.
    tap_config, target_config = _configs(
        tmp_path, {"records": 60_000, "state_every": 1000}, {"path": str(tmp_path / "rows.json"), "wait": 3}
    )
    engine = _engine(counting_tap, file_target, tap_config, target_config, [])
    outcome: list[Any] = []
    done = threading.Thread(target=lambda: outcome.append(engine.run()))
    done.start()
    deadline = time.monotonic() + 30
    while engine.scanner.records["numbers"] < 60_000:
        assert time.monotonic() < deadline, "the tap's records never all passed flext"
        time.sleep(0.02)
    assert not (tmp_path / "rows.json").exists(), "the tap finished only once the target had started"
    done.join(60)
    assert outcome[0].outcome is Outcome.COMPLETED
    assert _rows(tmp_path) == list(range(1, 60_001))


def test_target_state_lines_bare_or_wrapped_are_confirmed_and_chatter_is_not():
    from flext_plugin_singer.protocol import parse_state_line

    assert parse_state_line(b'{"bookmarks": {"a": 1}}\n') == {"bookmarks": {"a": 1}}
    assert parse_state_line(b'{"type": "STATE", "value": {"b": 2}}') == {"b": 2}
    assert parse_state_line(b"INFO loaded 10 rows") is None
    assert parse_state_line(b'{"type": "RECORD", "stream": "x", "record": {}}') is None
    assert parse_state_line(b"[1, 2]") is None


def test_failure_summary_prefers_the_sdk_error_lines_and_else_the_last_line_that_is_not_noise():
    sdk = [
        "2026-11-24 21:14:24,448 | INFO     | tap-x    | tap-x v1, Meltano SDK v0.54",
        "2026-11-24 21:14:24,448 | ERROR    | tap-x    | 'files' is a required property",
        "2026-11-24 21:14:24,448 | ERROR    | tap-x    | Config validation failed",
    ]
    assert failure_summary(sdk) == "'files' is a required property; Config validation failed"
    traceback = ["Traceback (most recent call last):", '  File "x.py", line 1', "ValueError: no such table"]
    assert failure_summary(traceback) == "ValueError: no such table"
    assert failure_summary(sdk[:1]) == ""  # an INFO line does not say why anything failed
    assert failure_summary(["no such file: a.ldif"]) == "no such file: a.ldif"  # else the last line
    assert failure_summary([]) == ""
    # A FLEXT connector's own one-line error is not prefixed twice in the run's error line.
    assert failure_summary(["error: people.ldif:12: refused (VALIDATION_ERROR)"]) == (
        "people.ldif:12: refused (VALIDATION_ERROR)"
    )


def test_a_stop_drops_what_waits_in_the_buffer_so_a_slow_target_stops_gracefully(file_target, tmp_path):
    # 20,000 records of 2 kB (40 MB) wait in flext's buffer for a target that takes 10 ms each: writing
    # them all would take 200 s. A stop hands the target nothing more than the slice being written;
    # it is then ended with SIGTERM within the stop timeout, unforced, keeping what its last state covers.
    tap = tmp_path / "tap-wide"
    tap.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        "print(json.dumps({'type': 'SCHEMA', 'stream': 'numbers', 'key_properties': ['n'],"
        " 'schema': {'type': 'object', 'properties': {'n': {'type': 'integer'}}}}))\n"
        "for n in range(1, 20001):\n"
        "    record = {'n': n, 'pad': 'x' * 2000}\n"
        "    print(json.dumps({'type': 'RECORD', 'stream': 'numbers', 'record': record}))\n"
        "    if n % 10 == 0:\n"
        "        print(json.dumps({'type': 'STATE', 'value': {'bookmarks': {'numbers': {'last': n}}}}))\n"
    )
    tap.chmod(0o755)
    _, target_config = _configs(tmp_path, {}, {"path": str(tmp_path / "rows.json"), "delay": 0.01})
    states: list[Any] = []
    engine = SingerEngine(
        ProcessSpec("tap-wide", [str(tap)]),
        ProcessSpec("target-file", [str(file_target), "--config", str(target_config)]),
        on_state=states.append,
    )
    stop = threading.Event()
    threading.Timer(3.0, stop.set).start()
    result = engine.run(stop, stop_timeout=15)
    assert result.outcome is Outcome.STOPPED, result.error
    assert result.error is None  # nothing had to be killed
    confirmed, loaded = _confirmed_and_rows(tmp_path, states)
    assert 0 < confirmed < 20_000
    assert _only_what_states_cover(loaded, confirmed, 10), (confirmed, loaded)


@given(
    st.lists(st.binary(max_size=300).map(lambda line: line.replace(b"\n", b"") + b"\n"), max_size=50),
    st.integers(1, 700),
)
def test_slices_end_at_a_line_s_end_and_add_up_to_the_data(lines, size):
    from flext_plugin_singer.engine import _line_slices

    data = b"".join(lines)
    pieces = [bytes(piece) for piece in _line_slices(data, size)]
    assert b"".join(pieces) == data
    assert all(piece.endswith(b"\n") for piece in pieces)


def test_a_failing_tap_ends_the_mappers_and_the_target_with_sigterm(counting_tap, file_target, tmp_path):
    # With a mapper between them the target's input is the mapper's output: the mapper must not pass it
    # a clean end of input either. ``cat`` is a mapper that changes nothing.
    tap_config, target_config = _configs(tmp_path, {"records": 100, "state_every": 10, "crash_at": 55})
    states: list[Any] = []
    result = SingerEngine(
        ProcessSpec("tap-numbers", [str(counting_tap), "--config", str(tap_config)]),
        ProcessSpec("target-file", [str(file_target), "--config", str(target_config)]),
        [ProcessSpec("mapper-cat", ["cat"])],
        on_state=states.append,
    ).run()
    assert result.outcome is Outcome.FAILED
    assert result.error == "tap-numbers exited with code 3: tap crashed on purpose"
    confirmed, rows = _confirmed_and_rows(tmp_path, states)
    assert confirmed <= 50
    assert _only_what_states_cover(rows, confirmed, 10), (confirmed, rows)


def test_no_connector_is_given_the_secret_stores_key(file_target, tmp_path, monkeypatch):
    # FLEXT_SECRET_KEY opens every secret; a tap or target gets only what its configuration names.
    monkeypatch.setenv("FLEXT_SECRET_KEY", "the vault passphrase")
    monkeypatch.setenv("FLEXT_TEST_VISIBLE", "kept")
    tap = tmp_path / "tap-env"
    tap.write_text(
        f"#!{sys.executable}\n"
        "import json, os\n"
        f"json.dump(dict(os.environ), open({str(tmp_path / 'seen.json')!r}, 'w'))\n"
        'print(json.dumps({"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": []}))\n'
    )
    tap.chmod(0o755)
    for env in (None, {"EXTRA": "1"}):  # the process's environment, and it plus a step's variables
        result = SingerEngine(
            ProcessSpec("tap-env", [str(tap)], env=env),
            ProcessSpec("target-file", [str(file_target), "--config", str(_configs(tmp_path, {})[1])]),
        ).run()
        assert result.outcome is Outcome.COMPLETED, result.error
        seen = json.loads((tmp_path / "seen.json").read_text())
        assert "FLEXT_SECRET_KEY" not in seen
        assert seen["FLEXT_TEST_VISIBLE"] == "kept"
