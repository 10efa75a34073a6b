"""``workers``: several processes read a large file in parts, and the messages and state are the same.

Parts are cut at empty lines; each is read in its own forked process and the
parts are merged in file order. Whatever the number of workers, the RECORD
messages (but their ``time_extracted``), the bookmarks and their digests are
those of one process, and an error is reported at its line in the whole file
with nothing written. Several processes read only with ``changes_stream:
false`` (change records are numbered in the order of the whole input), so
these runs set it; with the default, a ``workers`` setting is logged as
ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_ldif.ldif_parser import read_ldif, read_ldif_part, record_boundaries
from flext_plugin_ldif.sample import write_directory

SPLIT = {"changes_stream": False}
"""What lets the tap read in several processes (changes_stream is on by default)."""


def _comparable(run: Any) -> list[dict[str, Any]]:
    messages = []
    for message in run.messages:
        message = dict(message)
        message.pop("time_extracted", None)
        messages.append(message)
    return messages


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workers") / "directory.ldif"
    write_directory(path, users=6_000, groups=40, ous=5, seed=4)  # about 4 MB, CRLF-free
    return path


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_the_parts_of_a_file_read_as_the_whole_file(directory: Path, parts: int) -> None:
    ranges = record_boundaries(directory, parts)
    assert len(ranges) == parts
    assert ranges[0][0] == 0
    assert ranges[-1][1] == directory.stat().st_size
    whole = [(e.dn, e.line, e.attributes) for e in read_ldif(directory)]
    pieces = [
        (e.dn, e.line, e.attributes)
        for start, end, line in ranges
        for e in read_ldif_part(directory, start, end, line)
    ]
    assert pieces == whole


def test_crlf_files_are_cut_at_empty_lines_too(tmp_path: Path) -> None:
    path = tmp_path / "crlf.ldif"
    path.write_bytes(b"version: 1\r\n\r\n" + b"".join(
        b"dn: cn=u%d,dc=x\r\ncn: u%d\r\nsn: \xc3\xa9\r\n\r\n" % (n, n) for n in range(500)))  # fmt: skip
    ranges = record_boundaries(path, 4)
    assert len(ranges) == 4
    pieces = [e.line for start, end, line in ranges for e in read_ldif_part(path, start, end, line)]
    assert pieces == [e.line for e in read_ldif(path)]


@pytest.mark.parametrize("workers", [2, 3])
def test_the_tap_gives_the_same_messages_and_state_with_workers(
    run_tap, directory: Path, workers: int
) -> None:
    one = run_tap({"files": [str(directory)], "workers": 1, **SPLIT})
    several = run_tap({"files": [str(directory)], "workers": workers, **SPLIT})
    assert several.exit_code == 0, several.stderr
    assert "is ignored" not in several.stderr
    assert _comparable(several) == _comparable(one)
    again = run_tap({"files": [str(directory)], "workers": workers, **SPLIT}, state=several.state)
    assert again.of("RECORD") == []


def test_with_the_changes_stream_workers_is_ignored_and_the_log_says_so(run_tap, directory: Path) -> None:
    run = run_tap({"files": [str(directory)], "workers": 3})
    assert run.exit_code == 0, run.stderr
    assert (
        "workers: 3 is ignored: changes_stream follows the order of the whole input, so one process reads "
        "it; set changes_stream: false (and apply_changes: false) to read in several processes"
    ) in run.stderr
    assert sum(run.counts().values()) == 6_000 + 40 + 5 + 3


def test_an_error_in_a_later_part_is_reported_at_its_line_with_nothing_written(
    run_tap, directory: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ldif"
    text = directory.read_text(encoding="utf-8")
    lines = text.split("\n")
    at = len(lines) * 3 // 4
    while not lines[at].startswith("mail: "):
        at += 1
    lines[at] = "mail broken"
    broken.write_text("\n".join(lines), encoding="utf-8")
    run = run_tap({"files": [str(broken)], "workers": 3, **SPLIT})
    assert run.exit_code == 1
    assert run.errors()[0].startswith(f"error: {broken}:{at + 1}: expected 'attribute: value'")
    assert run.of("RECORD") == []
    assert json.dumps(run.of("STATE")).count("replication_key_value") == 0
