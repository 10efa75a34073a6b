"""The hooks through which plugins offer event stores, projection stores and projections.

The ``eventsourcing`` plugin adds these specifications to the kernel's
(its manifest names this module in ``hookspecs``); a backend plugin
implements them and lists ``eventsourcing`` in its ``requires``. The
reference with examples is ``docs/event-sourcing.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.plugins.hookspecs import hookspec

if TYPE_CHECKING:
    from flext_eventsourcing.eventstore import EventStoreFactory
    from flext_eventsourcing.projection import FlextProjection, ProjectionStoreFactory
    from flext_eventsourcing.stores import LocationSyntax

__all__ = [
    "flext_event_store_backends",
    "flext_event_store_locations",
    "flext_projection_store_backends",
    "flext_projections",
]


@hookspec
def flext_event_store_backends() -> dict[str, EventStoreFactory] | None:
    """Name the event store backends the plugin provides: ``{"sqlite": open_sqlite_store}``.

    Each factory is called as ``factory(codec, location=...)`` and returns a
    ``FlextEventStore``; ``location`` is the backend's own address (a file
    path, a URL) or None for its default. Nothing is opened until a factory
    is called. Backend names are what users choose a backend by, so two
    plugins must not claim the same name.

    A factory creates a store that is missing (commands that must not create
    one check first with the backend's ``LocationSyntax.probe``). It raises
    ``ValueError`` for an address it refuses, ``FileNotFoundError`` when
    something the store needs is missing and is not its to create (the
    directory of a path a user named), another ``OSError`` when storage fails.
    """


@hookspec
def flext_event_store_locations() -> list[LocationSyntax] | None:
    """Say which ``--store`` locations select the plugin's backends, and how to install what they need.

    Without a declaration a backend is still chosen by ``NAME://...``; with
    one it can claim URL schemes, scheme-less strings (a pattern), plain
    file paths, and the default store used when no location is given.
    """


@hookspec
def flext_projection_store_backends() -> dict[str, ProjectionStoreFactory] | None:
    """Name the projection stores the plugin provides, by event store backend name.

    Each factory is called as ``factory(location=...)``, with the same
    ``location`` as the event store backend of that name, so read models live
    next to the events they are built from (the same file, the same schema).
    """


@hookspec
def flext_projections() -> list[FlextProjection] | None:
    """Return the projections the plugin contributes; ``flext projections`` runs and shows them."""
