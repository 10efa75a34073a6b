"""Fixtures of the LDIF plugin's tests: a private slapd (``ldap_server``), and ``run_tap``.

``run_tap(config, *args, state=..., catalog=..., stdin_to=...)`` runs the real
``tap-ldif`` in a subprocess, as a target or Meltano would, and returns a
``TapRun`` with its exit code, stderr and Singer messages.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flext_sdk.testing.ldap_server import ldap_server

__all__ = ["TAP", "TapRun", "ldap_server", "run_tap"]

TAP = Path(sys.executable).with_name("tap-ldif")


class TapRun:
    """What one ``tap-ldif`` run printed."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.exit_code = done.returncode
        self.stdout = done.stdout
        self.stderr = done.stderr
        self.messages = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message["type"] == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [m["record"] for m in self.of("RECORD") if stream is None or m["stream"] == stream]

    def counts(self) -> Counter[str]:
        return Counter(message["stream"] for message in self.of("RECORD"))

    @property
    def state(self) -> dict[str, Any]:
        return self.of("STATE")[-1]["value"]

    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def run_tap(tmp_path: Path) -> Callable[..., TapRun]:
    """Run ``tap-ldif --config`` (and ``--state``/``--catalog`` when given) in ``tmp_path``."""

    def run(config: dict[str, Any], *args: str, state: Any = None, catalog: Any = None) -> TapRun:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        command = [str(TAP), "--config", str(config_file), *args]
        for flag, document, name in (
            ("--state", state, "state.json"),
            ("--catalog", catalog, "catalog.json"),
        ):
            if document is not None:
                (tmp_path / name).write_text(json.dumps(document))
                command += [flag, str(tmp_path / name)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
        return TapRun(done)

    return run
