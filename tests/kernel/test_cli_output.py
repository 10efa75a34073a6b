"""Tables: rich on a terminal; piped, plain text with nothing cut and no rich import."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator

import pytest

from flext_kernel.cli import output
from flext_kernel.cli.settings import Settings, replace_current


class _Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _settings() -> Iterator[None]:
    replace_current(Settings())
    yield
    replace_current(Settings())


ROWS: list[dict[str, object]] = [
    {"stream": "users", "records": "5", "note": None},
    {"stream": "organizational_units", "records": "1,234", "note": ["a", "b"]},
]


def test_a_piped_table_is_plain_text_one_line_per_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert output.emit_table(ROWS, ["stream", "records", "note"], title="bench: run 1 completed") == 0
    assert capsys.readouterr().out.splitlines() == [
        "bench: run 1 completed",
        "stream                records  note",
        "--------------------  -------  ----",
        "users                 5",
        "organizational_units  1,234    a, b",
    ]


def test_a_piped_table_cuts_nothing_and_keeps_each_row_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long = "x" * 300
    rows = [{"name": long, "error": "first line\nsecond line"}, {"name": "short", "error": ""}]
    output.emit_table(rows, ["name", "error"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "error"]  # no title line without a title
    assert lines[2] == f"{long}  first line second line"
    assert lines[3] == "short"
    assert len(lines) == 4


def test_a_table_without_rows_still_names_its_columns(capsys: pytest.CaptureFixture[str]) -> None:
    output.emit_table([], ["plugin", "problem"])
    assert capsys.readouterr().out == "plugin  problem\n------  -------\n"


def test_a_table_on_a_terminal_is_still_drawn_by_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    output.emit_table(ROWS, ["stream", "records"], title="Pipelines")
    drawn = terminal.getvalue()
    assert "┏━" in drawn
    assert "│ organizational_units │" in drawn


def test_machine_output_is_unchanged_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    replace_current(Settings(output="json"))
    output.emit_table(ROWS[:1], ["stream"])
    assert '"ok": true' in capsys.readouterr().out


def test_a_piped_table_does_not_import_rich() -> None:
    code = (
        "import sys\n"
        "from flext_kernel.cli import output\n"
        "output.emit_table([{'a': 1}], ['a'], title='t')\n"
        "assert 'rich' not in sys.modules, sorted(m for m in sys.modules if m.startswith('rich'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "t\na\n-\n1\n"
