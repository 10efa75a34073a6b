"""Event sourcing's exceptions and error codes, added to the kernel's (``flext_kernel.errors``).

Hierarchy::

    FlextError (kernel)
    ├── FlextEventStoreError        an event subscription could not read its store
    └── ProjectionStoreError        a projection store's storage failed (STORAGE_ERROR)

Each code is documented in ``docs/errors.md``.
"""

from __future__ import annotations

from typing import Final

from flext_kernel.errors import FlextError

__all__ = ["PROJECTION_FAILED", "STREAM_DELETED", "FlextEventStoreError", "ProjectionStoreError"]

STREAM_DELETED: Final = "STREAM_DELETED"
"""The event stream was deleted (its tombstone closes it); nothing can be appended to it."""
PROJECTION_FAILED: Final = "PROJECTION_FAILED"
"""A projection's ``handle`` raised; ``error_data`` names the projection, generation and event."""


class FlextEventStoreError(FlextError):
    """An event subscription could not read its store; carries the read failure's code and details."""


class ProjectionStoreError(FlextError):
    """A projection store's storage failed; backends raise it in place of their driver's errors.

    ``flext_eventsourcing.projection_runner`` turns it into a ``STORAGE_ERROR`` failure.
    """
