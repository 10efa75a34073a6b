"""The pipeline behaviours the kernel ships: validation, logging, timing and query caching.

Each is a plain object with its own state, so one instance can serve several
buses and two never share state. See docs/kernel/buses.md, "Behaviours".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from time import monotonic, perf_counter_ns
from typing import Any, Final, TypeAlias

from pydantic import ValidationError

from flext_kernel._dispatch import AsyncNext, Next, describe
from flext_kernel.correlation import current_correlation_id
from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.messages import FlextMessage, field_errors, message_type_name, summarize_errors
from flext_kernel.result import Failure, FlextResult

__all__ = [
    "CacheInvalidator",
    "LoggingBehavior",
    "QueryCachingBehavior",
    "TimingBehavior",
    "ValidationBehavior",
    "Validator",
]

Validator: TypeAlias = Callable[[Any], FlextResult[Any]]
"""A custom check: takes the message, returns success or a failure describing the problem."""

_NS_PER_S: Final = 1e9


class ValidationBehavior:
    """Re-validate each message with pydantic, then run the custom validators given for its class.

    Re-validation catches messages built with ``model_construct`` or mutated
    behind pydantic's back. A failure is ``VALIDATION_ERROR``, listing the errors
    without input values (secrets do not leak); a validator that raises is a bug.
    """

    __slots__ = ("_checks", "_validators")

    def __init__(
        self, validators: Mapping[type[FlextMessage], Validator | Iterable[Validator]] | None = None
    ) -> None:
        self._validators: list[tuple[type, Validator]] = []
        self._checks: dict[type, tuple[Callable[[Any], Any] | None, tuple[Validator, ...]]] = {}
        for message_type, found in (validators or {}).items():
            for validator in [found] if callable(found) else found:
                self.add(message_type, validator)

    def add(self, message_type: type[FlextMessage], validator: Validator) -> None:
        """Run ``validator`` on every message that is an instance of ``message_type``."""
        self._validators.append((message_type, validator))
        self._checks = {}

    def check(self, message: Any) -> FlextResult[None]:
        """Validate ``message`` outside any bus; success or a ``VALIDATION_ERROR`` failure."""
        failure = self._check(message)
        return FlextResult.ok(None) if failure is None else failure

    def handle(self, message: Any, next: Next) -> FlextResult[Any]:
        """Call ``next`` only if ``message`` is valid."""
        failure = self._check(message)
        return next(message) if failure is None else failure

    async def handle_async(self, message: Any, next: AsyncNext) -> FlextResult[Any]:
        """Await ``next`` only if ``message`` is valid."""
        failure = self._check(message)
        return await next(message) if failure is None else failure

    def _check(self, message: Any) -> FlextResult[Any] | None:
        cls = type(message)
        checks = self._checks.get(cls)
        if checks is None:
            checks = self._checks[cls] = self._compile(cls)
        revalidate, validators = checks
        if revalidate is not None:
            try:
                revalidate(message)
            except ValidationError as exc:
                return _invalid(cls, field_errors(exc))
        return self._run_validators(message, validators) if validators else None

    def _run_validators(self, message: Any, validators: tuple[Validator, ...]) -> FlextResult[Any] | None:
        problems: list[dict[str, Any]] = []
        for validator in validators:
            result = validator(message)
            if not result.is_success:
                loc = result.error_data.get("loc", ())
                problems.append(
                    {
                        "loc": list(loc) if isinstance(loc, list | tuple) else [loc],
                        "msg": result.error,
                        "type": result.error_code or VALIDATION_ERROR,
                        "validator": describe(validator),
                    }
                )
        return _invalid(type(message), problems) if problems else None

    def _compile(self, cls: type) -> tuple[Callable[[Any], Any] | None, tuple[Validator, ...]]:
        # The model's pydantic-core validator, called directly (cheaper than model_validate).
        validator = getattr(cls, "__pydantic_validator__", None)
        revalidate = getattr(validator, "validate_python", None)
        return revalidate, tuple(v for t, v in self._validators if issubclass(cls, t))


def _invalid(cls: type, errors: list[dict[str, Any]]) -> FlextResult[Any]:
    name = _name(cls)
    data = {"message_type": name, "errors": errors}
    return Failure(f"{name} is invalid: {summarize_errors(errors)}", VALIDATION_ERROR, data)


def _name(cls: type) -> str:
    return message_type_name(cls) if issubclass(cls, FlextMessage) else describe(cls)


class LoggingBehavior:
    """Log each message's type, outcome, duration and correlation id with ``logging``, as text and ``extra``.

    Field values are logged only with ``log_fields=True``, through the message's
    pydantic ``repr`` (secret and ``repr=False`` fields masked). Below ``level`` it
    costs one ``isEnabledFor`` call.
    """

    __slots__ = ("_level", "_log_fields", "_logger")

    def __init__(
        self, logger: logging.Logger | None = None, *, level: int = logging.INFO, log_fields: bool = False
    ) -> None:
        self._logger = logger or logging.getLogger("flext_kernel.bus")
        self._level = level
        self._log_fields = log_fields

    def handle(self, message: Any, next: Next) -> FlextResult[Any]:
        """Run ``next`` and log what came out of it (including an exception, which propagates)."""
        if not self._logger.isEnabledFor(self._level):
            return next(message)
        started = perf_counter_ns()
        try:
            result = next(message)
        except Exception as exc:
            self._log(message, None, exc, started)
            raise
        self._log(message, result, None, started)
        return result

    async def handle_async(self, message: Any, next: AsyncNext) -> FlextResult[Any]:
        """Like ``handle``, awaiting ``next``."""
        if not self._logger.isEnabledFor(self._level):
            return await next(message)
        started = perf_counter_ns()
        try:
            result = await next(message)
        except Exception as exc:
            self._log(message, None, exc, started)
            raise
        self._log(message, result, None, started)
        return result

    def _log(
        self, message: Any, result: FlextResult[Any] | None, exc: Exception | None, started: int
    ) -> None:
        duration_ms = (perf_counter_ns() - started) / 1e6
        name = _name(type(message))
        if exc is not None:
            outcome, code, text = "raised", None, f"raised {type(exc).__name__}"
        elif result is not None and result.is_success:
            outcome, code, text = "ok", None, "ok"
        else:
            code = result.error_code if result is not None else None
            outcome, text = "failed", f"failed ({code}): {result.error if result is not None else ''}"
        fields = f" {message!r}" if self._log_fields else ""
        extra = {"message_type": name, "outcome": outcome, "error_code": code, "duration_ms": duration_ms}
        extra["correlation_id"] = current_correlation_id()
        self._logger.log(self._level, "%s %s in %.3f ms%s", name, text, duration_ms, fields, extra=extra)


class TimingBehavior:
    """Measure how long each message type takes: count, total, min, max (and mean).

    Counters are updated without a lock: under heavy multi-threaded use a few
    samples may be lost (the numbers are for dashboards, not billing).
    """

    __slots__ = ("_samples",)

    def __init__(self) -> None:
        # Per class: [count, total_ns, min_ns, max_ns]; a list updates in place.
        self._samples: dict[type, list[int]] = {}

    def handle(self, message: Any, next: Next) -> FlextResult[Any]:
        """Time ``next(message)``."""
        started = perf_counter_ns()
        try:
            return next(message)
        finally:
            self._record(type(message), perf_counter_ns() - started)

    async def handle_async(self, message: Any, next: AsyncNext) -> FlextResult[Any]:
        """Time ``await next(message)`` (wall-clock, including waits)."""
        started = perf_counter_ns()
        try:
            return await next(message)
        finally:
            self._record(type(message), perf_counter_ns() - started)

    def _record(self, cls: type, elapsed: int) -> None:
        sample = self._samples.get(cls)
        if sample is None:
            self._samples[cls] = [1, elapsed, elapsed, elapsed]
            return
        sample[0] += 1
        sample[1] += elapsed
        if elapsed < sample[2]:
            sample[2] = elapsed
        if elapsed > sample[3]:
            sample[3] = elapsed

    def stats(self) -> dict[str, dict[str, float]]:
        """Return ``{type name: {"count", "total", "min", "max", "mean"}}``, durations in seconds."""
        return {
            _name(cls): {
                "count": count,
                "total": total / _NS_PER_S,
                "min": low / _NS_PER_S,
                "max": high / _NS_PER_S,
                "mean": total / count / _NS_PER_S,
            }
            for cls, (count, total, low, high) in list(self._samples.items())
        }

    def reset(self) -> None:
        """Forget every sample."""
        self._samples = {}


class QueryCachingBehavior:
    """Answer a query from the cache while an earlier success for an equal query is younger than ``ttl``.

    Its ``invalidator`` goes on the bus of the messages that make it stale; a
    success computed while an invalidation happened is not stored, so a stale
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
        clock: Callable[[], float] = monotonic,
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
