"""Which event store a process uses: one location string picks the backend and its address.

Users name a store once, with ``--store`` or ``FLEXT_EVENTSTORE_URL``, and
every part of FLEXT (the CLI, plugins resolving ``FlextEventStore`` from the
container, the projection runner) opens the same one:

========================================  ==========  =========================================
location                                  backend     provided by
========================================  ==========  =========================================
(nothing)                                 ``sqlite``  ``events.db`` in the user's data directory
``/path/events.db``, ``sqlite:///path``   ``sqlite``  plugin ``eventstore-sqlite``
``postgresql://...``, ``postgres://...``  ``postgres`` plugin ``eventstore-postgres``
``memory://``                             ``memory``  the kernel (per process; tests)
========================================  ==========  =========================================

Backends are looked up by name among the factories that active plugins
return from ``flext_event_store_backends`` (and, for read models,
``flext_projection_store_backends``), so a third-party backend plugs in the
same way: a location ``NAME://...`` selects backend ``NAME``.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult, Success

if TYPE_CHECKING:
    from flext_kernel.eventcodec import EventCodec
    from flext_kernel.eventstore import FlextEventStore
    from flext_kernel.plugins.manager import PluginManager
    from flext_kernel.projection import ProjectionStore

__all__ = ["EVENTSTORE_URL_VARIABLE", "open_event_store", "open_projection_store", "parse_location"]

EVENTSTORE_URL_VARIABLE: Final = "FLEXT_EVENTSTORE_URL"
"""The environment variable naming the store when no ``--store`` is given."""

_SCHEME: Final = re.compile(r"([a-z][a-z0-9+.-]*):")
_ALIASES: Final = {"postgresql": "postgres", "postgres": "postgres", "sqlite": "sqlite", "memory": "memory"}
_INSTALL_HINTS: Final = {
    "postgres": 'pip install "flext[postgres]" (the eventstore-postgres plugin)',
    "sqlite": "pip install flext-plugin-eventstore-sqlite",
}


def parse_location(location: str | None = None) -> tuple[str, str | None]:
    """Return ``(backend name, location for that backend)``; None means ``$FLEXT_EVENTSTORE_URL``.

    A plain path (no ``scheme:``) is a SQLite file; a libpq ``key=value``
    string (``host=... dbname=...``) is PostgreSQL; ``NAME://...`` is backend
    ``NAME``. Nothing at all is the default SQLite file.
    """
    text = (location if location else os.environ.get(EVENTSTORE_URL_VARIABLE, "")).strip()
    if not text:
        return "sqlite", None
    match = _SCHEME.match(text)
    if match is not None and len(match.group(1)) > 1:  # "C:\\..." is a Windows path, not a scheme
        scheme = match.group(1)
        backend = _ALIASES.get(scheme, scheme)
        return backend, (None if backend == "memory" else text)
    if re.match(r"\s*(host|hostaddr|dbname|user|port|service)\s*=", text):
        return "postgres", text
    return "sqlite", text


def _memory_event_store(codec: EventCodec | None = None, *, location: str | None = None) -> FlextEventStore:
    from flext_kernel.memory_store import InMemoryEventStore

    return InMemoryEventStore(codec)


def _memory_projection_store(*, location: str | None = None) -> ProjectionStore:
    from flext_kernel.memory_projection_store import InMemoryProjectionStore

    return InMemoryProjectionStore()


_BUILT_IN: Final[dict[str, dict[str, Any]]] = {
    "flext_event_store_backends": {"memory": _memory_event_store},
    "flext_projection_store_backends": {"memory": _memory_projection_store},
}


def _factories(plugins: PluginManager, hook: str) -> dict[str, Any]:
    found: dict[str, Any] = {**_BUILT_IN[hook]}
    for _, answer in plugins.collect(hook):
        if isinstance(answer, dict):
            found.update(answer)
    return found


def _backend(
    plugins: PluginManager, hook: str, location: str | None
) -> FlextResult[tuple[Any, str, str | None]]:
    backend, address = parse_location(location)
    factories = _factories(plugins, hook)
    factory = factories.get(backend)
    if factory is None:
        hint = _INSTALL_HINTS.get(backend, f"install the plugin that provides the {backend!r} backend")
        known = ", ".join(sorted(factories)) or "none"
        return Failure(
            f"no active plugin provides the {backend!r} event store backend (available: {known}); {hint}",
            NOT_FOUND,
            {"backend": backend, "available": sorted(factories)},
        )
    return Success((factory, backend, address))


def open_event_store(
    plugins: PluginManager, location: str | None = None, codec: EventCodec | None = None
) -> FlextResult[FlextEventStore]:
    """Open the event store at ``location`` (None: ``$FLEXT_EVENTSTORE_URL``, else the default file).

    Fails with ``NOT_FOUND`` when no active plugin provides the backend, and
    ``VALIDATION_ERROR`` when the backend refuses the address.
    """
    found = _backend(plugins, "flext_event_store_backends", location)
    if found.is_failure:
        return found  # type: ignore[return-value]  # a failure carries no value
    factory, backend, address = found.value
    return _call(backend, lambda: factory(codec, location=address))


def open_projection_store(
    plugins: PluginManager, location: str | None = None
) -> FlextResult[ProjectionStore]:
    """Open the projection store next to the event store at ``location`` (same rules)."""
    found = _backend(plugins, "flext_projection_store_backends", location)
    if found.is_failure:
        return found  # type: ignore[return-value]  # a failure carries no value
    factory, backend, address = found.value
    return _call(backend, lambda: factory(location=address))


def _call(backend: str, opener: Any) -> FlextResult[Any]:
    """Run a backend factory; the ``ValueError`` a factory raises for a bad address is bad input."""
    try:
        return Success(opener())
    except ValueError as exc:
        return Failure(f"bad {backend} event store location: {exc}", VALIDATION_ERROR, {"backend": backend})
    except OSError as exc:
        return Failure(f"cannot open the {backend} event store: {exc}", STORAGE_ERROR, {"backend": backend})
