"""One correlation id per user action, carried in a ``contextvars`` context (docs/kernel/correlation.md).

The ``flext`` CLI runs each invocation in a scope (``FLEXT_CORRELATION_ID`` when valid, else a
new id); dispatches, behaviours, new events and failures read it; asyncio tasks copy it; threads
need ``in_current_context``. Imports only the standard library: the CLI opens a scope early.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Final, ParamSpec, TypeVar

__all__ = [
    "CORRELATION_ENV",
    "causation_scope",
    "correlation_from_environment",
    "correlation_scope",
    "current_causation_id",
    "current_correlation_id",
    "in_current_context",
    "is_valid_correlation_id",
    "new_correlation_id",
]

P = ParamSpec("P")
T = TypeVar("T")

CORRELATION_ENV: Final = "FLEXT_CORRELATION_ID"
"""The environment variable that hands an id to a process (read by the CLI, set for children)."""
_ALLOWED: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
_CORRELATION: Final[contextvars.ContextVar[str | None]] = contextvars.ContextVar(
    "flext_correlation", default=None
)
_CAUSATION: Final[contextvars.ContextVar[object]] = contextvars.ContextVar("flext_causation", default=None)
"""The id of the message being handled, as given (a UUID): made text only when an event asks."""

current_correlation_id: Final[Callable[[], str | None]] = _CORRELATION.get
"""The id of the action running in this context, or None (``ContextVar.get`` itself: no Python frame)."""


def current_causation_id() -> str | None:
    """The id of the message whose handling is running in this context, or None."""
    cause = _CAUSATION.get()
    return None if cause is None else str(cause)


def new_correlation_id() -> str:
    """A new id: a time-ordered UUID (version 7) as text, so ids sort by when their actions started."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10)) & ((1 << 80) - 1)
    text = f"{value & ~(0xF << 76 | 0b11 << 62) | 0x7 << 76 | 0b10 << 62:032x}"  # version 7, RFC variant
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def is_valid_correlation_id(text: object) -> bool:
    """True for 1 to 128 letters, digits and ``-_.:``: safe in log lines, headers and environments."""
    return isinstance(text, str) and 0 < len(text) <= 128 and _ALLOWED.issuperset(text)


def correlation_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``FLEXT_CORRELATION_ID`` from ``environ`` (default ``os.environ``) when valid, else a new id."""
    given = (os.environ if environ is None else environ).get(CORRELATION_ENV, "").strip()
    return given if is_valid_correlation_id(given) else new_correlation_id()


@contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    """Run the body under ``correlation_id`` (None: a new id) and yield it; the previous id comes back after.

    Raises:
        ValueError: not a valid id (``is_valid_correlation_id``).

    """
    if correlation_id is None:
        correlation_id = new_correlation_id()
    elif not is_valid_correlation_id(correlation_id):
        raise ValueError(f"not a correlation id: {correlation_id!r} (1-128 of A-Z a-z 0-9 - _ . :)")
    token = _CORRELATION.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _CORRELATION.reset(token)


@contextmanager
def causation_scope(message_id: object) -> Iterator[None]:
    """Events built in the body without a ``causation_id`` name ``str(message_id)``: what a handler caused."""
    token = _CAUSATION.set(message_id)
    try:
        yield
    finally:
        _CAUSATION.reset(token)


def in_current_context(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` bound to a copy of this context: a thread or pool worker (which start empty) keeps the id."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return context.run(fn, *args, **kwargs)

    return run
