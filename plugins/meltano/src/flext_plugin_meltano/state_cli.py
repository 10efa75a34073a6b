"""``flext meltano state export|import [STATE_ID...] [--pipeline NAME]``: Singer state, Meltano <-> FLEXT.

- ``export``: Meltano's state of each block (``meltano state get ID``, run
  with the pinned Meltano in the project, so whatever ``state_backend`` the
  project configures is read) becomes the state the FLEXT pipeline's next run
  resumes from;
- ``import``: the state the FLEXT pipeline's next run would resume from is
  set in Meltano (``meltano state set --force ID '{"singer_state": ...}'``).

Without a state id, every block of the project's jobs in the environment
(``<environment>:<extractor>-to-<loader>``) is moved; the pipeline of a state
id is the one ``flext meltano import`` registered for its block
(``<extractor>-to-<loader>``), or ``--pipeline`` for one id. Each move is
recorded as ``MeltanoStateMoved`` in the project's stream. A block without
state on the side it comes from is ``NOT_FOUND`` (exit 2) and nothing after
it is moved.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult
from flext_sdk.cli import EXIT_OK, emit_table, fail

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore
    from flext_plugin_meltano.project import MeltanoProject
    from flext_sdk import FlextKernel

__all__ = ["move_state"]

_USAGE = (
    "usage: flext meltano state export|import [STATE_ID...] [--pipeline NAME] [--project DIR] "
    "[--environment E]\n"
    "  export: Meltano's state of each block -> the FLEXT pipeline's next run\n"
    "  import: the FLEXT pipeline's state -> Meltano (meltano state set)\n"
    "  without STATE_ID: every block of the project's jobs (<environment>:<extractor>-to-<loader>)"
)


def move_state(direction: str, args: Sequence[str], project_dir: Path | None, environment: str | None) -> int:
    """Move the state of the named (or every) block; see the module's docstring."""
    if "--help" in args or "-h" in args:
        print(_USAGE)
        return EXIT_OK
    parsed = _parse(args)
    if isinstance(parsed, Failure):
        return fail(parsed, hint="see flext meltano state export --help")
    state_ids, pipeline = parsed.value
    from flext_plugin_meltano.meltano_cli import prepare

    prepared = prepare(project_dir, environment)
    if isinstance(prepared, int):
        return prepared
    meltano, project = prepared
    pairs = _pairs(project, state_ids, pipeline)
    if isinstance(pairs, Failure):
        return fail(pairs)
    from flext_eventsourcing import opened_store

    with opened_store(None) as opened:
        if isinstance(opened, int):
            return opened
        kernel, store = opened
        from flext_sdk.contracts import hint_of, require_handler
        from flext_sdk.contracts.pipeline import GetPipelineState

        needed = require_handler(kernel, GetPipelineState, why=f"flext meltano state {direction}")
        if isinstance(needed, Failure):
            return fail(needed, hint=hint_of(needed))
        rows: list[dict[str, Any]] = []
        for state_id, name in pairs.value:
            moved = _move(direction, kernel, store, meltano, project, environment, state_id, name)
            if isinstance(moved, Failure):
                return fail(moved)
            rows.append(moved.value)
    return emit_table(rows, ["state_id", "pipeline", "direction", "streams"], title=f"state {direction}ed")


def _parse(args: Sequence[str]) -> FlextResult[tuple[list[str], str | None]]:
    state_ids: list[str] = []
    pipeline: str | None = None
    tokens = list(args)
    while tokens:
        token = tokens.pop(0)
        if token == "--pipeline" and tokens:
            pipeline = tokens.pop(0)
        elif token.startswith("--pipeline="):
            pipeline = token.split("=", 1)[1]
        elif token.startswith("-"):
            return FlextResult.fail(f"unknown option {token!r} for state export/import", VALIDATION_ERROR)
        else:
            state_ids.append(token)
    if pipeline is not None and len(state_ids) != 1:
        return FlextResult.fail("--pipeline goes with exactly one STATE_ID", VALIDATION_ERROR)
    return FlextResult.ok((state_ids, pipeline))


def _pairs(
    project: MeltanoProject, state_ids: list[str], pipeline: str | None
) -> FlextResult[list[tuple[str, str]]]:
    """Each state id with its FLEXT pipeline."""
    from flext_plugin_meltano.importer import pipeline_definition

    if not state_ids:
        blocks = project.blocks(list(project.jobs))
        if isinstance(blocks, Failure):
            return FlextResult.fail(blocks.error or "", blocks.error_code, blocks.error_data)
        found = [pipeline_definition(project, block) for block in blocks.value]
        return FlextResult.ok(list(dict.fromkeys((item.state_id, item.name) for item in found)))
    pairs: list[tuple[str, str]] = []
    for state_id in state_ids:
        _environment, separator, suffix = state_id.partition(":")
        if not separator or "-to-" not in suffix:
            return FlextResult.fail(
                f"{state_id!r} is not a Meltano state id (<environment>:<extractor>-to-<loader>)",
                VALIDATION_ERROR,
                {"state_id": state_id},
            )
        pairs.append((state_id, pipeline or suffix.split(":", 1)[0].lower()))
    return FlextResult.ok(pairs)


def _move(
    direction: str,
    kernel: FlextKernel,
    store: FlextEventStore,
    meltano: Path,
    project: MeltanoProject,
    environment: str | None,
    state_id: str,
    pipeline: str,
) -> FlextResult[dict[str, Any]]:
    from flext_plugin_meltano.delegate import capture
    from flext_sdk.contracts.pipeline import GetPipelineState, SetPipelineState

    prefix = ["--environment", environment] if environment is not None else []
    if direction == "export":
        got = capture(meltano, project.root, [*prefix, "state", "get", state_id])
        if isinstance(got, Failure):
            return FlextResult.fail(got.error or "", got.error_code, got.error_data)
        state = _singer_state(got.value)
        if state is None:
            return FlextResult.fail(
                f"Meltano has no state for {state_id!r} (run the block with flext meltano run first)",
                NOT_FOUND,
                {"state_id": state_id},
            )
        written: FlextResult[str] = kernel.command_bus.dispatch(
            SetPipelineState(pipeline=pipeline, state=state, source=f"meltano:{state_id}", store=store)
        )
        if isinstance(written, Failure):
            return FlextResult.fail(written.error or "", written.error_code, written.error_data)
    else:
        read: FlextResult[dict[str, Any] | None] = kernel.query_bus.execute(
            GetPipelineState(pipeline=pipeline, store=store)
        )
        if isinstance(read, Failure):
            return FlextResult.fail(read.error or "", read.error_code, read.error_data)
        if read.value is None:
            return FlextResult.fail(
                f"FLEXT pipeline {pipeline!r} has no state (it never confirmed a run)",
                NOT_FOUND,
                {"pipeline": pipeline},
            )
        state = read.value
        document = json.dumps({"singer_state": state}, separators=(",", ":"))
        done = capture(meltano, project.root, [*prefix, "state", "set", "--force", state_id, document])
        if isinstance(done, Failure):
            return FlextResult.fail(done.error or "", done.error_code, done.error_data)
    streams = tuple(sorted((state.get("bookmarks") or {}).keys()))
    _record(store, project, direction, state_id, pipeline, streams)
    return FlextResult.ok(
        {"state_id": state_id, "pipeline": pipeline, "direction": direction, "streams": ", ".join(streams)}
    )


def _singer_state(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return None
    state = parsed.get("singer_state") if isinstance(parsed, dict) else None
    return state if isinstance(state, dict) else None


def _record(
    store: FlextEventStore,
    project: MeltanoProject,
    direction: str,
    state_id: str,
    pipeline: str,
    streams: tuple[str, ...],
) -> None:
    from flext_eventsourcing import ANY
    from flext_plugin_meltano.events import AGGREGATE_TYPE, MeltanoStateMoved, register_events, stream_id

    register_events(store)
    stream = stream_id(project.root.name)
    event = MeltanoStateMoved(
        aggregate_id=stream,
        aggregate_type=AGGREGATE_TYPE,
        direction=direction,
        state_id=state_id,
        pipeline=pipeline,
        streams=streams,
        metadata={"plugin": "meltano"},
    )
    store.append(stream, [event], ANY).unwrap()
