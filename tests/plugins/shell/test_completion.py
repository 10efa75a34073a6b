"""``flext completion``: the scripts really complete in bash (sourced, driven as bash drives them) and
``flext completion candidates`` answers commands, options, choices and dynamic names."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from .helpers import FLEXT, flext, flext_env

pytestmark = pytest.mark.slow


def candidates(home: Path, line: str) -> list[str]:
    done = flext(home, "completion", "candidates", FLEXT_COMP_LINE=line)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def bash_complete(home: Path, line: str) -> list[str]:
    """What bash offers for ``line`` (cursor at its end), with ``flext completion show bash`` sourced."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = f"""
        PATH={shlex.quote(str(Path(FLEXT).parent))}:$PATH
        source <(flext completion show bash)
        complete -p flext >/dev/null || exit 3
        COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}
        COMP_WORDS=({" ".join(shlex.quote(word) for word in words)}); COMP_CWORD={len(words) - 1}
        _flext_complete
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    done = subprocess.run(
        ["bash", "--norc", "-c", script], env=flext_env(home), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_a_command_an_option_and_a_pipeline(pipeline_home: Path) -> None:
    assert bash_complete(pipeline_home, "flext pipel") == ["pipeline"]
    assert "status" in bash_complete(pipeline_home, "flext pipeline ")
    assert bash_complete(pipeline_home, "flext pipeline run --dry") == ["--dry-run"]
    assert bash_complete(pipeline_home, "flext pipeline run ") == ["nightly-orders"]


def test_bash_completes_in_an_interactive_shell(pipeline_home: Path) -> None:
    """``bash -i`` with the installed script: ``compgen``-style check that the function is registered."""
    installed = flext(pipeline_home, "completion", "install", "bash")
    assert installed.returncode == 0, installed.stderr
    script = pipeline_home / "user/.local/share/bash-completion/completions/flext"
    done = subprocess.run(
        ["bash", "-ic", f"source {shlex.quote(str(script))}; complete -p flext"],
        env=flext_env(pipeline_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "complete -o default -F _flext_complete flext" in done.stdout, done.stderr


def test_candidates_choices_globals_aliases_and_paths(home: Path, tmp_path: Path) -> None:
    assert candidates(home, "flext --output ") == ["table", "json", "yaml"]
    assert candidates(home, "flext completion show ") == ["bash", "zsh", "fish"]
    assert "shell" in candidates(home, "flext plugin info ")
    flext(home, "alias", "add", "ps", "pipeline status")
    assert "ps" in candidates(home, "flext p")
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "orders.yaml").write_text("name: orders\n")
    assert candidates(home, f"flext pipeline create {tmp_path}/defs/or") == [f"{tmp_path}/defs/orders.yaml"]


def test_every_script_names_the_candidates_command(home: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        done = flext(home, "completion", "show", shell)
        assert done.returncode == 0
        assert "flext completion candidates" in done.stdout
    bad = flext(home, "completion", "show", "tcsh")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error:")
    assert "Traceback" not in bad.stderr
