"""The real ``flext`` runs each invocation under one correlation id; a handler's events carry it.

The documented example plugin (docs/examples/plugins/bank.py) dispatches a command whose
handler raises events on an aggregate and appends them to the container's event store; the
export shows each event as stored, envelope included.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from flext_kernel.correlation import is_valid_correlation_id
from flext_sdk.testing import CliResult, FlextCliRunner

PLUGINS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plugins"


def _correlation_ids(flext_cli: FlextCliRunner, folder: Path) -> list[str | None]:
    """The correlation id of every stored event, in order."""
    exported = folder / f"export-{uuid.uuid4().hex}.jsonl"
    done = flext_cli("events", "export", "--to", str(exported))
    assert done.exit_code == 0, done.stderr
    return [json.loads(line)["data"]["correlation_id"] for line in exported.read_text().splitlines()]


def test_the_id_given_to_flext_reaches_the_events_a_handler_appends(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    def bank(*args: str, **env: str) -> CliResult:
        return flext_cli(*args, plugin_dirs=[PLUGINS], env=env)

    opened = bank("bank", "open", "acc-1", "--owner", "Ada", FLEXT_CORRELATION_ID="req-2026.12.07:1")
    assert opened.exit_code == 0, opened.stderr
    deposited = bank("bank", "deposit", "acc-1", "10", FLEXT_CORRELATION_ID="req-2026.12.07:2")
    assert deposited.exit_code == 0, deposited.stderr
    assert _correlation_ids(flext_cli, tmp_path) == ["req-2026.12.07:1", "req-2026.12.07:2"]


def test_without_a_valid_id_each_invocation_makes_its_own(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    def bank(*args: str, **env: str) -> CliResult:
        return flext_cli(*args, plugin_dirs=[PLUGINS], env=env)

    assert bank("bank", "open", "acc-2", "--owner", "Bob").exit_code == 0
    deposited = bank("bank", "deposit", "acc-2", "5", FLEXT_CORRELATION_ID="spaces are not allowed")
    assert deposited.exit_code == 0, deposited.stderr  # an unusable id is replaced, not an error
    first, second = _correlation_ids(flext_cli, tmp_path)
    assert first is not None
    assert second is not None
    assert is_valid_correlation_id(first)
    assert is_valid_correlation_id(second)
    assert first != second
    assert {uuid.UUID(first).version, uuid.UUID(second).version} == {7}
