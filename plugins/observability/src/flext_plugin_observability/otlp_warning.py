"""At most one stderr line when the OTLP collector cannot be reached, instead of one per try.

OpenTelemetry's OTLP exporters log every failed try ("Transient error ...
retrying in 1.2s", then "Failed to export ...") for each span batch and each
metric export; with nothing configured, Python prints them all on stderr,
over the command's own messages. ``install`` routes the exporters' loggers
(``opentelemetry.exporter.otlp`` and below) to one handler that prints a
single ``warning:`` line the first time an export fails in the process, with
the endpoint redacted (a URL can carry a password), and nothing after.
"""

from __future__ import annotations

import logging
import sys
import threading

from flext_sdk.redaction import redact

__all__ = ["LOGGERS", "OneWarning", "failures", "install"]

LOGGERS = ("opentelemetry.exporter.otlp",)
"""The loggers the OTLP exporters log through (``.proto.http.*`` and ``.common.http`` are below it)."""


class OneWarning(logging.Handler):
    """Print one ``warning:`` line on stderr for the first warning or error, then stay silent."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(logging.WARNING)
        self.endpoint = endpoint
        """Where the exporters send (the warning names it)."""
        self._said = threading.Event()
        self._lock = threading.Lock()
        self.failures = 0
        """Warnings and errors the exporters logged so far (a failed try each, roughly)."""

    @property
    def said(self) -> bool:
        """Whether an export failed (and the line was printed)."""
        return self._said.is_set()

    def emit(self, record: logging.LogRecord) -> None:
        """The first record becomes the line; the others are counted and dropped."""
        with self._lock:
            self.failures += 1
        if self.said:
            return
        self._said.set()
        line = (
            f"warning: telemetry: could not export to the OTLP collector at {self.endpoint}; "
            "spans and metrics are dropped (check FLEXT_TELEMETRY_OTLP_ENDPOINT)"
        )
        try:
            sys.stderr.write(redact(line) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed: nobody to tell
            pass


def install(endpoint: str) -> OneWarning:
    """Route the OTLP exporters' log records to one ``OneWarning`` (the one already there, if any)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if isinstance(handler, OneWarning):
                handler.endpoint = endpoint
                return handler
    handler = OneWarning(endpoint)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False  # not also through the root logger or Python's last-resort handler
    return handler


def failures() -> int:
    """The failures the installed ``OneWarning`` counted (0 when none is installed)."""
    for name in LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, OneWarning):
                return handler.failures
    return 0
