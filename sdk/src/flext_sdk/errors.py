"""The SDK's own error codes; the shared ones (``NOT_FOUND``, ...) are ``flext_kernel.errors``'.

Each is documented in ``docs/errors.md``. Stdlib only: the CLI commands that
return these import this module on their fast path.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ALREADY_EXISTS", "TOOL_INSTALL_FAILED", "WRITE_FAILED"]

TOOL_INSTALL_FAILED: Final = "TOOL_INSTALL_FAILED"
"""``flext_sdk.tools``: a tool's environment could not be created or its packages installed."""
ALREADY_EXISTS: Final = "ALREADY_EXISTS"
"""``flext plugin new``: the directory to create exists (exit code 2)."""
WRITE_FAILED: Final = "WRITE_FAILED"
"""``flext plugin new``: the scaffold could not be written; nothing is left behind."""
