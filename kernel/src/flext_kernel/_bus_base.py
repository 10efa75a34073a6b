"""The machinery every bus shares: behaviours, owners, holds and the compiled pipelines.

Everything hot reload needs (tracking, holds, routing by type name) is decided
when a pipeline is compiled, so dispatch stays one lookup and one call; see
docs/kernel/buses.md, "What hot reload relies on".
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any, Final, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from flext_kernel._dispatch import (
    AsyncNext,
    Behavior,
    BehaviorEntry,
    Next,
    OwnerTracker,
    Registration,
    build_chain,
    describe,
    make_registration,
)
from flext_kernel.errors import ALREADY_REGISTERED, NO_HANDLER, VALIDATION_ERROR, FlextBusError
from flext_kernel.messages import FlextMessage, field_errors, message_type_name, summarize_errors
from flext_kernel.result import Failure, FlextResult

__all__ = ["BusBase", "Hold", "Pipelines", "SingleHandlerBus"]

_logger: Final = logging.getLogger("flext_kernel.bus")
_ASYNC_POLL_SECONDS: Final = 0.002
Pipeline: TypeAlias = Callable[[Any], Any]
"""A compiled pipeline: a ``Next`` or, on the async paths, an ``AsyncNext``."""
P = TypeVar("P", bound=Pipeline)


class Pipelines(dict[type, P]):
    """The compiled pipelines of one dispatch path; a miss compiles the class's pipeline and stores it."""

    __slots__ = ("_compile",)

    def __init__(self, compile_: Callable[[type], P]) -> None:
        super().__init__()
        self._compile = compile_

    def __missing__(self, message_type: type) -> P:
        return self._compile(message_type)


def _never() -> bool:
    return False


def _not_released(message: Any, timeout: float) -> None:
    _logger.warning("a hold on %s was not released in %ss", type(message).__name__, timeout)


class Hold:
    """Dispatches of some message types wait here while the plugin that handles them is swapped."""

    __slots__ = ("names", "passthrough", "released", "timeout", "waited")

    def __init__(self, names: frozenset[str], passthrough: Callable[[], bool], timeout: float) -> None:
        self.names = names
        """Type names (``message_type_name``) of the held message classes."""
        self.passthrough = passthrough
        """Asked before waiting; True runs the pipeline compiled at hold time (for the held plugin)."""
        self.released = threading.Event()
        """Set by ``release``."""
        self.timeout = timeout
        """Longest wait in seconds (a safety net: the reloader always releases)."""
        self.waited: list[int] = []
        """Thread ids of the calls that waited here, one entry per call (reports count them)."""

    def gate(self, pipeline: Next, reroute: Next) -> Next:
        """Return the gate: wait for the release, then ``reroute``; after the timeout run ``pipeline``."""
        released, passthrough, timeout, waited = self.released, self.passthrough, self.timeout, self.waited

        def held(message: Any) -> FlextResult[Any]:
            if not released.is_set():
                if passthrough():
                    return pipeline(message)
                waited.append(threading.get_ident())
                if not released.wait(timeout):
                    _not_released(message, timeout)
                    return pipeline(message)
            return reroute(message)

        return held

    def gate_async(self, pipeline: AsyncNext, reroute: AsyncNext) -> AsyncNext:
        """Like ``gate``; the wait polls, so that it does not block the event loop."""
        released, passthrough, timeout, waited = self.released, self.passthrough, self.timeout, self.waited

        async def held(message: Any) -> FlextResult[Any]:
            if not released.is_set():
                if passthrough():
                    return await pipeline(message)
                waited.append(threading.get_ident())
                import asyncio  # here, not at the top: importing the bus must not load asyncio (and ssl)

                deadline = time.monotonic() + timeout
                while not released.is_set():
                    if time.monotonic() > deadline:
                        _not_released(message, timeout)
                        return await pipeline(message)
                    await asyncio.sleep(_ASYNC_POLL_SECONDS)
            return await reroute(message)

        return held


class BusBase:
    """Behaviours, owners and the compiled pipelines: what every bus has.

    ``tracker`` counts the running pipelines of owned handlers, for plugin hot
    reload (the kernel passes its ``InflightTracker``).
    """

    __slots__ = ("_behaviors", "_holds", "_lock", "_pipelines", "_pipelines_async", "_tracker")

    _kind: str = "message"
    """What the bus routes, for error messages."""
    _base: type[FlextMessage] = FlextMessage
    """The message class every registered type must derive from."""
    _async_method: str = "the async method"
    """Name of the async entry point, for the error when a sync path meets an async handler."""

    def __init__(self, *, tracker: OwnerTracker | None = None) -> None:
        self._lock = threading.Lock()
        self._behaviors: list[BehaviorEntry] = []
        self._pipelines: Pipelines[Next] = Pipelines(functools.partial(self._compile, asynchronous=False))
        self._pipelines_async: Pipelines[AsyncNext] = Pipelines(
            functools.partial(self._compile, asynchronous=True)
        )
        self._tracker = tracker
        self._holds: tuple[Hold, ...] = ()

    def use(
        self,
        behavior: Behavior,
        *,
        message_types: Iterable[type[FlextMessage]] | type[FlextMessage] | None = None,
        owner: str | None = None,
    ) -> None:
        """Add a pipeline behaviour, for messages that are instances of ``message_types`` (None: all).

        Behaviours run in the order they were added; ``owner`` is for ``remove_owner``.

        Raises:
            FlextBusError: ``behavior`` has no ``handle`` method.

        """
        if not callable(getattr(behavior, "handle", None)):
            raise FlextBusError(f"{describe(behavior)} is not a behaviour: it has no handle method")
        if isinstance(message_types, type):
            message_types = [message_types]
        types = None if message_types is None else tuple(message_types)
        with self._lock:
            self._behaviors.append(BehaviorEntry(behavior, types, owner))
            self._invalidate()

    def remove_behavior(self, behavior: Behavior) -> bool:
        """Remove every ``use`` of ``behavior``; return True if there was one."""
        with self._lock:
            kept = [entry for entry in self._behaviors if entry.behavior is not behavior]
            removed = len(kept) != len(self._behaviors)
            self._behaviors = kept
            self._invalidate()
        return removed

    def remove_owner(self, owner: str) -> int:
        """Remove every handler and behaviour registered with ``owner``; return how many."""
        with self._lock:
            kept = [entry for entry in self._behaviors if entry.owner != owner]
            removed = len(self._behaviors) - len(kept) + self._remove_handlers_of(owner)
            self._behaviors = kept
            self._invalidate()
        return removed

    def hold(
        self, owners: Collection[str], *, passthrough: Callable[[], bool] = _never, timeout: float = 60.0
    ) -> Hold:
        """Make dispatches of the message types that ``owners`` handle now wait until ``release``."""
        with self._lock:
            names = frozenset(message_type_name(message_type) for message_type in self._types_of(owners))
            hold = Hold(names, passthrough, timeout)
            self._holds = (*self._holds, hold)
            self._invalidate()
        return hold

    def release(self, hold: Hold) -> None:
        """Lift ``hold``: waiting dispatches go on to the handlers registered now."""
        with self._lock:
            self._holds = tuple(other for other in self._holds if other is not hold)
            self._invalidate()
        hold.released.set()

    def _invalidate(self) -> None:
        # Called with the lock held after every change; pipelines rebuild lazily.
        self._pipelines.clear()
        self._pipelines_async.clear()

    def _tracked(self, owner: str | None, pipeline: Pipeline, asynchronous: bool) -> Pipeline:
        if owner is None or self._tracker is None:
            return pipeline
        if asynchronous:
            return self._tracker.track_async(owner, pipeline, self._redispatch_async)
        return self._tracker.track(owner, pipeline, self._redispatch)

    def _redispatch(self, message: Any) -> Any:
        # Compiles afresh instead of reading the dict: the caller's pipeline is
        # stale, and the dict may still hold it.
        return self._compile(type(message), asynchronous=False)(message)

    async def _redispatch_async(self, message: Any) -> Any:
        return await self._compile(type(message), asynchronous=True)(message)

    def _hold_of(self, message_type: type) -> Hold | None:
        names = self._routing_names(message_type)
        for hold in self._holds:
            if not hold.names.isdisjoint(names):
                return hold
        return None

    def _routing_names(self, message_type: type) -> frozenset[str]:
        """The type names a message of ``message_type`` is routed by (a hold on one of them holds it)."""
        return frozenset((message_type_name(message_type),))

    def _check_type(self, message_type: type) -> None:
        if not (isinstance(message_type, type) and issubclass(message_type, self._base)):
            raise FlextBusError(
                f"{describe(message_type)} is not a {self._base.__name__} subclass; "
                f"the {self._kind} bus only routes {self._base.__name__}s"
            )

    def _chain(self, inner: Pipeline, message_type: type, asynchronous: bool) -> Pipeline:
        behaviors = [entry for entry in self._behaviors if entry.applies_to(message_type)]
        return build_chain(inner, behaviors, message_type, asynchronous)

    def _compile(self, message_type: type, asynchronous: bool) -> Pipeline:
        with self._lock:
            pipeline = self._build(message_type, asynchronous)
            hold = self._hold_of(message_type) if self._holds else None
            if asynchronous:
                if hold is not None:
                    pipeline = hold.gate_async(pipeline, self._redispatch_async)
                self._pipelines_async[message_type] = pipeline
            else:
                if hold is not None:
                    pipeline = hold.gate(pipeline, self._redispatch)
                self._pipelines[message_type] = pipeline
        return pipeline

    def _remove_handlers_of(self, owner: str) -> int:
        raise NotImplementedError  # pragma: no cover - each bus overrides it

    def _types_of(self, owners: Collection[str]) -> list[type]:
        raise NotImplementedError  # pragma: no cover - each bus overrides it

    def _build(self, message_type: type, asynchronous: bool) -> Pipeline:
        raise NotImplementedError  # pragma: no cover - each bus overrides it


class SingleHandlerBus(BusBase):
    """A bus with exactly one handler per message class (commands, queries)."""

    __slots__ = ("_handlers",)

    def __init__(self, *, tracker: OwnerTracker | None = None) -> None:
        super().__init__(tracker=tracker)
        self._handlers: dict[type, Registration] = {}

    def _register(self, message_type: type, handler: object, owner: str | None) -> None:
        self._check_type(message_type)
        registration = make_registration(message_type, handler, owner)
        with self._lock:
            existing = self._handlers.get(message_type)
            if existing is not None:
                raise FlextBusError(
                    f"{self._kind} {message_type_name(message_type)} already has handler {existing.name}"
                    f"{_owned_by(existing.owner)}; cannot also register {registration.name}"
                    f"{_owned_by(owner)}",
                    ALREADY_REGISTERED,
                )
            self._handlers[message_type] = registration
            self._invalidate()

    def unregister(self, message_type: type[FlextMessage]) -> bool:
        """Remove the handler of ``message_type``; return True if there was one."""
        with self._lock:
            removed = self._handlers.pop(message_type, None) is not None
            self._invalidate()
        return removed

    def has_handler(self, message_type: type[FlextMessage]) -> bool:
        """Return True if a handler is registered for exactly ``message_type``."""
        return message_type in self._handlers

    def _remove_handlers_of(self, owner: str) -> int:
        doomed = [key for key, registration in self._handlers.items() if registration.owner == owner]
        for key in doomed:
            del self._handlers[key]
        return len(doomed)

    def _types_of(self, owners: Collection[str]) -> list[type]:
        return [key for key, registration in self._handlers.items() if registration.owner in owners]

    def _successor(self, message_type: type) -> type | None:
        """The registered class with ``message_type``'s type name: its replacement after a reload."""
        name = message_type_name(message_type)
        for candidate in self._handlers:
            if candidate is not message_type and message_type_name(candidate) == name:
                return candidate
        return None

    def _build(self, message_type: type, asynchronous: bool) -> Pipeline:
        registration = self._handlers.get(message_type)
        if registration is None:
            return self._unhandled(message_type, asynchronous)
        call = registration.call
        if registration.is_async and not asynchronous:
            raise FlextBusError(
                f"handler {registration.name} of {message_type_name(message_type)} is async; "
                f"use {self._async_method}"
            )
        if asynchronous and not registration.is_async:
            call = _as_async(call)
        pipeline = self._chain(call, message_type, asynchronous)
        return self._tracked(registration.owner, pipeline, asynchronous)

    def _unhandled(self, message_type: type, asynchronous: bool) -> Pipeline:
        """The pipeline of a class with no handler: forward to its successor, or answer ``NO_HANDLER``."""
        successor = self._successor(message_type)
        if successor is not None:
            if asynchronous:
                return _forward_async(successor, self._pipelines_async)
            return _forward(successor, self._pipelines)
        name = message_type_name(message_type)
        error = f"no handler registered for {self._kind} {name}"
        answer = _constant(Failure(error, NO_HANDLER, {"message_type": name}))
        return _as_async(answer) if asynchronous else answer


def _owned_by(owner: str | None) -> str:
    return "" if owner is None else f" (owner {owner!r})"


def _constant(result: FlextResult[Any]) -> Next:
    def pipeline(message: Any) -> FlextResult[Any]:
        return result

    return pipeline


def _as_async(call: Callable[[Any], FlextResult[Any]]) -> AsyncNext:
    async def pipeline(message: Any) -> FlextResult[Any]:
        return call(message)

    return pipeline


def _rebuilt(message: Any, successor: type) -> Any:
    """``message`` as an instance of ``successor``, or a ``VALIDATION_ERROR`` failure if it no longer fits."""
    if not (isinstance(message, BaseModel) and issubclass(successor, BaseModel)):
        return message
    try:
        return successor.model_validate(message.model_dump())
    except ValidationError as exc:
        errors = field_errors(exc)
        name = message_type_name(successor)  # type: ignore[arg-type]  # a registered message class
        error = f"{name} was reloaded and this message no longer fits it: {summarize_errors(errors)}"
        return Failure(error, VALIDATION_ERROR, {"message_type": name, "errors": errors})


def _forward(successor: type, pipelines: Pipelines[Next]) -> Next:
    """The pipeline of a replaced message class: rebuild the message, run the successor's pipeline."""

    def forward(message: Any) -> FlextResult[Any]:
        rebuilt = _rebuilt(message, successor)
        return rebuilt if isinstance(rebuilt, Failure) else pipelines[successor](rebuilt)

    return forward


def _forward_async(successor: type, pipelines: Pipelines[AsyncNext]) -> AsyncNext:
    async def forward(message: Any) -> FlextResult[Any]:
        rebuilt = _rebuilt(message, successor)
        return rebuilt if isinstance(rebuilt, Failure) else await pipelines[successor](rebuilt)

    return forward
