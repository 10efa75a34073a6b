"""The logs plugin's own error codes; the shared ones (``VALIDATION_ERROR``, ...) are the kernel's.

Each is documented in ``docs/errors.md``. Stdlib only.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LOG_QUERY_INVALID", "LOG_STORE_FAILED"]

LOG_QUERY_INVALID: Final = "LOG_QUERY_INVALID"
"""A search query SQLite FTS5 refuses (unbalanced quotes, a lone operator); exit code 2."""
LOG_STORE_FAILED: Final = "LOG_STORE_FAILED"
"""The log store could not be opened, read or written (permissions, a full disk, a corrupt file)."""
