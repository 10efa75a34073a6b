"""Turn "this tap with this config into that target" into command lines, config files and a catalog.

Singer executables take their configuration, catalog and state as JSON
files. Those files hold secrets, so they are written into a private
directory (mode 0700, files 0600) that lives only as long as the run.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flext_kernel.errors import TIMEOUT, VALIDATION_ERROR
from flext_plugin_singer.engine import ProcessSpec, exit_description
from flext_plugin_singer.errors import RUN_FAILED
from flext_plugin_singer.failures import failure_summary
from flext_plugin_singer.selection import select, unmatched
from flext_sdk import FlextResult
from flext_sdk.contracts.singer import ConnectorSpec
from flext_sdk.redaction import child_environment

__all__ = ["Invocation", "discover", "prepare", "write_private"]

DISCOVERY_TIMEOUT = 300.0
"""Seconds a tap may take to answer ``--discover``."""
_TAIL_LINES = 20


def _no_log(name: str, line: str) -> None:
    """Nobody asked for the tap's stderr."""


def _as_is(line: str) -> str:
    return line


@dataclass(frozen=True)
class Invocation:
    """The processes of one run, ready for ``SingerEngine``."""

    tap: ProcessSpec
    target: ProcessSpec
    mappers: tuple[ProcessSpec, ...]


def write_private(directory: Path, name: str, content: Mapping[str, Any]) -> Path:
    """Write ``content`` as JSON readable by the owner only; return its path."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(content, handle)
    return path


def discover(
    tap: ConnectorSpec,
    config_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Callable[[str, str], None] = _no_log,
    redact: Callable[[str], str] = _as_is,
) -> FlextResult[dict[str, Any]]:
    """Run ``tap --discover`` and return its catalog.

    Its stderr goes to ``log`` line by line, through ``redact`` (the tap is
    named ``TAP --discover``); a failure's message is the line that says what
    failed (``failures.failure_summary``), redacted too, as the run's own
    failures are: a tap may print its config, password included.
    """
    assert tap.location is not None
    try:
        done = subprocess.run(
            [tap.location, "--config", str(config_path), "--discover"],
            capture_output=True,
            timeout=DISCOVERY_TIMEOUT,
            cwd=cwd,
            env=child_environment(env),  # never the secret store's key
            check=False,
        )
    except subprocess.TimeoutExpired:
        return FlextResult.fail(
            f"{tap.name} --discover did not answer within {DISCOVERY_TIMEOUT:.0f}s", error_code=TIMEOUT
        )
    lines = [redact(line.rstrip()) for line in done.stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        log(f"{tap.name} --discover", line)
    if done.returncode != 0:
        how = exit_description(done.returncode)
        why = failure_summary(lines, killed=done.returncode < 0)
        return FlextResult.fail(
            f"{tap.name} --discover {how}" + (f": {why}" if why else ""),
            error_code=RUN_FAILED,
            error_data={"stderr_tail": lines[-_TAIL_LINES:]},
        )
    try:
        catalog = json.loads(done.stdout)
    except ValueError:
        return FlextResult.fail(f"{tap.name} --discover printed no JSON catalog", error_code=RUN_FAILED)
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        return FlextResult.fail(f"{tap.name} --discover printed no 'streams' list", error_code=RUN_FAILED)
    return FlextResult.ok(catalog)


def prepare(
    workdir: Path,
    *,
    tap: tuple[ConnectorSpec, Mapping[str, Any]],
    target: tuple[ConnectorSpec, Mapping[str, Any]],
    mappers: Sequence[tuple[ConnectorSpec, Mapping[str, Any]]] = (),
    select_patterns: Sequence[str] = (),
    state: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Callable[[str, str], None] = _no_log,
    redact: Callable[[str], str] = _as_is,
) -> FlextResult[Invocation]:
    """Write config, catalog and state files into ``workdir`` and build the command lines.

    With selection patterns the tap is asked for its catalog first
    (``--discover``) and run with the selected copy; without, the tap
    extracts what it extracts by default.
    """
    tap_spec, tap_config = tap
    tap_config_path = write_private(workdir, "tap.config.json", tap_config)
    assert tap_spec.location is not None
    tap_argv = [tap_spec.location, "--config", str(tap_config_path)]
    if select_patterns:
        discovered = discover(tap_spec, tap_config_path, cwd=cwd, env=env, log=log, redact=redact)
        if discovered.is_failure:
            return FlextResult.fail(discovered.error or "", discovered.error_code, discovered.error_data)
        typos = unmatched(discovered.value, select_patterns)
        if typos:
            streams = ", ".join(
                str(stream.get("tap_stream_id") or stream.get("stream"))
                for stream in discovered.value.get("streams", [])
            )
            return FlextResult.fail(
                f"select pattern(s) {', '.join(typos)} match nothing in {tap_spec.name}'s catalog "
                f"(streams: {streams}); fix extract.select",
                error_code=VALIDATION_ERROR,
            )
        catalog = select(discovered.value, select_patterns)
        tap_argv += ["--catalog", str(write_private(workdir, "catalog.json", catalog))]
    if state:
        tap_argv += ["--state", str(write_private(workdir, "state.json", state))]
    specs = []
    for index, (spec, config) in enumerate([*mappers, target]):
        assert spec.location is not None
        path = write_private(workdir, f"{index}-{spec.name}.config.json", config)
        specs.append(ProcessSpec(spec.name, [spec.location, "--config", str(path)], env, cwd))
    return FlextResult.ok(
        Invocation(
            tap=ProcessSpec(tap_spec.name, tap_argv, env, cwd), target=specs[-1], mappers=tuple(specs[:-1])
        )
    )
