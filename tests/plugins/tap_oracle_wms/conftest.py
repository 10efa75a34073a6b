"""tap-oracle-wms's tests: the ``wms`` fixture (a local WMS, ``tap_oracle_wms.testing``) and ``run_tap``.

``run_tap(config, *args, state=..., catalog=...)`` runs the real
``tap-oracle-wms`` in a subprocess, with the config in a file.
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
from pytest_httpserver import HTTPServer
from tap_oracle_wms.testing import (
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    TOKEN_PATH,
    USER,
    FakeWms,
    Fault,
    describe_of,
    make_rows,
)

__all__ = [
    "API", "CLIENT_ID", "CLIENT_SECRET", "PASSWORD", "TAP", "TOKEN_PATH", "USER",
    "FakeWms", "Fault", "TapRun", "describe_of", "make_rows", "run_tap", "wms",
]  # fmt: skip

TAP = Path(sys.executable).with_name("tap-oracle-wms")


@pytest.fixture
def wms(httpserver: HTTPServer) -> FakeWms:
    """A fake WMS on pytest-httpserver's loopback server, with no entities yet."""
    return FakeWms(httpserver)


class TapRun:
    """What one ``tap-oracle-wms`` run printed."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.exit_code = done.returncode
        self.stdout = done.stdout
        self.stderr = done.stderr

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The Singer messages on stdout, one per line."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def catalog(self) -> dict[str, Any]:
        """What ``--discover`` printed."""
        found: dict[str, Any] = json.loads(self.stdout)
        return found

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The messages of one type (``RECORD``, ``STATE``...)."""
        return [message for message in self.messages if message["type"] == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        """The records (of ``stream``)."""
        return [m["record"] for m in self.of("RECORD") if stream is None or m["stream"] == stream]

    def counts(self) -> Counter[str]:
        """Records per stream."""
        return Counter(message["stream"] for message in self.of("RECORD"))

    @property
    def state(self) -> dict[str, Any]:
        """The last STATE's value."""
        value: dict[str, Any] = self.of("STATE")[-1]["value"]
        return value

    def errors(self) -> list[str]:
        """The ``error:`` lines of stderr."""
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


RunTap = Callable[..., TapRun]


@pytest.fixture
def run_tap(tmp_path: Path) -> RunTap:
    """Run ``tap-oracle-wms --config`` (and ``--state``/``--catalog`` when given) in ``tmp_path``."""

    def run(config: dict[str, Any], *args: str, state: Any = None, catalog: Any = None) -> TapRun:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        command = [str(TAP), "--config", str(config_file), *args]
        if state is not None:
            (tmp_path / "state.json").write_text(json.dumps(state))
            command += ["--state", str(tmp_path / "state.json")]
        if catalog is not None:
            (tmp_path / "catalog.json").write_text(json.dumps(catalog))
            command += ["--catalog", str(tmp_path / "catalog.json")]
        done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
        return TapRun(done)

    return run
