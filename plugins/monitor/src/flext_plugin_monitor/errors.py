"""The monitor plugin's own error codes; the shared ones (``VALIDATION_ERROR``, ...) are the kernel's.

Each is documented in ``docs/errors.md``. Stdlib only.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ALERT_NOTIFY_FAILED"]

ALERT_NOTIFY_FAILED: Final = "ALERT_NOTIFY_FAILED"
"""A notifier could not deliver an alert (the webhook refused or did not answer, the command failed)."""
