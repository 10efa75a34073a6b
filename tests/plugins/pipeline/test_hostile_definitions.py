"""Hostile pipeline definitions: alias bombs, recursive aliases, duplicate keys, bad bytes, huge files.

Each is given to the real ``flext pipeline create`` (a subprocess, with its
memory limited where the file is a bomb) and must be refused at once with a
``VALIDATION_ERROR`` naming the file and line, exit code 2, leaving nothing
registered; Ctrl-C while a definition is being read still ends the command.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest
from flext_plugin_pipeline.definition import MAX_DEFINITION_BYTES, parse_definition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_sdk.testing import flext_command

HEAD = "name: {name}\nextract:\n  name: tap-x\n  config:\n"
TAIL = "load: {name: target-y}\n"


def _laughs(levels: int, name: str) -> str:
    """The billion laughs inside a tap's config (free-form, so the keys themselves are accepted)."""
    lines = ['    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        anchor, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"    {anchor}: &{anchor} [" + ",".join([f"*{previous}"] * 9) + "]")
    return HEAD.format(name=name) + "\n".join(lines) + "\n" + TAIL


def _limited(megabytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    return limit


def _create(flext_cli, path: Path, *, memory_mb: int = 1024, timeout: float = 60) -> tuple[int, str, float]:
    """``flext pipeline create PATH`` with its address space limited: (exit code, stderr, seconds)."""
    began = time.monotonic()
    done = subprocess.run(
        [*flext_command(), "pipeline", "create", str(path)],
        capture_output=True,
        text=True,
        env=flext_cli.environment(),
        timeout=timeout,
        preexec_fn=_limited(memory_mb),
        check=False,
    )
    return done.returncode, done.stderr, time.monotonic() - began


def _registered(flext_cli) -> list[str]:
    folder = flext_cli.home / "data" / "project" / "pipelines"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("levels", [10, 6])
def test_the_billion_laughs_is_refused_at_once_in_bounded_memory(flext_cli, tmp_path, levels):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_laughs(levels, "bomb"))
    assert bomb.stat().st_size < 700
    code, stderr, _took = _create(flext_cli, bomb, memory_mb=1024)
    assert code == 2, stderr
    assert f"error: {bomb}:" in stderr
    assert "aliases are expanded" in stderr
    assert stderr.rstrip().endswith("(VALIDATION_ERROR)"), stderr
    assert "Traceback" not in stderr
    assert _registered(flext_cli) == []


def test_a_long_value_repeated_by_aliases_does_not_become_a_huge_registered_copy(flext_cli, tmp_path):
    value = "x" * 200_000
    bomb = tmp_path / "long.yaml"
    bomb.write_text(
        HEAD.format(name="long") + f'    s: &s "{value}"\n    l: [' + ", ".join(["*s"] * 500) + "]\n" + TAIL
    )
    code, stderr, _took = _create(flext_cli, bomb)
    assert code == 2, stderr
    assert f"{bomb}:6: the definition grows past {MAX_DEFINITION_BYTES} bytes" in stderr
    assert _registered(flext_cli) == []


def test_a_few_aliases_are_still_fine_and_registered_written_out(flext_cli, tmp_path):
    source = tmp_path / "shared.yaml"
    source.write_text(
        "name: shared\nextract:\n  name: tap-x\n  config: &common {host: h, port: 1}\n"
        "load:\n  name: target-y\n  config: *common\n"
    )
    code, stderr, _took = _create(flext_cli, source)
    assert code == 0, stderr
    stored = json.loads((flext_cli.home / "data" / "project" / "pipelines" / "shared.yaml").read_text())
    assert stored["load"]["config"] == {"host": "h", "port": 1}


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        (b"name: p1\nextract: {name: t}\nload: {name: u}\nname: p2\n", 4, "duplicate key 'name'"),
        (b"name: p\nextract: {name: t, config: {a: 1, a: 2}}\nload: {name: u}\n", 2, "duplicate key 'a'"),
        (b"name: p\nextract:\n  name: t\n  config: &x\n    - *x\nload: {name: u}\n", 4, "recursive alias"),
        (b"name: p\nextract: {name: t}\nload: {name: caf\xe9}\n", 3, "byte 0xe9 is not UTF-8"),
        (
            b'{"name": "p", "extract": {"name": "t"},\n "load": {"name": "u"}, "name": "q"}\n',
            2,
            "duplicate key",
        ),
    ],
)
def test_recursive_aliases_duplicate_keys_and_bad_bytes_name_the_file_and_line(
    flext_cli, tmp_path, body, line, problem
):
    source = tmp_path / "hostile.yaml"
    source.write_bytes(body)
    for options in ((), ("--output", "json")):
        created = flext_cli(*options, "pipeline", "create", str(source))
        assert created.exit_code == 2, created
        message = created.json()["error"] if options else created.stderr
        assert f"{source}:{line}: " in message, message
        assert problem in message, message
        assert "Traceback" not in created.stderr
        if options:
            assert created.json()["code"] == "VALIDATION_ERROR"
    assert _registered(flext_cli) == []


def test_a_file_too_large_for_a_definition_is_refused_without_reading_it_all(flext_cli, tmp_path):
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.write(b"name: huge\ndescription: ")
        handle.truncate(200 << 20)  # 200 MB, sparse
    code, stderr, _took = _create(flext_cli, huge, memory_mb=600)
    assert code == 2, stderr
    assert f"{huge}: is larger than {MAX_DEFINITION_BYTES} bytes" in stderr
    code, stderr, _took = _create(flext_cli, Path("/dev/zero"), memory_mb=600)
    assert code == 2, stderr


def test_an_oversized_registered_copy_is_skipped_by_list_and_refused_by_run(flext_cli, tmp_path):
    folder = flext_cli.home / "data" / "project" / "pipelines"
    folder.mkdir(parents=True)
    config = {str(key): ["lol"] * 50 for key in range(5000)}  # ~2.5 MB, as older versions registered a bomb
    document = {"name": "old-bomb", "extract": {"name": "tap-x", "config": config}, "load": {"name": "t"}}
    (folder / "old-bomb.yaml").write_text(json.dumps(document))
    began = time.monotonic()
    listed = flext_cli("--output", "json", "pipeline", "list")
    assert listed.exit_code == 0, listed
    assert listed.json()["data"] == []
    assert time.monotonic() - began < 10
    ran = flext_cli("pipeline", "run", "old-bomb")
    assert ran.exit_code == 2, ran
    assert f"is larger than {MAX_DEFINITION_BYTES} bytes" in ran.stderr


def test_ctrl_c_while_a_definition_is_read_ends_the_command(flext_cli, tmp_path):
    fifo = tmp_path / "never-written.yaml"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [*flext_command(), "pipeline", "create", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=flext_cli.environment(),
    )
    time.sleep(3)  # flext is blocked opening the FIFO, which nobody writes
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert "Traceback" not in err


YAMLISH = st.lists(
    st.sampled_from(
        [*"ab:{}[], -&*\n\"'#!|>?%@`\t\\", "\xe9", "\0", "&a ", "*a", "name: p\n", "extract:\n  ", "<<: "]
    )
).map("".join)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(YAMLISH)
def test_any_text_is_a_definition_or_one_validation_error_with_a_line(text):
    result = parse_definition(text, "fuzz.yaml")
    if result.is_failure:
        assert result.error_code == "VALIDATION_ERROR", result.error
        assert (result.error or "").startswith("fuzz.yaml:"), result.error


@settings(max_examples=60, deadline=3000)
@given(st.integers(min_value=2, max_value=12), st.integers(min_value=2, max_value=40))
def test_generated_alias_bombs_are_refused_in_bounded_time(levels, width):
    lines = ["    l0: &l0 [x]"]
    for level in range(1, levels):
        lines.append(f"    l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    text = HEAD.format(name="gen") + "\n".join(lines) + "\n" + TAIL
    began = time.monotonic()
    result = parse_definition(text, "gen.yaml")
    assert time.monotonic() - began < 2
    if width ** (levels - 1) > 10_000:
        assert result.error_code == "VALIDATION_ERROR", (levels, width)
    if result.is_success:
        assert len(json.dumps(result.value.model_dump(mode="json"))) <= MAX_DEFINITION_BYTES
