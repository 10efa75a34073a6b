"""Running the real ``target-sqlite`` executable on Singer messages, and reading what it wrote."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EXECUTABLE = Path(sys.executable).with_name("target-sqlite")

Message = Mapping[str, Any] | str
"""A Singer message, or a raw input line (for malformed input)."""


def schema(
    stream: str, properties: Mapping[str, Any], keys: Sequence[str] | None = ("id",)
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": dict(properties)},
    }
    if keys is not None:
        message["key_properties"] = list(keys)
    return message


def record(stream: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": dict(values)}


def state(value: Any) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def lines(messages: Iterable[Message]) -> str:
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


@dataclass(frozen=True)
class Run:
    """One finished run of target-sqlite."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    def failed_with(self, code: str, exit_code: int) -> str:
        """Assert the documented failure shape; return the error line."""
        assert self.returncode == exit_code, self.stderr[-2000:]
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        assert len(self.errors) == 1, self.stderr[-2000:]
        line = self.errors[0]
        assert self.stderr.rstrip("\n").splitlines()[-1] == line  # the last thing it says
        assert line.endswith(f"({code})"), line
        return line


class Target:
    """target-sqlite with a config of its own in a temporary directory."""

    executable = EXECUTABLE
    schema = staticmethod(schema)
    record = staticmethod(record)
    state = staticmethod(state)

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.database = directory / "out" / "load.db"

    def config(self, **settings: Any) -> Path:
        path = self.directory / "config.json"
        path.write_text(json.dumps({"database": str(self.database), **settings}))
        return path

    def environment(self) -> dict[str, str]:
        return {key: value for key, value in os.environ.items() if not key.endswith("LOGLEVEL")}

    def run(self, messages: Iterable[Message], *, timeout: float = 120, **settings: Any) -> Run:
        done = subprocess.run(
            [str(EXECUTABLE), "--config", str(self.config(**settings))],
            input=lines(messages),
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=self.environment(),
            timeout=timeout,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def run_bytes(self, data: bytes, **settings: Any) -> Run:
        done = subprocess.run(
            [str(EXECUTABLE), "--config", str(self.config(**settings))],
            input=data,
            capture_output=True,
            env=self.environment(),
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout.decode(), done.stderr.decode("utf-8", "replace"))

    @contextmanager
    def started(self, **settings: Any) -> Iterator[subprocess.Popen[str]]:
        """A running target reading the test's writes on stdin; killed and its pipes closed at the end."""
        process = subprocess.Popen(
            [str(EXECUTABLE), "--config", str(self.config(**settings))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=self.environment(),
        )
        try:
            yield process
        finally:
            process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout, process.stderr):
                with suppress(OSError):
                    pipe.close()

    def connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(f"{self.database.resolve().as_uri()}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        return connection

    def rows(self, table: str, order_by: str = "rowid") -> list[dict[str, Any]]:
        if not self.database.exists():
            return []
        connection = self.connect()
        try:
            found = connection.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (table,)).fetchone()
            if found is None:
                return []
            return [dict(row) for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY {order_by}')]
        finally:
            connection.close()

    def columns(self, table: str) -> dict[str, str]:
        connection = self.connect()
        try:
            return {row["name"]: row["type"] for row in connection.execute(f'PRAGMA table_info("{table}")')}
        finally:
            connection.close()


@pytest.fixture
def target(tmp_path: Path) -> Target:
    return Target(tmp_path)
