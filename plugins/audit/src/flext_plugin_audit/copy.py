"""The chain's records as ``audit.CommandRan`` events in the event store (stream ``audit``).

The local chain stays the source of truth (``flext audit verify`` reads it);
the store's copy puts the audit next to everything else FLEXT records and is a
second witness of the chain's hashes. Record N is the stream's version N and
its event id is derived from its hash, so copying is idempotent: records the
stream already holds are skipped, and the append expects the version it read,
so two processes copying at once cannot both write a record (the loser gets
``CONCURRENCY_CONFLICT``, reads again and finds nothing left to do).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Final
from uuid import UUID

from pydantic import ConfigDict

from flext_kernel.errors import CONCURRENCY_CONFLICT, VALIDATION_ERROR
from flext_kernel.messages import FlextDomainEvent
from flext_kernel.result import FlextResult
from flext_plugin_audit import chain

if TYPE_CHECKING:
    from flext_eventsourcing import FlextEventStore

__all__ = ["BATCH", "STREAM", "CommandRan", "copy_records"]

STREAM: Final = "audit"
BATCH: Final = 500
"""At most this many records are copied per start-up (a long backlog is copied over several runs)."""
_OWNER: Final = "audit"


class CommandRan(FlextDomainEvent):
    """One ``flext`` run, as the audit chain recorded it (with its place in the chain)."""

    model_config = ConfigDict(defer_build=True)
    message_type: ClassVar[str | None] = "audit.CommandRan"

    record_id: int
    user: str
    profile: str
    command: str
    """Secrets redacted before the record was made."""
    started: str
    ended: str
    exit_code: int
    hash: str
    previous_hash: str


def _event(record: chain.Record) -> CommandRan:
    return CommandRan(
        event_id=UUID(record.hash[:32]),
        occurred_at=datetime.fromisoformat(record.ended),
        aggregate_id=STREAM,
        aggregate_type="AuditLog",
        correlation_id=record.correlation_id,
        causation_id=None,
        record_id=record.id,
        user=record.user,
        profile=record.profile,
        command=record.command,
        started=record.started,
        ended=record.ended,
        exit_code=record.exit_code,
        hash=record.hash,
        previous_hash=record.previous_hash,
    )


def copy_records(store: FlextEventStore, connection: sqlite3.Connection) -> FlextResult[int]:
    """Copy the records the store does not hold yet; how many were appended.

    Raises:
        sqlite3.Error: the chain cannot be read or its copy mark written.

    """
    if CommandRan not in store.codec:
        store.codec.register(CommandRan, owner=_OWNER)
    for _ in range(3):  # a conflict means another process copied meanwhile: read again
        copied, pending = chain.uncopied(connection)
        if not pending:
            return FlextResult.ok(0)
        held = store.read_stream(STREAM, copied)
        if held.is_failure:
            return FlextResult.fail(held.error or "", error_code=held.error_code)
        version = held.value[-1].version if held.value else copied
        batch = [record for record in pending if record.id > version][:BATCH]
        if not batch:
            chain.mark_copied(connection, version)
            return FlextResult.ok(0)
        if batch[0].id != version + 1:
            return FlextResult.fail(
                f"the event store's audit stream is at version {version}, but the chain's next record is "
                f"{batch[0].id}: the chain was replaced after it was copied",
                error_code=VALIDATION_ERROR,
            )
        appended = store.append(STREAM, [_event(record) for record in batch], version)
        if appended.is_success:
            chain.mark_copied(connection, batch[-1].id)
            return FlextResult.ok(len(batch))
        if appended.error_code != CONCURRENCY_CONFLICT:
            return FlextResult.fail(appended.error or "", error_code=appended.error_code)
    busy = "the audit stream kept changing while it was copied"
    return FlextResult.fail(busy, error_code=CONCURRENCY_CONFLICT)
