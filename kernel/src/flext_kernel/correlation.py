"""One correlation id per user action, carried in a ``contextvars`` context.

An operator who sees a failure at 3 a.m. wants everything the same action
touched: the command, the events it appended, the pipeline run and its
subprocesses, the log lines. They share one *correlation id*. The ``flext``
CLI opens a scope per invocation (from ``FLEXT_CORRELATION_ID`` when it holds a
valid id, else a new one); everything that runs inside it reads it with
``current_correlation_id()``, with no parameter passed around:

- bus dispatches and behaviours run in the caller's context, so they see it;
- a ``FlextDomainEvent`` built without a ``correlation_id`` takes the current
  one, and without a ``causation_id`` the id of the event whose subscribers
  are running (``FlextEventBus`` sets it while it delivers);
- a ``FlextResult`` failure keeps the id current when it was made;
- asyncio tasks copy the context when created; a thread does not (before
  Python 3.14): start it with ``in_current_context(fn)`` as its target;
- a child process gets it in its environment (``CORRELATION_ENV``).

Nothing here imports more than ``contextvars``: the CLI opens a scope before
it knows which command runs. A newcomer's guide: docs/kernel/correlation.md.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar

if TYPE_CHECKING:
    import logging

__all__ = [
    "CORRELATION_ENV",
    "CorrelationFilter",
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
"""The environment variable that hands a correlation id to a process (read by the CLI, set for children)."""
MAX_LENGTH: Final = 128
"""Longest accepted id: room for a UUID, a W3C trace id or a caller's request id, not for a payload."""
_ALLOWED: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
"""Characters of an id: safe unquoted in a log line, an HTTP header, an environment variable, a file name."""

_CORRELATION: Final[contextvars.ContextVar[str | None]] = contextvars.ContextVar(
    "flext_correlation_id", default=None
)
_CAUSATION: Final[contextvars.ContextVar[object | None]] = contextvars.ContextVar(
    "flext_causation_id", default=None
)
"""The id of the message being handled; kept as given (a UUID): text is made only when an event asks."""

current_correlation_id: Callable[[], str | None] = _CORRELATION.get
"""Return the correlation id of the action running in this context, or None outside any scope.

The bound ``ContextVar.get`` itself: no Python frame, since events and failures call it when built.
"""


def current_causation_id() -> str | None:
    """Return the id of the message whose handling is running in this context, or None."""
    cause = _CAUSATION.get()
    return None if cause is None else str(cause)


def new_correlation_id() -> str:
    """Return a new id: a time-ordered UUID (version 7) as text, so ids sort by when actions started."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0b11 << 62) | 0b10 << 62  # RFC 4122 variant
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def is_valid_correlation_id(text: object) -> bool:
    """Return True for 1 to 128 characters of letters, digits and ``- _ . :``.

    An id comes from outside (an environment variable, a request header) and
    ends up in log lines, events and child environments: anything else (spaces,
    newlines, quotes) could forge or break them.
    """
    return isinstance(text, str) and 0 < len(text) <= MAX_LENGTH and _ALLOWED.issuperset(text)


def correlation_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """Return ``FLEXT_CORRELATION_ID`` from ``environ`` (default ``os.environ``) when valid, else a new id."""
    given = (os.environ if environ is None else environ).get(CORRELATION_ENV, "").strip()
    return given if is_valid_correlation_id(given) else new_correlation_id()


@contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    """Run the ``with`` body under ``correlation_id`` (a new id when None); yield the id in force.

    The previous id (or none) is back when the body ends, however it ends.

    Raises:
        ValueError: ``correlation_id`` is not a valid id (see ``is_valid_correlation_id``).

    """
    if correlation_id is None:
        correlation_id = new_correlation_id()
    elif not is_valid_correlation_id(correlation_id):
        raise ValueError(f"not a correlation id: {correlation_id!r} (1-{MAX_LENGTH} of [A-Za-z0-9-_.:])")
    token = _CORRELATION.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _CORRELATION.reset(token)


@contextmanager
def causation_scope(message_id: object) -> Iterator[None]:
    """Events built in the ``with`` body without a ``causation_id`` name ``message_id`` (its ``str``).

    For a handler that knows the id of what it handles (the event bus sets it
    itself for the event it delivers).
    """
    token = _CAUSATION.set(message_id)
    try:
        yield
    finally:
        _CAUSATION.reset(token)


def in_current_context(fn: Callable[P, T]) -> Callable[P, T]:
    """Return ``fn`` bound to a copy of the current context: a thread or pool runs it under this action's id.

    ``threading.Thread`` and ``ThreadPoolExecutor`` start their work in an
    empty context; ``Thread(target=in_current_context(work))`` does not.
    """
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return context.run(fn, *args, **kwargs)

    return run


class CorrelationFilter:
    """A ``logging`` filter that stamps each record with ``correlation_id`` (None outside a scope).

    Add it to a handler (``handler.addFilter(CorrelationFilter())``); a formatter may then use
    ``%(correlation_id)s``. Not a ``logging.Filter`` subclass (logging takes any object with
    ``filter``), so that importing this module does not import ``logging``.
    """

    __slots__ = ()

    def filter(self, record: logging.LogRecord) -> bool:
        """Set ``record.correlation_id`` unless the caller gave one; keep every record."""
        if not hasattr(record, "correlation_id"):
            record.correlation_id = _CORRELATION.get()
        return True
