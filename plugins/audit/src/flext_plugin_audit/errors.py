"""The audit plugin's own error codes; the shared ones (``STORAGE_ERROR``, ...) are the kernel's.

Each is documented in ``docs/errors.md``. Stdlib only.
"""

from __future__ import annotations

from typing import Final

__all__ = ["AUDIT_CHAIN_BROKEN"]

AUDIT_CHAIN_BROKEN: Final = "AUDIT_CHAIN_BROKEN"
"""``flext audit verify`` found a record edited, deleted or moved (exit code 1)."""
