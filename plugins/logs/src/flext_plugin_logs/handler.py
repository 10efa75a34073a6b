"""The stdlib ``logging`` handler that feeds the store, and the thread that writes for it.

A logging call must never wait for a disk or fail because of one, so the
handler only captures the record (its text formatted now, its correlation id
read now, in the caller's context) and appends it to a bounded in-memory
queue; a daemon thread (``BatchWriter``) takes up to ``batch_size`` lines at
a time, redacts them and stores them in one transaction, at least every
``flush_interval`` seconds. When the store cannot be opened or written, the
writer drops that batch, counts it, and tries again after a back-off; when
the queue is full, new lines are dropped and counted; a line whose fields
cannot be written (an ``extra=`` value whose ``str()`` raises) is dropped
alone and counted, and the thread goes on. ``health()`` reports the counts
and the last error.

Loggers of the kernel and the plugins usually have no handler of their own,
so before this one was added a warning reached stderr through
``logging.lastResort``; the handler passes such records on to it, so a
command prints the same warnings with the store as without.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from flext_plugin_logs.redaction import Redactor
    from flext_plugin_logs.settings import LogsSettings
    from flext_plugin_logs.store import LogStore, Row

__all__ = ["BatchWriter", "Captured", "StoreHandler"]

_RETRY_AFTER: Final = 5.0
"""Seconds before the writer tries a store that failed again."""
_RETENTION_EVERY: Final = 300.0
"""Seconds between two retention passes of one writer (one also runs when it opens the store)."""
_STANDARD: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}
"""Attributes every record has; the others came from ``extra=`` and are the record's fields."""

Captured = tuple[float, int, str, str | None, str | None, str, dict[str, Any] | None]
"""What the handler captures: ts, level, logger, plugin, correlation id, message, fields (unredacted)."""


class BatchWriter:
    """A bounded queue of captured lines and the daemon thread that stores them in batches."""

    def __init__(
        self,
        settings_of: Callable[[], LogsSettings],
        *,
        on_ready: Callable[[LogsSettings], None] | None = None,
    ) -> None:
        self._settings_of = settings_of
        self._on_ready = on_ready
        self._queue: collections.deque[Captured] = collections.deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.settings: LogsSettings | None = None
        """The settings, once the thread has read them."""
        self.ready = threading.Event()
        """Set once the thread has read the settings (the level is known)."""
        self.queue_size = 10_000
        """Lines held at most before new ones are dropped."""
        self.batch_size = 500
        """Lines stored in one transaction at most."""
        self.written = 0
        """Lines stored so far."""
        self.dropped = 0
        """Lines lost: the queue was full, or the store failed to take them."""
        self.last_error: str | None = None
        """Why the store failed last (None: it has not)."""

    def start(self) -> None:
        """Start the thread (it reads the settings and opens the store itself, off the caller's path)."""
        with self._lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="flext-logs-writer", daemon=True)
                self._thread.start()

    def put(self, captured: Captured) -> None:
        """Queue one line (starting the thread with the first); never blocks, never raises."""
        if self._thread is None:
            if self._stopping.is_set():  # closed: nobody would store it
                self.dropped += 1
                return
            self.start()
        if len(self._queue) >= self.queue_size:
            self.dropped += 1
            return
        self._queue.append(captured)
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def close(self, timeout: float = 2.0) -> None:
        """Store what is queued (waiting ``timeout`` seconds at most), then stop the thread."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self.dropped += len(self._queue)  # what the thread could not store in time
        self._queue.clear()

    def _run(self) -> None:
        from flext_plugin_logs.redaction import Redactor
        from flext_plugin_logs.settings import LogsSettings

        try:
            settings = self._settings_of()
        except Exception as exc:  # a bad FLEXT_LOGS_* value: store nothing, say why in health()
            self.last_error = f"bad FLEXT_LOGS_* setting: {exc}"
            settings = LogsSettings.model_construct(enabled=False)
        self.settings = settings
        self.queue_size, self.batch_size = settings.queue_size, settings.batch_size
        if self._on_ready is not None:
            self._on_ready(settings)
        self.ready.set()
        redact = Redactor.from_environment()
        store: LogStore | None = None
        retry_at = 0.0
        retention_at = 0.0
        while True:
            stopping = self._stopping.is_set()
            if not stopping:
                self._wake.wait(settings.flush_interval)
                self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.batch_size))]
                if not settings.enabled:
                    continue
                if store is None and time.monotonic() >= retry_at:
                    store = self._open(settings)
                    retention_at = 0.0
                    if store is None:
                        retry_at = time.monotonic() + _RETRY_AFTER
                if store is None:
                    self.dropped += len(batch)
                    continue
                rows = self._rows(batch, redact)
                if not rows:
                    continue
                try:
                    stored = store.insert(rows)
                except Exception as exc:  # a bug below: lose this batch, never the thread
                    self.dropped += len(rows)
                    self.last_error = f"the log store failed: {_describe(exc, redact)}"
                    store.close()
                    store, retry_at = None, time.monotonic() + _RETRY_AFTER
                    continue
                if stored.is_failure:
                    self.dropped += len(rows)
                    self.last_error = stored.error
                    store.close()
                    store, retry_at = None, time.monotonic() + _RETRY_AFTER
                    continue
                self.written += stored.value
                if time.monotonic() >= retention_at:
                    try:
                        store.enforce_retention(
                            max_bytes=settings.max_bytes, max_age_seconds=settings.max_age_seconds
                        )
                    except Exception as exc:  # the lines are stored; say why the store may grow
                        self.last_error = f"retention failed: {_describe(exc, redact)}"
                    retention_at = time.monotonic() + _RETENTION_EVERY
            if stopping:
                if store is not None:
                    store.close()
                return

    def _rows(self, batch: list[Captured], redact: Redactor) -> list[Row]:
        """The batch's rows; a line that cannot be made one is dropped alone, counted.

        Turning fields into JSON calls the caller's objects' ``__str__`` in this
        thread; one that raises must cost its own line, not the thread and
        everything logged after it.
        """
        rows: list[Row] = []
        for item in batch:
            try:
                rows.append(_row(item, redact))
            except Exception as exc:
                self.dropped += 1
                self.last_error = f"a line of {item[2]} could not be stored: {_describe(exc, redact)}"
        return rows

    def _open(self, settings: LogsSettings) -> LogStore | None:
        from flext_plugin_logs.store import LogStore

        opened = LogStore.open(Path(settings.path))
        if opened.is_failure:
            self.last_error = opened.error
            return None
        return opened.value


def _row(captured: Captured, redact: Redactor) -> Row:
    ts, level, logger, plugin, correlation_id, message, fields = captured
    text = None
    if fields:
        text = json.dumps(redact.fields(fields), ensure_ascii=False, default=str, sort_keys=True)
    return (ts, level, logger, plugin, None, None, correlation_id, redact(message), text)


def _describe(exc: Exception, redact: Redactor) -> str:
    """``exc`` as one redacted line for ``health()``, even when its own ``str()`` raises."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:
        text = type(exc).__name__
    return redact(text)


class StoreHandler(logging.Handler):
    """Captures records of the kernel's and plugins' loggers for the ``BatchWriter``."""

    def __init__(
        self,
        writer: BatchWriter,
        *,
        plugin_of: Callable[[str], str | None],
        correlation_id: Callable[[], str | None] | None,
    ) -> None:
        super().__init__()
        self.writer = writer
        self._plugin_of = plugin_of
        self._correlation_id = correlation_id

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record; anything going wrong here costs the line, never the caller."""
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[0] is not None:
                message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            fields = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
            correlation = fields.pop("correlation_id", None)
            if correlation is None and self._correlation_id is not None:
                correlation = self._correlation_id()
            self.writer.put(
                (
                    record.created,
                    record.levelno,
                    record.name,
                    self._plugin_of(record.name),
                    None if correlation is None else str(correlation),
                    message,
                    fields or None,
                )
            )
        except Exception:  # a record whose message cannot be formatted, a broken correlation helper
            self.writer.dropped += 1
        if record.levelno >= logging.WARNING and self._alone(record):
            last = logging.lastResort
            if last is not None and record.levelno >= last.level:
                last.handle(record)

    def _alone(self, record: logging.LogRecord) -> bool:
        """Whether no other handler sees ``record``: then stdlib logging would have used ``lastResort``."""
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(handler is not self for handler in logger.handlers):
                return False
            logger = logger.parent if logger.propagate else None
        return True
