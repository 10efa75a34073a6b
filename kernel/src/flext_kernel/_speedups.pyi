"""Types of the optional compiled module built from ``_speedups.c`` (see result.py)."""

from typing import Self

__all__ = ["SuccessStorage"]

class SuccessStorage:
    """The storage of a success: one value, set when built, never again."""

    def __new__(cls, value: object) -> Self: ...
    @property
    def value(self) -> object: ...
