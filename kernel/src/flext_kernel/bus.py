"""The command, query and event buses: who asks is decoupled from who handles.

Handler exceptions propagate (they are bugs); event subscribers are isolated
from each other: a publish delivers to all of them and returns one
``HANDLER_ERROR`` failure listing every failure. How a pipeline is compiled and
what hot reload relies on: docs/kernel/buses.md.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Collection
from typing import Any, Final, TypeVar

from flext_kernel._bus_base import BusBase, Hold, Pipeline, SingleHandlerBus
from flext_kernel._dispatch import (
    AsyncBehavior,
    AsyncNext,
    Behavior,
    Handler,
    HandlerObject,
    Next,
    OwnerTracker,
    Registration,
    Subscriber,
    make_registration,
)
from flext_kernel.errors import ALREADY_REGISTERED, HANDLER_ERROR, FlextBusError
from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextMessage, FlextQuery, message_type_name
from flext_kernel.result import Failure, FlextResult, Success

__all__ = [
    "AsyncBehavior",
    "AsyncNext",
    "Behavior",
    "BusBase",
    "FlextCommandBus",
    "FlextEventBus",
    "FlextQueryBus",
    "Handler",
    "HandlerObject",
    "Hold",
    "Next",
    "Subscriber",
]

C = TypeVar("C", bound=FlextCommand)
Q = TypeVar("Q", bound=FlextQuery)
E = TypeVar("E", bound=FlextDomainEvent)

_logger: Final = logging.getLogger("flext_kernel.bus")
_PUBLISHED: Final[FlextResult[None]] = Success(None)


class FlextCommandBus(SingleHandlerBus):
    """Routes each command to the one handler registered for its exact class."""

    __slots__ = ()
    _kind = "command"
    _base = FlextCommand
    _async_method = "dispatch_async"

    def register(self, command_type: type[C], handler: Handler[C], *, owner: str | None = None) -> None:
        """Register the handler of ``command_type`` (matched exactly); ``owner`` is for ``remove_owner``.

        Raises:
            FlextBusError: the class already has a handler (the message names both),
                or the arguments are not a command class and a handler.

        """
        self._register(command_type, handler, owner)

    def dispatch(self, command: FlextCommand) -> FlextResult[Any]:
        """Run ``command`` through its pipeline: the handler's result, or a ``NO_HANDLER`` failure.

        Raises:
            FlextBusError: the handler is async (use ``dispatch_async``).

        """
        # The hot path: one dict lookup by exact class and one call. A miss
        # compiles the pipeline once (see Pipelines.__missing__).
        return self._pipelines[type(command)](command)

    async def dispatch_async(self, command: FlextCommand) -> FlextResult[Any]:
        """Like ``dispatch``, awaiting async handlers; sync handlers are called directly.

        Raises:
            FlextBusError: a behaviour that applies has no ``handle_async``.

        """
        return await self._pipelines_async[type(command)](command)


class FlextQueryBus(SingleHandlerBus):
    """Routes each query to the one handler registered for its exact class."""

    __slots__ = ()
    _kind = "query"
    _base = FlextQuery
    _async_method = "execute_async"

    def register(self, query_type: type[Q], handler: Handler[Q], *, owner: str | None = None) -> None:
        """Register the handler of ``query_type``; see ``FlextCommandBus.register``.

        Raises:
            FlextBusError: the class already has a handler (the message names both).

        """
        self._register(query_type, handler, owner)

    def execute(self, query: FlextQuery) -> FlextResult[Any]:
        """Run ``query`` through its pipeline: the handler's result, or a ``NO_HANDLER`` failure."""
        return self._pipelines[type(query)](query)

    async def execute_async(self, query: FlextQuery) -> FlextResult[Any]:
        """Like ``execute``, awaiting async handlers."""
        return await self._pipelines_async[type(query)](query)


class FlextEventBus(BusBase):
    """Delivers each event to every subscriber of its class or of a base class (also by type name)."""

    __slots__ = ("_subscriptions",)
    _kind = "event"
    _base = FlextDomainEvent

    def __init__(self, *, tracker: OwnerTracker | None = None) -> None:
        super().__init__(tracker=tracker)
        self._subscriptions: list[Registration] = []

    def subscribe(self, event_type: type[E], handler: Subscriber[E], *, owner: str | None = None) -> None:
        """Subscribe ``handler`` to ``event_type`` and its subclasses, after the earlier subscribers.

        Raises:
            FlextBusError: ``handler`` is already subscribed to ``event_type``.

        """
        self._check_type(event_type)
        registration = make_registration(event_type, handler, owner)
        with self._lock:
            for existing in self._subscriptions:
                if existing.message_type is event_type and existing.handler == handler:
                    raise FlextBusError(
                        f"{registration.name} is already subscribed to {message_type_name(event_type)}",
                        ALREADY_REGISTERED,
                    )
            self._subscriptions.append(registration)
            self._invalidate()

    def unregister(self, event_type: type[FlextDomainEvent], handler: object | None = None) -> int:
        """Remove ``handler``'s subscription to ``event_type`` (every one if None); return how many."""
        with self._lock:
            kept = [
                sub
                for sub in self._subscriptions
                if not (sub.message_type is event_type and (handler is None or sub.handler == handler))
            ]
            removed = len(self._subscriptions) - len(kept)
            self._subscriptions = kept
            self._invalidate()
        return removed

    unsubscribe = unregister

    def subscribers(self, event_type: type[FlextDomainEvent]) -> list[str]:
        """Return the names of the subscribers an event of ``event_type`` reaches, in order."""
        return [sub.name for sub in self._subscribers_of(event_type)]

    def publish(self, event: FlextDomainEvent) -> FlextResult[None]:
        """Deliver ``event`` to every subscriber, even after one fails; failures make one ``HANDLER_ERROR``.

        Raises:
            FlextBusError: a subscriber is async (use ``publish_async``).

        """
        return self._pipelines[type(event)](event)

    async def publish_async(self, event: FlextDomainEvent) -> FlextResult[None]:
        """Like ``publish``; async subscribers run concurrently (``asyncio.gather``)."""
        return await self._pipelines_async[type(event)](event)

    def _remove_handlers_of(self, owner: str) -> int:
        kept = [sub for sub in self._subscriptions if sub.owner != owner]
        removed = len(self._subscriptions) - len(kept)
        self._subscriptions = kept
        return removed

    def _types_of(self, owners: Collection[str]) -> list[type]:
        return [sub.message_type for sub in self._subscriptions if sub.owner in owners]

    def _routing_names(self, message_type: type) -> frozenset[str]:
        return frozenset(
            message_type_name(cls) for cls in message_type.__mro__ if issubclass(cls, FlextMessage)
        )

    def _subscribers_of(self, event_type: type) -> tuple[Registration, ...]:
        lineage = self._routing_names(event_type)
        return tuple(
            sub
            for sub in self._subscriptions
            if issubclass(event_type, sub.message_type) or message_type_name(sub.message_type) in lineage
        )

    def _build(self, message_type: type, asynchronous: bool) -> Pipeline:
        subscribers = self._subscribers_of(message_type)
        deliver: Pipeline
        if asynchronous:
            deliver = _fan_out_async(subscribers)
        else:
            for sub in subscribers:
                if sub.is_async:
                    raise FlextBusError(
                        f"subscriber {sub.name} of {message_type_name(message_type)} is async; "
                        "use publish_async"
                    )
            deliver = _fan_out(subscribers)
        pipeline = self._chain(deliver, message_type, asynchronous)
        for owner in sorted({sub.owner for sub in subscribers if sub.owner is not None}):
            pipeline = self._tracked(owner, pipeline, asynchronous)
        return pipeline


def _failure_entry(sub: Registration, outcome: object, event: FlextDomainEvent) -> dict[str, object]:
    """Describe one subscriber's failed outcome: a raised exception, a failure, or a wrong return."""
    error: str | None
    code: str | None
    exception_type: str | None
    if isinstance(outcome, Exception):
        _logger.error(
            "subscriber %s raised on %s", sub.name, message_type_name(type(event)), exc_info=outcome
        )
        error, code, exception_type = str(outcome) or type(outcome).__name__, None, type(outcome).__name__
    elif isinstance(outcome, FlextResult):
        error, code, exception_type = outcome.error, outcome.error_code, None
    else:
        error = f"returned {type(outcome).__name__}, not a FlextResult or None"
        code, exception_type = None, None
    return {"subscriber": sub.name, "error": error, "error_code": code, "exception_type": exception_type}


def _published(
    event: FlextDomainEvent, failures: list[dict[str, object]] | None, total: int
) -> FlextResult[None]:
    if not failures:
        return _PUBLISHED
    name = message_type_name(type(event))
    details = "; ".join(f"{failure['subscriber']}: {failure['error']}" for failure in failures)
    error = f"{len(failures)} of {total} subscribers failed on {name}: {details}"
    return Failure(error, HANDLER_ERROR, {"event_type": name, "failures": failures})


def _fan_out(subscribers: tuple[Registration, ...]) -> Next:
    """Return the publish step that calls ``subscribers`` one after the other."""
    total = len(subscribers)
    calls = tuple((sub, sub.call) for sub in subscribers)

    def fan_out(event: FlextDomainEvent) -> FlextResult[None]:
        # Hot path of publish: success is None or a Success (an identity test,
        # no isinstance); anything else is classified off the hot path.
        failures: list[dict[str, object]] | None = None
        for sub, call in calls:
            try:
                outcome: object = call(event)
            except Exception as exc:  # isolating subscribers from each other is the point
                outcome = exc
            else:
                if outcome is None or type(outcome) is Success:
                    continue
            if failures is None:
                failures = []
            failures.append(_failure_entry(sub, outcome, event))
        return _published(event, failures, total)

    return fan_out


def _fan_out_async(subscribers: tuple[Registration, ...]) -> AsyncNext:
    """Return the async publish step: sync subscribers in turn, async ones gathered."""
    total = len(subscribers)

    async def fan_out(event: FlextDomainEvent) -> FlextResult[None]:
        # Sync subscribers run right here, in order; async ones are started
        # together and awaited with gather. Outcomes keep subscription order.
        outcomes: list[Any] = [None] * total
        pending: list[tuple[int, Awaitable[Any]]] = []
        for index, sub in enumerate(subscribers):
            try:
                outcome: Any = sub.call(event)
            except Exception as exc:  # isolating subscribers from each other is the point
                outcome = exc
            if sub.is_async and not isinstance(outcome, Exception):
                pending.append((index, outcome))
            else:
                outcomes[index] = outcome
        if pending:
            import asyncio  # here, not at the top: importing the bus must not load asyncio (and ssl)

            gathered = await asyncio.gather(*(awaitable for _, awaitable in pending), return_exceptions=True)
            for (index, _), outcome in zip(pending, gathered, strict=True):
                if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                    raise outcome  # cancellation, KeyboardInterrupt: not a subscriber failure
                outcomes[index] = outcome
        failures = [
            _failure_entry(sub, outcome, event)
            for sub, outcome in zip(subscribers, outcomes, strict=True)
            if not (outcome is None or type(outcome) is Success)
        ]
        return _published(event, failures, total)

    return fan_out
