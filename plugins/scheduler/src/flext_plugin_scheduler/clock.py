"""The scheduler's time: a ``now()`` and a sleep that a stop request ends, so tests can pass their own.

``SystemClock`` is the wall clock in UTC. A test passes a clock whose
``sleep`` jumps its ``now`` forward instead of waiting, which is how a
schedule fires in a test without waiting for its slot.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Final, Protocol

__all__ = ["Clock", "StopFlag", "SystemClock"]

_POLL: Final = 0.05
"""Seconds between two looks for a signal's stop request while waiting."""


class StopFlag(threading.Event):
    """A request to stop: set by code, or by SIGTERM / SIGINT through ``handle``."""

    def __init__(self) -> None:
        super().__init__()
        self.signal: int | None = None
        """The first signal that asked for the stop (None: none, or set by code)."""

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: a plain store (a handler must take no lock the main thread may hold)."""
        if self.signal is None:
            self.signal = signum

    def is_set(self) -> bool:
        """True once a signal or code asked for the stop."""
        return self.signal is not None or super().is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Like ``Event.wait``, looking for a signal's request at least every 50 ms."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            remaining = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            if remaining <= 0:
                return False
            super().wait(remaining)
        return True


class Clock(Protocol):
    """What the scheduler loop asks of time."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...

    def sleep(self, seconds: float, stop: StopFlag) -> None:
        """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def sleep(self, seconds: float, stop: StopFlag) -> None:
        """Wait on ``stop`` for ``seconds``."""
        stop.wait(max(seconds, 0.0))
