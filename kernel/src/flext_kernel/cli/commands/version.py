"""``flext version``: what is installed, without importing any plugin."""

from __future__ import annotations

import platform

from flext_kernel.cli import output
from flext_kernel.version import KERNEL_VERSION

__all__ = ["version"]


def version() -> int:
    """Print the versions of flext-kernel and Python."""
    data = {"flext-kernel": KERNEL_VERSION, "python": platform.python_version()}
    return output.emit(data, human=f"flext {KERNEL_VERSION} (Python {data['python']})")
