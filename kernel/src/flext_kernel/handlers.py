"""Handler decorators and ``register_handlers``: a plugin wires all its handlers in one call.

Decorating only marks, so importing a module changes no global state; see
docs/kernel/buses.md, "Decorators and register_handlers".
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar, overload

from flext_kernel._dispatch import describe
from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
from flext_kernel.errors import FlextBusError
from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextMessage, FlextQuery

__all__ = [
    "HandlerSpec",
    "command_handler",
    "event_handler",
    "handler_specs",
    "query_handler",
    "register_handlers",
]

H = TypeVar("H", bound=Callable[..., Any])
Kind = Literal["command", "query", "event"]

_MARK: Final = "__flext_handlers__"
_BASES: Final[dict[str, type[FlextMessage]]] = {
    "command": FlextCommand,
    "query": FlextQuery,
    "event": FlextDomainEvent,
}


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """What a decorator recorded on a handler."""

    kind: Kind
    """Which bus: ``"command"``, ``"query"`` or ``"event"``."""
    message_type: type[FlextMessage] | None
    """The message class, or None to read it from the first parameter's annotation."""


def _mark(target: H, kind: Kind, message_type: type[FlextMessage] | None) -> H:
    # A class's own marks only (handler_specs): a subclass must not inherit its base's.
    setattr(target, _MARK, (*handler_specs(target), HandlerSpec(kind, message_type)))
    return target


def _decorate(kind: Kind, target: Any) -> Any:
    if target is None:
        return lambda handler: _mark(handler, kind, None)
    if isinstance(target, type) and issubclass(target, FlextMessage):
        return lambda handler: _mark(handler, kind, target)
    return _mark(target, kind, None)


@overload
def command_handler(  # a message class is also a callable: this overload must come first
    target: type[FlextCommand] | None = None, /
) -> Callable[[H], H]: ...
@overload
def command_handler(target: H, /) -> H: ...
def command_handler(target: Any = None, /) -> Any:
    """Mark a function, or a class with a ``handle`` method, as a command handler.

    Bare, the type comes from the first parameter's annotation; ``@command_handler(RenameUser)`` names it.
    """
    return _decorate("command", target)


@overload
def query_handler(  # a message class is also a callable: this overload must come first
    target: type[FlextQuery] | None = None, /
) -> Callable[[H], H]: ...
@overload
def query_handler(target: H, /) -> H: ...
def query_handler(target: Any = None, /) -> Any:
    """Mark a function, or a class with a ``handle`` method, as a query handler."""
    return _decorate("query", target)


@overload
def event_handler(  # a message class is also a callable: this overload must come first
    target: type[FlextDomainEvent] | None = None, /
) -> Callable[[H], H]: ...
@overload
def event_handler(target: H, /) -> H: ...
def event_handler(target: Any = None, /) -> Any:
    """Mark a function, a class with ``handle``, or a method (for projections) as an event subscriber.

    Stack the decorator to subscribe one function to several event classes.
    """
    return _decorate("event", target)


def handler_specs(target: object) -> tuple[HandlerSpec, ...]:
    """Return the marks a decorator left on ``target`` (a class's own marks only)."""
    found = target.__dict__.get(_MARK, ()) if isinstance(target, type) else getattr(target, _MARK, ())
    return tuple(spec for spec in found if isinstance(spec, HandlerSpec))


def _message_types(function: Callable[..., Any], spec: HandlerSpec, *, skip_self: bool) -> list[type]:
    """Return the message classes ``function`` handles: explicit, or from its first annotation."""
    if spec.message_type is not None:
        return [spec.message_type]
    name = describe(function)
    try:
        parameters = list(inspect.signature(function, eval_str=True).parameters.values())
    except Exception as exc:  # a NameError/SyntaxError while evaluating a string annotation
        raise FlextBusError(
            f"cannot read the annotations of {name} ({exc}); pass the message type to the decorator"
        ) from exc
    if skip_self:
        parameters = parameters[1:]
    if not parameters or parameters[0].annotation is inspect.Parameter.empty:
        raise FlextBusError(
            f"{name} has no annotated first parameter; pass the message type to the decorator"
        )
    annotation = parameters[0].annotation
    members = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    for member in members:
        if not (isinstance(member, type) and issubclass(member, _BASES[spec.kind])):
            raise FlextBusError(
                f"{name} is marked as a {spec.kind} handler but its first parameter is annotated "
                f"{member!r}, not a {_BASES[spec.kind].__name__} subclass"
            )
    return list(members)


def _is_union(annotation: object) -> bool:
    return isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union


def _collect(source: object, factory: Callable[[type[Any]], object]) -> list[tuple[Kind, type, object]]:
    """Return (kind, message class, handler) for every marked handler in ``source``."""
    if isinstance(source, types.ModuleType):
        found: list[tuple[Kind, type, object]] = []
        for obj in list(vars(source).values()):
            defined_here = getattr(obj, "__module__", None) == source.__name__
            if defined_here and (inspect.isfunction(obj) or inspect.isclass(obj)):
                found += _collect(obj, factory)
        return found
    if isinstance(source, list | tuple):
        return [entry for item in source for entry in _collect(item, factory)]
    if inspect.isclass(source):
        if not handler_specs(source) and not _marked_methods(source):
            return []
        return _collect_instance(factory(source))
    if inspect.isfunction(source) or inspect.ismethod(source):
        return [
            (spec.kind, message_type, source)
            for spec in handler_specs(source)
            for message_type in _message_types(source, spec, skip_self=False)
        ]
    return _collect_instance(source)


def _marked_methods(cls: type) -> list[str]:
    return [
        name
        for name in dir(cls)
        if inspect.isfunction(inspect.getattr_static(cls, name, None))
        and handler_specs(inspect.getattr_static(cls, name))
    ]


def _collect_instance(instance: object) -> list[tuple[Kind, type, object]]:
    cls = type(instance)
    found: list[tuple[Kind, type, object]] = []
    handle = getattr(cls, "handle", None)
    for spec in handler_specs(cls):
        if handle is None:
            raise FlextBusError(
                f"{describe(cls)} is marked as a {spec.kind} handler but has no handle method"
            )
        found += [(spec.kind, t, instance) for t in _message_types(handle, spec, skip_self=True)]
    for name in _marked_methods(cls):
        method = getattr(instance, name)
        for spec in handler_specs(method):
            found += [(spec.kind, t, method) for t in _message_types(method, spec, skip_self=False)]
    return found


def register_handlers(
    source: object,
    /,
    *,
    command_bus: FlextCommandBus | None = None,
    query_bus: FlextQueryBus | None = None,
    event_bus: FlextEventBus | None = None,
    owner: str | None = None,
    factory: Callable[[type[Any]], object] | None = None,
) -> int:
    """Register every marked handler of ``source`` on its bus; return how many registrations.

    ``source`` is a module (its own marked functions and classes), a marked function,
    a class (built by ``factory``, default: called with no arguments), an instance
    (its class's mark and its marked methods), or a list or tuple of those.

    Raises:
        FlextBusError: a handler's bus was not given, a message type cannot be
            inferred, or a registration conflicts. Nothing stays registered then.

    """
    entries = _collect(source, factory or (lambda cls: cls()))
    buses: dict[Kind, Any] = {"command": command_bus, "query": query_bus, "event": event_bus}
    for kind, _, handler in entries:
        if buses[kind] is None:
            raise FlextBusError(f"{describe(handler)} is a {kind} handler but no {kind}_bus was given")
    done: list[tuple[Kind, type, object]] = []
    try:
        for kind, message_type, handler in entries:
            if kind == "event":
                buses[kind].subscribe(message_type, handler, owner=owner)
            else:
                buses[kind].register(message_type, handler, owner=owner)
            done.append((kind, message_type, handler))
    except BaseException:
        _roll_back(done, buses)
        raise
    return len(done)


def _roll_back(done: Iterable[tuple[Kind, type, object]], buses: dict[Kind, Any]) -> None:
    for kind, message_type, handler in done:
        if kind == "event":
            buses[kind].unregister(message_type, handler)
        else:
            buses[kind].unregister(message_type)
