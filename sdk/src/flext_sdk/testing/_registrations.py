"""Record every registration made on a kernel's container and buses while plugins boot.

The kernel removes a plugin's services, handlers, subscribers and behaviours
by owner when the plugin fails, unloads or reloads; anything registered
without ``owner=<plugin name>`` is left behind. Neither the container nor
the buses list their registrations, so ``PluginContract`` watches them being
made instead: for the duration of a ``with recording():`` block the
registration methods of ``FlextContainer`` and the three buses note each
successful call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from flext_kernel.kernel import FlextKernel

__all__ = ["Registration", "kernel_registrations", "recording"]

_CONTAINER_METHODS: Final = ("register", "register_factory", "register_singleton", "register_scoped")


@dataclass(frozen=True, slots=True)
class Registration:
    """One successful registration call."""

    target: object
    """The container or bus it was made on."""
    method: str
    """The method called: ``register_singleton``, ``subscribe``, ``use``, ..."""
    key: object
    """The service key, message type, or behaviour object."""
    owner: str | None
    """The ``owner=`` passed, or None."""
    handler: object = None
    """The subscriber, for ``subscribe``."""

    def describe(self, where: str) -> str:
        """``container.register_singleton(Clock)`` and the like, for failure messages."""
        key = getattr(self.key, "__qualname__", None) or repr(self.key)
        if self.handler is not None:
            handler = getattr(self.handler, "__qualname__", None) or repr(self.handler)
            key = f"{key}, {handler}"
        return f"{where}.{self.method}({key})"


def _targets() -> list[tuple[type, str]]:
    from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
    from flext_kernel.container import FlextContainer

    return [
        *((FlextContainer, name) for name in _CONTAINER_METHODS),
        (FlextCommandBus, "register"),
        (FlextCommandBus, "use"),
        (FlextQueryBus, "register"),
        (FlextQueryBus, "use"),
        (FlextEventBus, "subscribe"),
        (FlextEventBus, "use"),
    ]


def _spy(original: Callable[..., Any], method: str, made: list[Registration]) -> Callable[..., Any]:
    @functools.wraps(original)
    def spy(self: object, key: object, *args: Any, **kwargs: Any) -> Any:
        result = original(self, key, *args, **kwargs)
        handler = (args[0] if args else kwargs.get("handler")) if method == "subscribe" else None
        made.append(Registration(self, method, key, kwargs.get("owner"), handler))
        return result

    return spy


@contextmanager
def recording() -> Iterator[list[Registration]]:
    """Yield a list that fills with every registration made inside the block.

    The methods are patched on the classes (containers and buses use
    ``__slots__``, so instances cannot be patched) and restored on exit.
    """
    made: list[Registration] = []
    saved: list[tuple[type, str, object]] = []
    try:
        for cls, name in _targets():
            saved.append((cls, name, cls.__dict__.get(name)))
            setattr(cls, name, _spy(getattr(cls, name), name, made))
        yield made
    finally:
        for cls, name, original in reversed(saved):
            if original is None:
                delattr(cls, name)  # the method was inherited; drop the shadowing spy
            else:
                setattr(cls, name, original)


def kernel_registrations(kernel: FlextKernel, made: list[Registration]) -> list[tuple[str, Registration]]:
    """The registrations in ``made`` that were made on ``kernel``, each with where it was made."""
    places = {
        id(kernel.container): "container",
        id(kernel.command_bus): "command_bus",
        id(kernel.query_bus): "query_bus",
        id(kernel.event_bus): "event_bus",
    }
    return [(places[id(entry.target)], entry) for entry in made if id(entry.target) in places]
