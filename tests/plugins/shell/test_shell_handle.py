"""``Shell.handle``, the shell's handling of one typed line, in a fresh interpreter (no terminal needed).

A line typed in the shell and the same words on the command line must do the same thing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .helpers import flext, flext_env

_HANDLE = (
    "import json, sys\n"
    "from flext_plugin_shell.context import open_catalog\n"
    "from flext_plugin_shell.shell import Shell\n"
    "catalog, table, _ = open_catalog()\n"
    "code = Shell(catalog, table).handle(sys.argv[1])\n"
    "sys.stdout.flush()\n"
    "print('\\nHANDLED ' + json.dumps(code))\n"
)


def handle(home: Path, line: str) -> tuple[int | None, str, str]:
    """(exit code, stdout before it, stderr) of ``Shell.handle(line)`` in ``home``."""
    done = subprocess.run(
        [sys.executable, "-c", _HANDLE, line],
        env=flext_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out, marker, code = done.stdout.rpartition("\nHANDLED ")
    assert marker, done.stdout + done.stderr
    return json.loads(code), out, done.stderr


def test_flext_alone_in_the_shell_does_nothing(home: Path) -> None:
    # `flext` alone on a terminal opens the shell; typed inside the shell it must not open a second one.
    for line in ("flext", "  flext  "):
        code, out, err = handle(home, line)
        assert (code, out.strip(), err) == (0, "", "")


def test_an_alias_is_expanded_once_in_the_shell_as_on_the_command_line(home: Path) -> None:
    assert flext(home, "alias", "add", "bb", "version").returncode == 0
    assert flext(home, "alias", "add", "aa", "bb").returncode == 0
    on_the_command_line = flext(home, "aa")
    code, out, err = handle(home, "aa")
    assert code == on_the_command_line.returncode == 2, (out, err)
    assert "unknown command 'bb'" in on_the_command_line.stderr
    assert "unknown command 'bb'" in out + err
    # One alias still works in the shell (the kernel's rewriter expands it), and !N re-runs it.
    code, out, _ = handle(home, "bb")
    assert code == 0, out
    assert out.startswith("flext "), out  # what `flext version` prints first
    listed = flext(home, "history", "--output", "json")
    entry = next(row for row in json.loads(listed.stdout)["data"] if row["command"] == "bb")
    code, out, _ = handle(home, f"!{entry['id']}")
    assert code == 0, out
    assert out.splitlines()[0] == "flext bb", out
