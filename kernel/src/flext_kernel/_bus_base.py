"""The machinery every bus shares: behaviours, owners, and the compiled pipelines.

``Pipelines`` is the dict a bus looks messages up in; a miss compiles that
message class's pipeline under the bus's lock and stores it. Every change to
handlers or behaviours empties it, so pipelines are rebuilt lazily, one class
at a time, and never while a change is half done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flext_kernel._dispatch import (
    AsyncNext,
    Behavior,
    BehaviorEntry,
    Next,
    Registration,
    build_async_chain,
    build_sync_chain,
    describe,
    make_registration,
)
from flext_kernel.errors import ALREADY_REGISTERED, NO_HANDLER, FlextBusError
from flext_kernel.messages import FlextMessage, message_type_name
from flext_kernel.result import Failure, FlextResult

__all__ = ["BusBase", "Pipelines", "SingleHandlerBus"]


class Pipelines(dict[type, Callable[[Any], Any]]):
    """The compiled pipelines; a miss compiles the class's pipeline and stores it."""

    __slots__ = ("_compile",)

    def __init__(self, compile_: Callable[[type], Callable[[Any], Any]]) -> None:
        super().__init__()
        self._compile = compile_

    def __missing__(self, message_type: type) -> Callable[[Any], Any]:
        return self._compile(message_type)


class BusBase:
    """Behaviours, owners and the compiled pipelines: what every bus has."""

    __slots__ = ("_behaviors", "_lock", "_pipelines", "_pipelines_async")

    _kind: str = "message"
    """What the bus routes, for error messages."""
    _base: type[FlextMessage] = FlextMessage
    """The message class every registered type must derive from."""
    _async_method: str = "the async method"
    """Name of the async entry point, for the error when a sync path meets an async handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviors: list[BehaviorEntry] = []
        self._pipelines = Pipelines(self._compile_sync)
        self._pipelines_async = Pipelines(self._compile_async)

    def use(
        self,
        behavior: Behavior,
        *,
        message_types: Iterable[type[FlextMessage]] | type[FlextMessage] | None = None,
        owner: str | None = None,
    ) -> None:
        """Add a pipeline behaviour; behaviours run in the order they were added.

        Args:
            behavior: an object with ``handle(message, next)`` and, to run in the
                async paths, ``handle_async(message, next)``.
            message_types: run only for messages that are instances of one of
                these classes (or of this class); None (the default) runs it for
                every message.
            owner: who added it (a plugin name), for ``remove_owner``.

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
        """Remove every handler and behaviour registered with ``owner``; return how many.

        Plugin hot reload calls this before registering the reloaded plugin.
        """
        with self._lock:
            kept = [entry for entry in self._behaviors if entry.owner != owner]
            removed = len(self._behaviors) - len(kept) + self._remove_handlers_of(owner)
            self._behaviors = kept
            self._invalidate()
        return removed

    def _invalidate(self) -> None:
        # Called with the lock held after every change; pipelines rebuild lazily.
        self._pipelines.clear()
        self._pipelines_async.clear()

    def _check_type(self, message_type: type) -> None:
        if not (isinstance(message_type, type) and issubclass(message_type, self._base)):
            raise FlextBusError(
                f"{describe(message_type)} is not a {self._base.__name__} subclass; "
                f"the {self._kind} bus only routes {self._base.__name__}s"
            )

    def _behaviors_for(self, message_type: type) -> list[BehaviorEntry]:
        return [entry for entry in self._behaviors if entry.applies_to(message_type)]

    def _compile_sync(self, message_type: type) -> Callable[[Any], Any]:
        with self._lock:
            pipeline = self._build_sync(message_type)
            self._pipelines[message_type] = pipeline
        return pipeline

    def _compile_async(self, message_type: type) -> Callable[[Any], Any]:
        with self._lock:
            pipeline = self._build_async(message_type)
            self._pipelines_async[message_type] = pipeline
        return pipeline

    def _remove_handlers_of(self, owner: str) -> int:
        raise NotImplementedError  # pragma: no cover - each bus overrides it

    def _build_sync(self, message_type: type) -> Next:
        raise NotImplementedError  # pragma: no cover - each bus overrides it

    def _build_async(self, message_type: type) -> AsyncNext:
        raise NotImplementedError  # pragma: no cover - each bus overrides it


class SingleHandlerBus(BusBase):
    """A bus with exactly one handler per message class (commands, queries)."""

    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        super().__init__()
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

    def _build_sync(self, message_type: type) -> Next:
        registration = self._handlers.get(message_type)
        if registration is None:
            return _constant(self._no_handler(message_type))
        if registration.is_async:
            raise FlextBusError(
                f"handler {registration.name} of {message_type_name(message_type)} is async; "
                f"use {self._async_method}"
            )
        return build_sync_chain(registration.call, self._behaviors_for(message_type))

    def _build_async(self, message_type: type) -> AsyncNext:
        registration = self._handlers.get(message_type)
        if registration is None:
            return _constant_async(self._no_handler(message_type))
        call = registration.call if registration.is_async else _as_async(registration.call)
        return build_async_chain(call, self._behaviors_for(message_type), message_type)

    def _no_handler(self, message_type: type) -> FlextResult[Any]:
        name = message_type_name(message_type)
        return Failure(f"no handler registered for {self._kind} {name}", NO_HANDLER, {"message_type": name})


def _owned_by(owner: str | None) -> str:
    return "" if owner is None else f" (owner {owner!r})"


def _constant(result: FlextResult[Any]) -> Next:
    def pipeline(message: Any) -> FlextResult[Any]:
        return result

    return pipeline


def _constant_async(result: FlextResult[Any]) -> AsyncNext:
    async def pipeline(message: Any) -> FlextResult[Any]:
        return result

    return pipeline


def _as_async(call: Callable[[Any], FlextResult[Any]]) -> AsyncNext:
    async def pipeline(message: Any) -> FlextResult[Any]:
        return call(message)

    return pipeline
