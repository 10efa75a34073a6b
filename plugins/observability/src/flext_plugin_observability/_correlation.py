"""The current action's correlation id, from the kernel when it has one.

``flext_kernel.correlation`` (issue 18, part 1) may not be there yet: looked
up once, it answers the id; without it every span's id is None.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

__all__ = ["correlation_id_getter"]


def _none() -> str | None:
    return None


def correlation_id_getter() -> Callable[[], str | None]:
    """``flext_kernel.correlation.current_correlation_id``, or a function answering None without it."""
    try:
        module = importlib.import_module("flext_kernel.correlation")
    except ImportError:
        return _none
    getter = getattr(module, "current_correlation_id", None)
    return cast("Callable[[], str | None]", getter) if callable(getter) else _none
