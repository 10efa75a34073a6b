"""Closing what the container built, last created first (as nested ``with`` blocks would).

Every object is tried even when one fails; the errors are raised afterwards.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

__all__ = ["aclose_in_reverse", "close_in_reverse", "closes_synchronously"]


def _sync_closer(value: object) -> Callable[[], object] | None:
    close = getattr(value, "close", None)
    if callable(close) and not inspect.iscoroutinefunction(close):
        return close  # type: ignore[no-any-return]  # getattr on an arbitrary object
    return None


def _async_closer(value: object) -> Callable[[], Awaitable[object]] | None:
    for name in ("aclose", "close"):
        close = getattr(value, name, None)
        if callable(close) and inspect.iscoroutinefunction(close):
            return close  # type: ignore[no-any-return]  # getattr on an arbitrary object
    return None


def closes_synchronously(value: object) -> bool:
    """Return True unless the object can only be closed by awaiting ``aclose()``."""
    return _sync_closer(value) is not None or _async_closer(value) is None


def close_in_reverse(values: list[object]) -> None:
    """Call ``close()`` on each object that has one, last created first; raise what they raised after."""
    errors: list[Exception] = []
    for value in reversed(values):
        close = _sync_closer(value)
        if close is None:
            continue
        try:
            close()
        except Exception as error:  # one failing close must not leave the others open
            errors.append(error)
    _raise_all(errors)


async def aclose_in_reverse(values: list[object]) -> None:
    """Like ``close_in_reverse``, preferring an awaitable ``aclose()`` where there is one."""
    errors: list[Exception] = []
    for value in reversed(values):
        aclose = _async_closer(value)
        close = _sync_closer(value)
        try:
            if aclose is not None:
                await aclose()
            elif close is not None:
                close()
        except Exception as error:  # one failing close must not leave the others open
            errors.append(error)
    _raise_all(errors)


def _raise_all(errors: list[Exception]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup("closing services failed", errors)
