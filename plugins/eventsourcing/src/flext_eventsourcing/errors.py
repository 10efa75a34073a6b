"""Event sourcing's exceptions and error codes, added to the kernel's (``flext_kernel.errors``).

Hierarchy::

    FlextError (kernel)
    ├── FlextEventStoreError        an event subscription could not read its store
    ├── NotAFlextStoreError         a location holds something FLEXT did not create (NOT_A_FLEXT_STORE)
    └── ProjectionStoreError        a projection store's storage failed (STORAGE_ERROR)

Each code is documented in ``docs/errors.md``.
"""

from __future__ import annotations

from typing import Final

from flext_kernel.errors import FlextError

__all__ = [
    "NOT_A_FLEXT_STORE",
    "PROJECTION_FAILED",
    "STREAM_DELETED",
    "FlextEventStoreError",
    "NotAFlextStoreError",
    "ProjectionStoreError",
]

STREAM_DELETED: Final = "STREAM_DELETED"
"""The event stream was deleted (its tombstone closes it); nothing can be appended to it."""
PROJECTION_FAILED: Final = "PROJECTION_FAILED"
"""A projection's ``handle`` raised, or an event it handles did not decode; ``error_data`` says where."""
NOT_A_FLEXT_STORE: Final = "NOT_A_FLEXT_STORE"
"""A store location holds a file (or database) FLEXT did not create; it was left untouched."""


class FlextEventStoreError(FlextError):
    """An event subscription could not read its store; carries the read failure's code and details."""


class NotAFlextStoreError(FlextError):
    """A store location holds something FLEXT did not create; raised before anything is written to it.

    Backends raise it from their factories (and the probe returns its
    failure); ``EventStores`` turns it into a ``NOT_A_FLEXT_STORE`` failure
    with ``error_data["path"]`` (or what names the location) and a hint.
    """

    def __init__(self, message: str, error_data: dict[str, object] | None = None) -> None:
        super().__init__(message, NOT_A_FLEXT_STORE, error_data)


class ProjectionStoreError(FlextError):
    """A projection store's storage failed; backends raise it in place of their driver's errors.

    ``flext_eventsourcing.projection_runner`` turns it into a ``STORAGE_ERROR`` failure.
    """
