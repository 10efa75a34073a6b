"""The CLI's run hooks: plugins' argv rewriters (aliases) before a command, run observers (history) after.

The shell plugin declares one of each (``flext.argv_rewriters`` and ``flext.run_observers`` entry
points, read into the command cache); these runs are real ``flext`` processes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from flext_kernel.cli import main as cli_main
from flext_kernel.cli.app import assemble
from flext_sdk.testing import FlextCliRunner


def test_an_alias_runs_on_the_command_line_and_every_run_reaches_the_history(
    flext_cli: FlextCliRunner,
) -> None:
    added = flext_cli("alias", "add", "plugins", "plugin list")
    assert added.exit_code == 0, added.stderr
    listed = flext_cli("--output", "json", "plugins")
    assert listed.exit_code == 0, listed.stderr
    assert any(row["name"] == "shell" for row in listed.json()["data"]), listed.stdout
    failed = flext_cli("pipeline", "status", "no-such-pipeline")
    assert failed.exit_code != 0

    history = flext_cli("history", "--output", "json")
    assert history.exit_code == 0, history.stderr
    rows = history.json()["data"]
    commands = [row["command"] for row in rows]
    # What was typed is recorded (the alias, not its expansion), with each run's exit code.
    assert "--output json plugins" in commands, commands
    by_command = {row["command"]: row for row in rows}
    assert by_command["pipeline status no-such-pipeline"]["exit_code"] == failed.exit_code
    assert by_command["alias add plugins 'plugin list'"]["exit_code"] == 0


_PLUGIN = {"name": "p", "state": "loaded", "commands": [], "groups": []}


def _assembly_with(hooks: dict[str, dict[str, str]]) -> object:
    table = {"plugins": [_PLUGIN], "hooks": hooks}
    return assemble(table, disabled=set(), only=None)


def test_a_failing_rewriter_is_skipped_with_a_warning_and_the_words_are_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = types.ModuleType("flext_test_broken_rewriter")

    def rewrite(tokens: list[str]) -> list[str]:
        raise RuntimeError("alias file unreadable")

    broken.rewrite = rewrite  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, broken.__name__, broken)
    assembly = _assembly_with({"argv_rewriters": {"p": f"{broken.__name__}:rewrite"}})
    assert cli_main._rewritten(assembly, ["ps", "x"]) == ["ps", "x"]  # type: ignore[arg-type]
    assert "argv rewriter flext_test_broken_rewriter:rewrite failed: alias file unreadable" in (
        capsys.readouterr().err
    )


def test_hooks_of_a_hidden_plugin_are_not_called() -> None:
    table = {
        "plugins": [_PLUGIN],
        "hooks": {"run_observers": {"p": "m:f", "gone": "n:g"}},
    }
    assert assemble(table, disabled=set(), only=None).hooks == {"run_observers": ["m:f"]}
    assert assemble(table, disabled={"p"}, only=None).hooks == {"run_observers": []}


def test_a_command_is_never_rewritten_and_global_options_stay_in_front(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upper = types.ModuleType("flext_test_upper_rewriter")
    upper.rewrite = lambda tokens: [token.upper() for token in tokens]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, upper.__name__, upper)
    assembly = _assembly_with({"argv_rewriters": {"p": f"{upper.__name__}:rewrite"}})
    rewritten = cli_main._rewritten(assembly, ["--output", "json", "ps", "-x"])  # type: ignore[arg-type]
    assert rewritten == ["--output", "json", "PS", "-X"]
    assert cli_main._rewritten(assembly, ["version", "x"]) == ["version", "x"]  # type: ignore[arg-type]
    assert cli_main._rewritten(assembly, ["--debug"]) == ["--debug"]  # type: ignore[arg-type]
    # An alias named like a global option's value: the value stays, the command word is rewritten.
    rewritten = cli_main._rewritten(assembly, ["--output", "json", "json"])  # type: ignore[arg-type]
    assert rewritten == ["--output", "json", "JSON"]


def test_observers_are_told_under_the_runs_correlation_id_and_cannot_change_its_exit_code(
    tmp_path: Path,
) -> None:
    told = tmp_path / "told.txt"
    (tmp_path / "flext_test_observer.py").write_text(
        textwrap.dedent(
            f"""
            from flext_kernel.correlation import current_correlation_id

            def observe(argv, code, duration):
                with open({str(told)!r}, "a") as out:
                    out.write(f"{{argv}} {{code}} {{current_correlation_id()}} {{duration >= 0}}\\n")

            def explode(argv, code, duration):
                raise RuntimeError("observer bug")

            def interrupted(argv, code, duration):
                raise KeyboardInterrupt  # Ctrl-C while an observer writes
            """
        )
    )
    script = textwrap.dedent(
        """
        import sys
        from flext_kernel.cli import main as cli_main

        real = cli_main.build

        def build(settings):
            assembly = real(settings)
            targets = ["flext_test_observer:explode", "flext_test_observer:interrupted"]
            targets.append("flext_test_observer:observe")
            assembly.hooks["run_observers"] = targets
            return assembly

        cli_main.build = build
        sys.argv = ["flext", *sys.argv[1:]]
        cli_main.run()
        """
    )
    env = {**_base_env(), "FLEXT_CORRELATION_ID": "audit-run-7", "PYTHONPATH": str(tmp_path)}
    env["FLEXT_HOME"] = str(tmp_path / "home")
    command = [sys.executable, "-c", script]
    done = subprocess.run([*command, "version", "--no-such-option"], capture_output=True, text=True, env=env)
    assert done.returncode == 2, done.stderr  # the usage error's code, whatever an observer did
    assert "Traceback" not in done.stderr
    assert told.read_text() == "['version', '--no-such-option'] 2 audit-run-7 True\n"
    # Asking for help is not an operation: no observer is told (nor imported).
    helped = subprocess.run([*command, "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0, helped.stderr
    assert told.read_text() == "['version', '--no-such-option'] 2 audit-run-7 True\n"


def _base_env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("FLEXT_")}
