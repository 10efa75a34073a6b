"""The real ``flext secret`` in subprocesses, a keyring FLEXT must not trust, and a home of its own.

``Secrets(...)`` runs ``flext`` with ``FLEXT_SECRET_KEY`` set (unless a test
removes it), ``PYTHON_KEYRING_BACKEND`` naming the keyring backend the test
wants ``keyring`` to report (by default ``keyrings.alt``'s plain-text file,
the silent fallback FLEXT must refuse), and ``HOME``/``XDG_DATA_HOME`` under
the test's directory so that a keyring backend that wrote anything would
write it where the test looks. Every run starts a new session (no
controlling terminal), so no test can end up waiting at a prompt.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from flext_sdk.testing import CliResult, FlextCliRunner

PASSPHRASE = "correct horse battery staple"
PLAINTEXT_KEYRING = "keyrings.alt.file.PlaintextKeyring"


class Secrets:
    """``secrets("secret", "set", "NAME", input="value")``: one ``flext`` run; ``files()``: all it wrote."""

    def __init__(self, runner: FlextCliRunner, tmp_path: Path) -> None:
        self.runner = runner
        self.user_home = tmp_path / "user-home"
        self.user_home.mkdir()
        self.env: dict[str, str] = {
            "FLEXT_SECRET_KEY": PASSPHRASE,
            "PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING,
            "HOME": str(self.user_home),
            "XDG_DATA_HOME": str(self.user_home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(self.user_home / ".config"),
        }

    def environment(self, extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
        environment = self.runner.environment(self.env)
        for key, value in (extra or {}).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        return environment

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> CliResult:
        done = subprocess.run(
            [*self.runner.command, *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=self.environment(env),
            timeout=120,
            check=False,
            start_new_session=True,
        )
        return CliResult(tuple(args), done.returncode, done.stdout, done.stderr)

    def files(self) -> list[Path]:
        """Every file under ``FLEXT_HOME`` and the test's ``HOME``."""
        return sorted(
            path for root in (self.runner.home, self.user_home) for path in root.rglob("*") if path.is_file()
        )

    def holding(self, text: str) -> list[Path]:
        """The files whose bytes hold ``text`` (as UTF-8)."""
        needle = text.encode("utf-8")
        return [path for path in self.files() if needle in path.read_bytes()]


@pytest.fixture
def secrets(flext_cli: FlextCliRunner, tmp_path: Path) -> Secrets:
    """Runs ``flext`` for the secrets tests (see the module's docstring)."""
    return Secrets(flext_cli, tmp_path)


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return os.stat(path).st_mode & 0o777
