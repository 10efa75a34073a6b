"""The kernel's version, as a constant: reading distribution metadata costs ~50 ms at start-up."""

from typing import Final

__all__ = ["KERNEL_VERSION"]

KERNEL_VERSION: Final = "0.1.0"
"""Must equal ``version`` in kernel/pyproject.toml (a test checks)."""
