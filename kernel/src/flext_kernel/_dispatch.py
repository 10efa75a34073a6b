"""What the buses share: the handler and behaviour protocols and the pipeline compiler."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar

from flext_kernel.errors import FlextBusError
from flext_kernel.result import FlextResult

__all__ = [
    "AsyncBehavior",
    "AsyncNext",
    "Behavior",
    "BehaviorEntry",
    "Handler",
    "HandlerObject",
    "Next",
    "OwnerTracker",
    "Registration",
    "Subscriber",
    "build_chain",
    "describe",
    "make_registration",
]

M = TypeVar("M")
M_contra = TypeVar("M_contra", contravariant=True)
T = TypeVar("T")
N = TypeVar("N")

Next: TypeAlias = Callable[[Any], FlextResult[Any]]
"""What a behaviour's ``handle`` calls to run the rest of the pipeline."""
AsyncNext: TypeAlias = Callable[[Any], Awaitable[FlextResult[Any]]]
"""What a behaviour's ``handle_async`` awaits to run the rest of the pipeline."""


class HandlerObject(Protocol[M_contra]):
    """A handler written as a class: the bus calls its ``handle`` method."""

    def handle(self, message: M_contra, /) -> Any:
        """Handle ``message``; return a ``FlextResult`` (or an awaitable of one)."""


Handler: TypeAlias = (
    Callable[[M], FlextResult[Any]] | Callable[[M], Awaitable[FlextResult[Any]]] | HandlerObject[M]
)
"""A command or query handler: a (sync or async) callable, or an object with ``handle``."""

Subscriber: TypeAlias = (
    Callable[[M], FlextResult[Any] | None]
    | Callable[[M], Awaitable[FlextResult[Any] | None]]
    | HandlerObject[M]
)
"""An event subscriber; like a handler, but returning None counts as success."""


class Behavior(Protocol):
    """Pipeline middleware: ``handle`` calls ``next(message)`` to go on, or returns its own result."""

    def handle(self, message: Any, next: Next, /) -> FlextResult[Any]:
        """Run around the rest of the pipeline."""


class AsyncBehavior(Behavior, Protocol):
    """A behaviour that can also run in ``dispatch_async``/``execute_async``/``publish_async``."""

    async def handle_async(self, message: Any, next: AsyncNext, /) -> FlextResult[Any]:
        """Like ``handle``, awaiting ``next(message)``."""


class OwnerTracker(Protocol):
    """Counts the pipelines running per owner, so that a plugin can be swapped without cutting them off."""

    def track(self, owner: str, pipeline: Next, reroute: Next, /) -> Next:
        """Wrap ``pipeline`` so that its calls count as ``owner``'s; once retired, it calls ``reroute``."""

    def track_async(self, owner: str, pipeline: AsyncNext, reroute: AsyncNext, /) -> AsyncNext:
        """Like ``track``, for the async paths."""


@dataclass(frozen=True, slots=True)
class Registration:
    """One handler or subscriber as the bus stores it."""

    message_type: type
    """The message class it was registered for."""
    handler: object
    """What the caller passed (compared by ``unregister``)."""
    call: Callable[[Any], Any]
    """What the pipeline calls: ``handler.handle`` or ``handler`` itself."""
    is_async: bool
    """True if ``call`` is a coroutine function."""
    name: str
    """Dotted name used in error messages."""
    owner: str | None
    """Who registered it (a plugin name), for ``remove_owner``."""


@dataclass(frozen=True, slots=True)
class BehaviorEntry:
    """One ``bus.use(...)`` call."""

    behavior: Behavior
    """The behaviour object."""
    message_types: tuple[type, ...] | None
    """Only messages that are instances of one of these; None for all."""
    owner: str | None
    """Who added it, for ``remove_owner``."""

    def applies_to(self, message_type: type) -> bool:
        """Return True if this behaviour runs for messages of ``message_type``."""
        return self.message_types is None or issubclass(message_type, self.message_types)


def describe(obj: object) -> str:
    """Return a dotted name for a handler, for error messages and logs."""
    if isinstance(obj, functools.partial):
        return f"partial({describe(obj.func)})"
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(qualname, str):
        return f"{getattr(obj, '__module__', '?')}.{qualname}"
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def make_registration(message_type: type, handler: object, owner: str | None) -> Registration:
    """Normalise ``handler`` (callable, or object with ``handle``) into a ``Registration``.

    A class (pass an instance) or a non-callable raises ``FlextBusError``.
    """
    if isinstance(handler, type):
        raise FlextBusError(f"{describe(handler)} is a class; register an instance of it")
    handle = getattr(handler, "handle", None)
    call = handle if callable(handle) else handler
    if not callable(call):
        raise FlextBusError(f"{describe(handler)} is neither callable nor has a handle method")
    # An object whose __call__ is async is not a coroutine function to inspect: look at the method.
    dunder_call = getattr(type(call), "__call__", None)  # noqa: B004  (we need the method, not callable())
    is_async = inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(dunder_call)
    return Registration(message_type, handler, call, is_async, describe(handler), owner)


def _layer(handle: Callable[[Any, N], T], inner: N) -> Callable[[Any], T]:
    # One closure per behaviour, built once: calling it costs one Python call
    # and no allocation, which beats functools.partial with a keyword argument.
    def step(message: Any) -> T:
        return handle(message, inner)

    return step


def build_chain(
    inner: Callable[[Any], Any], behaviors: Sequence[BehaviorEntry], message_type: type, asynchronous: bool
) -> Callable[[Any], Any]:
    """Wrap ``inner`` in the behaviours' ``handle`` (or ``handle_async``); the first one added runs first.

    An async chain raises ``FlextBusError`` at a behaviour without ``handle_async``.
    """
    for entry in reversed(behaviors):
        handle = getattr(entry.behavior, "handle_async" if asynchronous else "handle", None)
        if handle is None:
            raise FlextBusError(
                f"behaviour {describe(entry.behavior)} has no handle_async, so it cannot run in the "
                f"async pipeline of {describe(message_type)}; add one or use the sync dispatch"
            )
        inner = _layer(handle, inner)
    return inner
