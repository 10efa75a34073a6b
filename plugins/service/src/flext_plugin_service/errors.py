"""The service plugin's own error codes; the shared ones (``NOT_FOUND``, ...) are the kernel's.

Each is documented in ``docs/errors.md``. Stdlib only.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SERVICE_START_FAILED", "SERVICE_UNHEALTHY"]

SERVICE_UNHEALTHY: Final = "SERVICE_UNHEALTHY"
"""``flext service health``: a service marked required is down (or its check timed out)."""
SERVICE_START_FAILED: Final = "SERVICE_START_FAILED"
"""``flext service start``: the process could not be started, or ended (or never became healthy) at once."""
