"""A bounded in-memory byte queue between the thread that reads the tap and the one that feeds the target.

A pipe holds 64 KiB, so a tap piped straight into a target stops whenever
the target is busy committing a batch, and the target idles while the tap
parses. With a few tens of MiB between them both keep working, which is what
makes a pipeline faster than the shell pipe on a machine with spare cores.
The bound keeps memory flat however far the tap runs ahead.
"""

from __future__ import annotations

import collections
import threading

__all__ = ["ByteBuffer"]


class ByteBuffer:
    """Chunks of bytes in order; ``put`` blocks while more than ``limit`` bytes wait."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._closed = False
        self._abandoned = False
        self._dropped = False
        self._changed = threading.Condition()

    def put(self, chunk: bytes) -> bool:
        """Queue ``chunk``; False if the reading side gave up (nothing will read it)."""
        with self._changed:
            while self._size >= self._limit and not (self._abandoned or self._dropped):
                self._changed.wait()
            if self._abandoned or self._dropped:
                return False
            self._chunks.append(chunk)
            self._size += len(chunk)
            self._changed.notify_all()
            return True

    def close(self) -> None:
        """No more chunks will come; ``take`` returns what is left, then ``b""``."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def abandon(self) -> None:
        """The reading side stops (its sink is gone): drop what waits and unblock ``put``."""
        with self._changed:
            self._abandoned = True
            self._chunks.clear()
            self._size = 0
            self._changed.notify_all()

    def drop(self) -> None:
        """The writing side is asked to stop: drop what waits, refuse more, let ``take`` end at once."""
        with self._changed:
            self._dropped = self._closed = True
            self._chunks.clear()
            self._size = 0
            self._changed.notify_all()

    @property
    def dropped(self) -> bool:
        """Whether ``drop`` was called: a reader writing out what it took may stop at a line's end."""
        return self._dropped

    def take(self, most: int) -> bytes:
        """Everything waiting, joined, up to about ``most`` bytes; blocks until something is there.

        Returns ``b""`` once the buffer is closed and empty.
        """
        with self._changed:
            while not self._chunks and not self._closed:
                self._changed.wait()
            if not self._chunks:
                return b""
            taken = [self._chunks.popleft()]
            size = len(taken[0])
            while self._chunks and size + len(self._chunks[0]) <= most:
                chunk = self._chunks.popleft()
                taken.append(chunk)
                size += len(chunk)
            self._size -= size
            self._changed.notify_all()
        return taken[0] if len(taken) == 1 else b"".join(taken)
