"""The hidden prompts on a real terminal: tmux runs ``flext secret set``, ``send-keys`` types.

Nothing typed (the value, the passphrase twice for a new file) is echoed,
and what was typed is what is stored.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from .conftest import PASSPHRASE, PLAINTEXT_KEYRING, Secrets

VALUE = "typed-at-the-prompt-9f3k"
TYPED_PASSPHRASE = "a passphrase typed twice"

pytestmark = pytest.mark.slow


class Terminal:
    """One tmux server of the test's own (its own socket), killed at the end."""

    def __init__(self) -> None:
        self.socket = f"flext-secrets-{uuid.uuid4().hex[:12]}"

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t", "-S", "-100")

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            assert time.monotonic() < deadline, f"{text!r} never appeared:\n{shown}"
            time.sleep(0.1)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "t", "-l", text)
        self.tmux("send-keys", "-t", "t", "Enter")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed for the terminal tests (apt-get install tmux)")
    opened = Terminal()
    try:
        yield opened
    finally:
        subprocess.run(["tmux", "-L", opened.socket, "kill-server"], capture_output=True, check=False)


def test_value_and_new_passphrase_are_typed_hidden(secrets: Secrets, terminal: Terminal) -> None:
    environment = {
        "FLEXT_HOME": str(secrets.runner.home),
        "HOME": str(secrets.user_home),
        "XDG_DATA_HOME": str(secrets.user_home / ".local" / "share"),
        "PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING,
        "NO_COLOR": "1",
    }
    command = " ".join(
        [
            "env -u FLEXT_SECRET_KEY",
            *(f"{key}={shlex.quote(value)}" for key, value in environment.items()),
            shlex.join([*secrets.runner.command, "secret", "set", "PROMPTED"]),
            "; echo EXIT=$?; sleep 120",
        ]
    )
    terminal.tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "40", command)
    terminal.wait_for("value of PROMPTED (hidden):")
    terminal.type(VALUE)
    terminal.wait_for("passphrase of the secrets file (hidden):")
    terminal.type(TYPED_PASSPHRASE)
    terminal.wait_for("the same passphrase again:")
    terminal.type(TYPED_PASSPHRASE)
    shown = terminal.wait_for("EXIT=")
    assert "EXIT=0" in shown, shown
    assert VALUE not in shown
    assert TYPED_PASSPHRASE not in shown
    assert secrets.holding(VALUE) == []
    revealed = secrets("secret", "get", "PROMPTED", "--reveal", env={"FLEXT_SECRET_KEY": TYPED_PASSPHRASE})
    assert revealed.stdout == VALUE + "\n", revealed


def test_a_passphrase_prompt_does_not_hold_other_writers(secrets: Secrets, terminal: Terminal) -> None:
    """One ``flext secret set`` waits at the passphrase prompt; another (key in its env) still completes."""
    assert secrets("secret", "set", "FIRST", input="makes-the-file").exit_code == 0
    environment = {
        "FLEXT_HOME": str(secrets.runner.home),
        "HOME": str(secrets.user_home),
        "XDG_DATA_HOME": str(secrets.user_home / ".local" / "share"),
        "PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING,
        "NO_COLOR": "1",
    }
    command = " ".join(
        [
            "env -u FLEXT_SECRET_KEY",
            *(f"{key}={shlex.quote(value)}" for key, value in environment.items()),
            shlex.join([*secrets.runner.command, "secret", "set", "WAITING"]),
            "; echo EXIT=$?; sleep 120",
        ]
    )
    terminal.tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "40", command)
    terminal.wait_for("value of WAITING (hidden):")
    terminal.type(VALUE)
    terminal.wait_for("passphrase of the secrets file (hidden):")
    # The prompt is up and nobody answers it: a writer with the key must not wait for that person.
    other = subprocess.run(
        [*secrets.runner.command, "secret", "set", "OTHER"],
        input="other-value",
        capture_output=True,
        text=True,
        env=secrets.environment(),
        timeout=90,  # a hang guard, not a timed assertion: before the fix it waited forever
        check=False,
        start_new_session=True,
    )
    assert other.returncode == 0, other.stderr
    terminal.type(PASSPHRASE)
    shown = terminal.wait_for("EXIT=")
    assert "EXIT=0" in shown, shown
    names = sorted(row["name"] for row in secrets("--output", "json", "secret", "list").json()["data"])
    assert names == ["FIRST", "OTHER", "WAITING"]
    assert secrets("secret", "get", "WAITING", "--reveal").stdout == VALUE + "\n"
    assert secrets("secret", "get", "OTHER", "--reveal").stdout == "other-value\n"
