"""The singer plugin's own error codes; the shared ones (``NOT_FOUND``, ...) are ``flext_kernel.errors``'.

Each is documented in ``docs/errors.md``. Stdlib only, like the engine that
imports it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["RUN_FAILED"]

RUN_FAILED: Final = "RUN_FAILED"
"""A tap, mapper or target could not start or exited non-zero, or ``--discover`` printed no catalog."""
