"""Query result caching with a time-to-live, invalidated by the commands that change the data.

One ``QueryCachingBehavior`` goes on the query bus; its ``invalidator`` goes on
the bus of the messages that make it stale. See docs/kernel/buses.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flext_kernel._dispatch import AsyncNext, Next
from flext_kernel.messages import FlextMessage
from flext_kernel.result import FlextResult

__all__ = ["CacheInvalidator", "QueryCachingBehavior"]


class QueryCachingBehavior:
    """Answer a query from the cache while an earlier success for an equal query is younger than ``ttl``.

    A success computed while an invalidation happened is not stored, so a stale
    answer never outlives the command that changed the data. ``clock`` gives
    monotonic seconds (replace it in tests).
    """

    __slots__ = ("_clock", "_entries", "_generation", "_max_entries", "_ttl", "hits", "invalidator", "misses")

    def __init__(
        self,
        *,
        ttl: float,
        invalidated_by: Iterable[type[FlextMessage]] = (),
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_entries < 1:
            raise ValueError("ttl must be positive and max_entries at least 1")
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[tuple[type, object], tuple[float, FlextResult[Any]]] = {}
        self._generation = 0
        self.hits = 0
        """Queries answered from the cache."""
        self.misses = 0
        """Queries that went to the handler."""
        self.invalidator = CacheInvalidator(self, invalidated_by)
        """The behaviour to ``use`` on the bus of the ``invalidated_by`` messages."""

    def handle(self, query: Any, next: Next) -> FlextResult[Any]:
        """Return the cached result of an equal query, or run ``next`` and cache a success."""
        key, cached = self._lookup(query)
        if cached is not None:
            return cached
        generation = self._generation
        result = next(query)
        self._store(key, result, generation)
        return result

    async def handle_async(self, query: Any, next: AsyncNext) -> FlextResult[Any]:
        """Like ``handle``, awaiting ``next``."""
        key, cached = self._lookup(query)
        if cached is not None:
            return cached
        generation = self._generation
        result = await next(query)
        self._store(key, result, generation)
        return result

    def invalidate(self) -> None:
        """Empty the cache now (the invalidator calls this)."""
        self._generation += 1
        self._entries = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, query: Any) -> tuple[tuple[type, object], FlextResult[Any] | None]:
        key: tuple[type, object] = (type(query), query)
        try:
            entry = self._entries.get(key)
        except TypeError:  # unhashable field values: key by the JSON form instead
            key = (type(query), query.model_dump_json())
            entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                self.hits += 1
                return key, entry[1]
            self._entries.pop(key, None)
        self.misses += 1
        return key, None

    def _store(self, key: tuple[type, object], result: FlextResult[Any], generation: int) -> None:
        if not result.is_success or generation != self._generation:
            return
        entries = self._entries
        entries[key] = (self._clock() + self._ttl, result)
        while len(entries) > self._max_entries:
            entries.pop(next(iter(entries)), None)


class CacheInvalidator:
    """The command-bus face of a ``QueryCachingBehavior``: empties it after each matching message.

    It invalidates after the handler returns or raises, success or not: a failed
    command may still have changed something, and a spurious cache miss is cheap.
    """

    __slots__ = ("_cache", "_matches", "_types")

    def __init__(self, cache: QueryCachingBehavior, message_types: Iterable[type[FlextMessage]]) -> None:
        self._cache = cache
        self._types = tuple(message_types)
        self._matches: dict[type, bool] = {}

    def handle(self, message: Any, next: Next) -> FlextResult[Any]:
        """Run ``next``, then invalidate if ``message`` is one of the invalidating classes."""
        try:
            return next(message)
        finally:
            if self._is_invalidating(type(message)):
                self._cache.invalidate()

    async def handle_async(self, message: Any, next: AsyncNext) -> FlextResult[Any]:
        """Like ``handle``, awaiting ``next``."""
        try:
            return await next(message)
        finally:
            if self._is_invalidating(type(message)):
                self._cache.invalidate()

    def _is_invalidating(self, cls: type) -> bool:
        matches = self._matches.get(cls)
        if matches is None:
            matches = self._matches[cls] = issubclass(cls, self._types)
        return matches
