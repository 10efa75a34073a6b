"""Which event store a process uses: one location string picks the backend and its address.

Users name a store once, with ``--store`` or ``FLEXT_EVENTSTORE_URL``, and
every part of FLEXT (the CLI, plugins resolving ``FlextEventStore`` from the
container, the projection runner) opens the same one. This module knows no
backend by name: each backend plugin declares the locations it answers to
(``flext_event_store_locations``) and the factories that open them
(``flext_event_store_backends``, ``flext_projection_store_backends``).
The rules, in order (``docs/event-sourcing.md`` has the table):

1. nothing: the backend that declares itself the default;
2. ``scheme:...``: the backend that claims the scheme, else the backend
   named ``scheme`` (so ``NAME://...`` selects any backend by its name);
3. a string that a backend's pattern matches (a libpq ``key=value`` string);
4. anything else: the backend that takes plain file paths.

Commands that only read open a store with ``create=False``: a location where
no store is yet is then refused (``NOT_FOUND``) instead of silently becoming
a new, empty store. What "there is a store" means is the backend's to say,
with the ``probe`` of its ``LocationSyntax`` (a SQLite file FLEXT made; a
PostgreSQL database holds the schema). Commands that only read events also
pass ``read_only=True``; a backend that can (``LocationSyntax.read_only``)
then opens the store for reading only. A location holding something FLEXT did
not create is refused, by readers and writers, before anything is written to
it (``NOT_A_FLEXT_STORE``; docs/security.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, VALIDATION_ERROR, FlextError
from flext_kernel.result import Failure, FlextResult, Success

if TYPE_CHECKING:
    from flext_eventsourcing.eventcodec import EventCodec
    from flext_eventsourcing.eventstore import FlextEventStore
    from flext_eventsourcing.projection import FlextProjection, ProjectionStore
    from flext_kernel.plugins.manager import PluginManager

__all__ = [
    "EVENTSTORE_URL_VARIABLE",
    "MISSING_STORE_HINT",
    "STORE_HINT",
    "EventStores",
    "LocationSyntax",
    "parse_location",
]

EVENTSTORE_URL_VARIABLE: Final = "FLEXT_EVENTSTORE_URL"
"""The environment variable naming the store when no ``--store`` is given."""
STORE_HINT: Final = "pass --store PATH|URL or set FLEXT_EVENTSTORE_URL"
"""What to tell a user whose event store could not be opened."""
MISSING_STORE_HINT: Final = (
    "check --store and FLEXT_EVENTSTORE_URL; commands that record events create the store "
    "(flext events import FILE --store LOCATION, flext pipeline run NAME --store LOCATION)"
)
"""What to tell a user whose store is not there, when its backend's probe gives no hint of its own."""

_SCHEME: Final = re.compile(r"([a-z][a-z0-9+.-]*):")


class LocationSyntax(BaseModel):
    """The locations one backend answers to; a backend plugin returns these from its hook."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = Field(min_length=1)
    """The backend's name, as its plugin's ``flext_event_store_backends`` returns it."""
    schemes: tuple[str, ...] = ()
    """URL schemes that select it (``("postgresql", "postgres")``); its name always does."""
    pattern: str | None = None
    """A regular expression that claims a location with no scheme (``host=... dbname=...``)."""
    paths: bool = False
    """It takes plain file paths (one backend should)."""
    default: bool = False
    """It is the store used when no location is given."""
    address_required: bool = True
    """False when the backend ignores the address (``memory://``): it is then passed as None."""
    install_hint: str = ""
    """What to install when its factory cannot import what it needs (a driver)."""
    read_only: bool = False
    """Its factory takes ``read_only=True`` and then opens an existing store for reading only."""
    probe: Callable[[str | None], FlextResult[None]] | None = None
    """Checks, creating nothing, that a store is at an address (None: the backend's default).

    Returns a success when one is; a ``NOT_FOUND`` failure naming what is
    missing when none is (``error_data["hint"]`` may say how to create it);
    ``NOT_A_FLEXT_STORE`` when something FLEXT did not create is there; any
    other failure when it cannot tell. ``open_event_store(create=False)``
    calls it; without one every address is taken to hold a store. It may
    raise what a factory may (``ValueError`` for a bad address, ``OSError``,
    a ``FlextError`` carrying its code).
    """


def parse_location(
    location: str | None, syntaxes: list[LocationSyntax]
) -> FlextResult[tuple[str, str | None]]:
    """Return ``(backend name, address for that backend)``; None means ``$FLEXT_EVENTSTORE_URL``."""
    text = (location if location else os.environ.get(EVENTSTORE_URL_VARIABLE, "")).strip()
    if not text:
        for syntax in syntaxes:
            if syntax.default:
                return Success((syntax.backend, None))
        return Failure(
            "no event store location was given and no active plugin provides a default store",
            NOT_FOUND,
            {"available": sorted({s.backend for s in syntaxes})},
        )
    match = _SCHEME.match(text)
    if match is not None and len(match.group(1)) > 1:  # "C:\\..." is a Windows path, not a scheme
        scheme = match.group(1)
        chosen = next((s for s in syntaxes if scheme in s.schemes or scheme == s.backend), None)
        if chosen is None:
            return Success((scheme, text))  # NAME://...: a backend that declares nothing
        return Success((chosen.backend, text if chosen.address_required else None))
    for syntax in syntaxes:
        if syntax.pattern is not None and re.match(syntax.pattern, text):
            return Success((syntax.backend, text))
    for syntax in syntaxes:
        if syntax.paths:
            return Success((syntax.backend, text))
    return Failure(
        f"no active plugin takes the event store location {text!r} (a file path needs a file backend)",
        NOT_FOUND,
        {"location": text},
    )


class EventStores:
    """Opens event and projection stores with the backends the active plugins provide.

    The ``eventsourcing`` plugin registers one in the container; resolve it
    to open a store at a location a user named (``--store``). Plugins that
    only write events resolve ``FlextEventStore`` instead: the store at the
    default location, opened once per kernel.
    """

    def __init__(self, plugins: PluginManager) -> None:
        self._plugins = plugins

    def syntaxes(self) -> list[LocationSyntax]:
        """Every active plugin's location declarations, in plugin order."""
        found: list[LocationSyntax] = []
        for _, answer in self._plugins.collect("flext_event_store_locations"):
            found.extend(answer)
        return found

    def parse(self, location: str | None = None) -> FlextResult[tuple[str, str | None]]:
        """Which backend ``location`` selects, and its address for that backend."""
        return parse_location(location, self.syntaxes())

    def open_event_store(
        self,
        location: str | None = None,
        codec: EventCodec | None = None,
        *,
        create: bool = True,
        read_only: bool = False,
    ) -> FlextResult[FlextEventStore]:
        """Open the event store at ``location`` (None: ``$FLEXT_EVENTSTORE_URL``, else the default).

        With ``create=False`` (what commands that only read pass) a location
        where the backend finds no store fails with ``NOT_FOUND`` naming it,
        ``error_data["hint"]`` saying how to create one, and nothing is
        created; with ``create=True`` the backend creates what is missing.
        ``read_only=True`` (implies ``create=False``) is for callers that
        never append: a backend that can opens the store for reading only.

        Fails with ``NOT_FOUND`` when no active plugin provides the backend,
        ``VALIDATION_ERROR`` when the backend refuses the address,
        ``NOT_A_FLEXT_STORE`` when the location holds something FLEXT did
        not create (left untouched), and ``STORAGE_ERROR`` when it cannot be opened.
        """
        found = self._backend("flext_event_store_backends", location, create=create and not read_only)
        if isinstance(found, Failure):
            return found
        factory, backend, address = found.value
        if read_only and any(s.read_only for s in self.syntaxes() if s.backend == backend):
            return self._call(backend, lambda: factory(codec, location=address, read_only=True))
        return self._call(backend, lambda: factory(codec, location=address))

    def open_projection_store(
        self, location: str | None = None, *, create: bool = True
    ) -> FlextResult[ProjectionStore]:
        """Open the projection store next to the event store at ``location`` (same rules, ``create`` too)."""
        found = self._backend("flext_projection_store_backends", location, create=create)
        if isinstance(found, Failure):
            return found
        factory, backend, address = found.value
        return self._call(backend, lambda: factory(location=address))

    def projections(self) -> list[FlextProjection]:
        """The projections the active plugins contribute (``flext_projections``)."""
        found: list[FlextProjection] = []
        for _, answer in self._plugins.collect("flext_projections"):
            found.extend(answer)
        return found

    def _backend(
        self, hook: str, location: str | None, *, create: bool
    ) -> FlextResult[tuple[Any, str, str | None]]:
        syntaxes = self.syntaxes()
        parsed = parse_location(location, syntaxes)
        if isinstance(parsed, Failure):
            return parsed
        backend, address = parsed.value
        factories: dict[str, Any] = {}
        for _, answer in self._plugins.collect(hook):
            factories.update(answer)
        factory = factories.get(backend)
        if factory is None:
            known = ", ".join(sorted(factories)) or "none"
            return Failure(
                f"no active plugin provides the {backend!r} event store backend (available: {known}); "
                "install the plugin that provides it, or enable it (flext plugin list)",
                NOT_FOUND,
                {"backend": backend, "available": sorted(factories)},
            )
        if not create:
            probe = next((s.probe for s in syntaxes if s.backend == backend and s.probe), None)
            there = Success(None) if probe is None else self._probe(backend, probe, address)
            if isinstance(there, Failure):
                return there
        return Success((factory, backend, address))

    def _probe(
        self, backend: str, probe: Callable[[str | None], FlextResult[None]], address: str | None
    ) -> FlextResult[None]:
        """Run a backend's probe; a missing store's failure gets the general hint if it has none."""
        probed = self._call(backend, lambda: probe(address))
        if isinstance(probed, Failure):
            return probed
        there: FlextResult[None] = probed.value
        if isinstance(there, Failure) and there.error_code == NOT_FOUND and "hint" not in there.error_data:
            return Failure(there.error, NOT_FOUND, {**there.error_data, "hint": MISSING_STORE_HINT})
        return there

    def _call(self, backend: str, opener: Callable[[], Any]) -> FlextResult[Any]:
        """Run a backend factory or probe, turning what it raises into a failure.

        A missing module is ``NOT_FOUND`` (with the install hint), a
        ``FlextError`` its own code (``NOT_A_FLEXT_STORE``, say), a
        ``ValueError`` a bad address (``VALIDATION_ERROR``), a
        ``FileNotFoundError`` something the store needs that is missing, such
        as its directory (``NOT_FOUND``), another ``OSError`` ``STORAGE_ERROR``.
        """
        try:
            return Success(opener())
        except ModuleNotFoundError as exc:
            hint = next((s.install_hint for s in self.syntaxes() if s.backend == backend), "")
            return Failure(
                f"the {backend} event store backend needs {exc.name!r}, which is not installed"
                + (f"; {hint}" if hint else ""),
                NOT_FOUND,
                {"backend": backend, "module": exc.name},
            )
        except FlextError as exc:
            data = {**exc.error_data, "backend": backend}
            return Failure(exc.message, exc.error_code or STORAGE_ERROR, data)
        except ValueError as exc:
            return Failure(
                f"bad {backend} event store location: {exc}", VALIDATION_ERROR, {"backend": backend}
            )
        except FileNotFoundError as exc:  # what a store needs is missing (its directory): not created
            missing = exc.filename
            return Failure(
                f"cannot open the {backend} event store: {exc.strerror or exc}",
                NOT_FOUND,
                {
                    "backend": backend,
                    "missing": missing,
                    "hint": f"check the location, or create {missing} first" if missing else STORE_HINT,
                },
            )
        except OSError as exc:
            return Failure(
                f"cannot open the {backend} event store: {exc}", STORAGE_ERROR, {"backend": backend}
            )
