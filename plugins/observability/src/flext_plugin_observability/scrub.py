"""What a span carries to an exporter, through the SDK redactor: status texts, attributes, exceptions.

Spans leave the process (a collector, the console, a file), so a secret in a
failure's message, in an exception or in a name would leave with them. Every
text set on a span goes through ``flext_sdk.redaction.redact`` here, and spans
are started with ``record_exception=False`` and ``set_status_on_exception=False``:
OpenTelemetry's own exception event copies the message and the stack as they
are. ``raised`` records the exception instead, its type and redacted message
(no stack: its lines would be the code's, but a frame can quote a value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flext_sdk.redaction import redact

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["attributes", "failed", "raised", "text"]


def text(value: object) -> str:
    """``value`` as text with every secret hidden."""
    return redact(value if isinstance(value, str) else str(value))


def attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every string (key and value) redacted; numbers and booleans as they are."""
    return {text(key): text(value) if isinstance(value, str) else value for key, value in values.items()}


def failed(span: Span, description: object) -> None:
    """Set the span's status to error with a redacted description."""
    from opentelemetry.trace import StatusCode

    span.set_status(StatusCode.ERROR, None if description is None else text(description))


def raised(span: Span, exc: BaseException) -> None:
    """Record ``exc`` on the span as an ``exception`` event (type, redacted message) and an error status."""
    message = text(exc)
    name = type(exc).__name__
    span.add_event(
        "exception",
        {"exception.type": name, "exception.message": message, "exception.escaped": True},
    )
    failed(span, f"{name}: {message}")
