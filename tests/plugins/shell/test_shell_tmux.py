"""``flext interactive`` in a real terminal: tmux runs it, ``send-keys`` types, ``capture-pane`` reads.

Each test has its own tmux server and FLEXT_HOME; the screen is polled until what a person would
see is there (no fixed sleeps, no timing assertions).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import FLEXT, flext, flext_env

pytestmark = pytest.mark.slow

PROMPT = "[default] flext>"


class Terminal:
    """One tmux session (its own server socket) running ``flext interactive``, 120 x 40."""

    def __init__(self, home: Path, **extra: str) -> None:
        self.socket = f"flext-shell-test-{uuid.uuid4().hex[:8]}"
        self.rc = home / "shell.rc"
        environment = {key: value for key, value in {**flext_env(home), **extra}.items() if value}
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in environment.items())
        script = (
            f"env -u COLUMNS -u LINES {exports} {FLEXT} interactive; echo $? > {shlex.quote(str(self.rc))}"
        )
        self._tmux("new-session", "-d", "-x", "120", "-y", "40", script)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False)
        return done.stdout

    def screen(self) -> str:
        """The visible screen as text."""
        return self._tmux("capture-pane", "-p")

    def type(self, text: str) -> None:
        """Type ``text`` literally."""
        self._tmux("send-keys", "-l", "--", text)

    def keys(self, *keys: str) -> None:
        """Press tmux keys (``Enter``, ``Tab``, ``C-r``)."""
        self._tmux("send-keys", *keys)

    def wait(self, condition: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        """The screen once ``condition`` holds; else fail naming ``what`` and showing the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if not self.alive():
                pytest.fail(f"the shell ended while waiting for {what}; last screen:\n{screen}")
            assert time.monotonic() < deadline, f"the screen never showed {what}:\n{screen}"
            time.sleep(0.2)

    def prompt_line(self, screen: str | None = None) -> str:
        """The last line of ``screen`` (default: now) showing the prompt: what is being typed."""
        shown = self.screen() if screen is None else screen
        return next((line for line in reversed(shown.splitlines()) if line.startswith(PROMPT)), "")

    def alive(self) -> bool:
        """Whether the shell is still running."""
        return (
            subprocess.run(
                ["tmux", "-L", self.socket, "has-session"], capture_output=True, check=False
            ).returncode
            == 0
        )

    def close(self) -> None:
        self._tmux("kill-server")


@pytest.fixture
def terminal_factory() -> Iterator[Callable[..., Terminal]]:
    made: list[Terminal] = []

    def make(home: Path, **extra: str) -> Terminal:
        terminal = Terminal(home, **extra)
        made.append(terminal)
        terminal.wait(lambda screen: "] flext>" in screen, "the prompt")
        return terminal

    yield make
    for terminal in made:
        terminal.close()


def history(home: Path) -> list[dict[str, object]]:
    done = flext(home, "history", "--limit", "100", "--output", "json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout)["data"])


def test_completes_a_command_with_its_help_in_the_toolbar(
    home: Path, terminal_factory: Callable[..., Terminal]
) -> None:
    shell = terminal_factory(home)
    shell.type("pipel")
    shell.keys("Tab")
    shell.wait(lambda screen: shell.prompt_line().rstrip() == f"{PROMPT} pipeline", "'pipeline' completed")
    shell.type(" statu")
    shell.keys("Tab")
    shell.wait(
        lambda screen: (
            "status" in shell.prompt_line(screen)
            and "flext pipeline status: Show the state of the pipelines." in screen
        ),
        "'pipeline status' completed, its help in the toolbar",
    )


def test_completes_an_option_and_a_pipeline_name(
    pipeline_home: Path, terminal_factory: Callable[..., Terminal]
) -> None:
    shell = terminal_factory(pipeline_home)
    shell.type("pipeline run --dry")
    shell.keys("Tab")
    shell.wait(lambda screen: shell.prompt_line().rstrip().endswith("--dry-run"), "'--dry-run' completed")
    shell.type(" nightly")
    shell.keys("Tab")
    shell.wait(
        lambda screen: shell.prompt_line().rstrip().endswith("nightly-orders"), "the pipeline name completed"
    )


def test_fuzzy_completion_matches_letters_in_order(
    home: Path, terminal_factory: Callable[..., Terminal]
) -> None:
    shell = terminal_factory(home)
    shell.type("intrctv")
    shell.keys("Tab")
    shell.wait(
        lambda screen: shell.prompt_line().rstrip() == f"{PROMPT} interactive",
        "'interactive' fuzzy-completed",
    )


def test_a_failing_command_does_not_end_the_shell(
    home: Path, terminal_factory: Callable[..., Terminal]
) -> None:
    shell = terminal_factory(home)
    shell.type("pipeline run no-such-pipeline")
    shell.keys("Enter")
    shell.wait(lambda screen: "error:" in screen and screen.rstrip().splitlines()[-2:] != [], "the error")
    shell.type("history --failed --output json")
    shell.keys("Enter")
    shell.wait(lambda screen: '"exit_code": 2' in screen, "the failed line in the history")
    assert shell.alive()
    assert [row["command"] for row in history(home) if row["exit_code"] != 0] == [
        "pipeline run no-such-pipeline"
    ]


def test_ctrl_r_finds_an_earlier_line_and_runs_it(
    home: Path, terminal_factory: Callable[..., Terminal]
) -> None:
    flext(home, "alias", "add", "ps", "pipeline status")
    shell = terminal_factory(home)
    shell.type("alias list --output json")
    shell.keys("Enter")
    shell.wait(lambda screen: '"command": "pipeline status"' in screen, "the alias list")
    shell.type("version")
    shell.keys("Enter")
    shell.wait(lambda screen: screen.count(PROMPT) >= 3, "the next prompt")
    shell.keys("C-l")
    shell.keys("C-r")
    shell.type("alias li")
    shell.wait(lambda screen: "I-search backward: alias li" in screen, "the search")
    shell.keys("Enter")  # ends the search with the line found in the buffer
    shell.wait(
        lambda screen: shell.prompt_line().rstrip() == f"{PROMPT} alias list --output json", "the found line"
    )
    shell.keys("Enter")
    shell.wait(lambda screen: '"command": "pipeline status"' in screen, "the found line run again")
    assert [row["command"] for row in history(home)] == [
        "alias add ps 'pipeline status'",  # a flext run outside the shell is recorded too
        "alias list --output json",
        "version",
        "alias list --output json",
    ]


def test_an_alias_runs_its_command_line(home: Path, terminal_factory: Callable[..., Terminal]) -> None:
    shell = terminal_factory(home)
    shell.type('alias add al "alias list --output json"')
    shell.keys("Enter")
    shell.wait(lambda screen: "alias al = alias list --output json" in screen, "the alias added")
    shell.keys("C-l")
    shell.type("al")
    shell.keys("Enter")
    shell.wait(
        lambda screen: '"command": "alias list --output json"' in screen, "alias list run through the alias"
    )
    assert history(home)[-1]["command"] == "al"  # the words typed, as `flext al` on the command line


def test_ctrl_c_clears_the_line_and_ctrl_d_exits(
    home: Path, terminal_factory: Callable[..., Terminal]
) -> None:
    shell = terminal_factory(home)
    shell.type("pipeline run half-typed")
    shell.keys("C-c")
    shell.wait(lambda screen: shell.prompt_line().rstrip() == PROMPT, "a fresh empty prompt")
    assert shell.alive()
    assert history(home) == []  # the cleared line never ran
    shell.keys("C-d")
    deadline = time.monotonic() + 30
    while shell.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not shell.alive()


def test_multi_line_input_and_bang_rerun(home: Path, terminal_factory: Callable[..., Terminal]) -> None:
    shell = terminal_factory(home)
    shell.type("alias list \\")
    shell.keys("Enter")
    shell.wait(lambda screen: "\n..." in screen, "the continuation prompt")
    shell.type("--output json")
    shell.keys("Enter")
    shell.wait(lambda screen: '"data": []' in screen, "the joined line run")
    entry = history(home)[-1]
    assert entry["command"] == "alias list --output json"
    shell.keys("C-l")
    shell.type(f"!{entry['id']}")
    shell.keys("Enter")
    shell.wait(
        lambda screen: "flext alias list --output json" in screen and '"data": []' in screen, "entry re-run"
    )


@pytest.mark.parametrize(
    ("environment", "red"),
    [
        ({"FLEXT_PROFILE": "prod"}, True),
        ({"FLEXT_PROFILE": "production"}, True),
        ({"FLEXT_PROFILE": "staging", "FLEXT_PROFILE_PROTECTED": "1"}, True),
        ({"FLEXT_PROFILE": "staging"}, False),
    ],
)
def test_a_production_profile_is_red_in_the_prompt(
    home: Path, terminal_factory: Callable[..., Terminal], environment: dict[str, str], red: bool
) -> None:
    profile = environment["FLEXT_PROFILE"]
    shell = terminal_factory(home, NO_COLOR="", **environment)
    shell.wait(lambda screen: f"[{profile}] flext>" in screen, "the profile in the prompt")
    coloured = shell._tmux("capture-pane", "-p", "-e")
    line = next(line for line in coloured.splitlines() if f"[{profile}]" in line)
    before = line.split(f"[{profile}]")[0]
    assert ("31m" in before or ";31" in before) is red, repr(line)
