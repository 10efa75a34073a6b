"""The scheduler plugin's own error codes; the shared ones (``NOT_FOUND``, ...) are ``flext_kernel.errors``'.

Each is documented in ``docs/errors.md``. Stdlib only.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FIRING_FAILED", "SCHEDULER_RUNNING"]

FIRING_FAILED: Final = "FIRING_FAILED"
"""A schedule's job ran and exited non-zero (or its command could not start)."""
SCHEDULER_RUNNING: Final = "SCHEDULER_RUNNING"
"""A scheduler already runs under this FLEXT home (it holds the scheduler lock)."""
