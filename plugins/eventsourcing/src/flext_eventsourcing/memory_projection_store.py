"""InMemoryProjectionStore: read models in a dict, for tests and examples.

It keeps the same promises as the durable stores within one process
(atomic, conditional ``commit``; ``promote`` swaps in one step) and stores
documents as JSON text, so a document that would not survive a real store
fails here too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from typing_extensions import override

from flext_eventsourcing.errors import ProjectionStoreError
from flext_eventsourcing.projection import (
    Document,
    ProjectionCheckpoint,
    ProjectionState,
    ProjectionStore,
    check_projection_name,
    encode_changes,
)
from flext_kernel.errors import STORAGE_ERROR

__all__ = ["InMemoryProjectionStore"]


class InMemoryProjectionStore(ProjectionStore):
    """Projection documents and checkpoints in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checkpoints: dict[tuple[str, int], ProjectionCheckpoint] = {}
        self._documents: dict[tuple[str, int], dict[str, str]] = {}
        self._last_generation: dict[str, int] = {}  # never given again, even once dropped
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise ProjectionStoreError("the projection store is closed", STORAGE_ERROR)

    @override
    def checkpoints(self, name: str | None = None) -> list[ProjectionCheckpoint]:
        with self._lock:
            self._check_open()
            return [c for key, c in sorted(self._checkpoints.items()) if name is None or key[0] == name]

    @override
    def create_generation(self, name: str, version: int) -> ProjectionCheckpoint:
        check_projection_name(name)
        with self._lock:
            self._check_open()
            generation = self._last_generation[name] = 1 + self._last_generation.get(name, 0)
            checkpoint = ProjectionCheckpoint(
                name=name,
                generation=generation,
                version=version,
                position=0,
                state=ProjectionState.BUILDING,
                updated_at=datetime.now(UTC),
            )
            self._checkpoints[name, generation] = checkpoint
            self._documents[name, generation] = {}
            return checkpoint

    @override
    def get(self, name: str, generation: int, key: str) -> Document | None:
        with self._lock:
            self._check_open()
            text = self._documents.get((name, generation), {}).get(key)
        return None if text is None else dict(json.loads(text))

    @override
    def commit(
        self,
        name: str,
        generation: int,
        expected_position: int,
        position: int,
        changes: Mapping[str, Document | None],
    ) -> bool:
        puts, deletes = encode_changes(changes)
        with self._lock:
            self._check_open()
            checkpoint = self._checkpoints.get((name, generation))
            if checkpoint is None or checkpoint.failed or checkpoint.position != expected_position:
                return False
            documents = self._documents[name, generation]
            documents.update(puts)
            for key in deletes:
                documents.pop(key, None)
            self._checkpoints[name, generation] = checkpoint.model_copy(
                update={"position": position, "updated_at": datetime.now(UTC)}
            )
            return True

    @override
    def promote(self, name: str, generation: int) -> bool:
        with self._lock:
            self._check_open()
            checkpoint = self._checkpoints.get((name, generation))
            if checkpoint is None or checkpoint.failed:
                return False
            for key in [k for k in self._checkpoints if k[0] == name and k[1] < generation]:
                del self._checkpoints[key]
                del self._documents[key]
            self._checkpoints[name, generation] = checkpoint.model_copy(
                update={"state": ProjectionState.LIVE}
            )
            return True

    @override
    def mark_failed(self, name: str, generation: int, error: str) -> None:
        with self._lock:
            self._check_open()
            checkpoint = self._checkpoints.get((name, generation))
            if checkpoint is not None:
                self._checkpoints[name, generation] = checkpoint.model_copy(
                    update={"error": error, "updated_at": datetime.now(UTC)}
                )

    @override
    def drop(self, name: str, generation: int | None = None) -> None:
        with self._lock:
            self._check_open()
            for key in [k for k in self._checkpoints if k[0] == name and generation in (None, k[1])]:
                del self._checkpoints[key]
                del self._documents[key]

    @override
    def documents(self, name: str, generation: int | None = None) -> Iterator[tuple[str, Document]]:
        with self._lock:
            self._check_open()
            if generation is None:
                live = [
                    g
                    for (n, g), c in self._checkpoints.items()
                    if n == name and c.state is ProjectionState.LIVE
                ]
                generation = max(live, default=None)
            items = sorted(self._documents.get((name, generation), {}).items()) if generation else []
        for key, text in items:
            yield key, dict(json.loads(text))

    @override
    def close(self) -> None:
        with self._lock:
            self._closed = True
