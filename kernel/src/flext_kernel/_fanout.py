"""Event fan-out: deliver one event to every subscriber, isolating their failures.

A subscriber that returns a failure, returns something that is not a result,
or raises does not stop the others; each failure is recorded (and a raised
exception logged with its traceback) and the publish returns one
``HANDLER_ERROR`` failure listing them all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, Final

from flext_kernel._dispatch import AsyncNext, Next, Registration
from flext_kernel.errors import HANDLER_ERROR
from flext_kernel.messages import FlextDomainEvent, message_type_name
from flext_kernel.result import Failure, FlextResult, Success

__all__ = ["fan_out", "fan_out_async"]

_logger: Final = logging.getLogger("flext_kernel.bus")
_PUBLISHED: Final[FlextResult[None]] = Success(None)


def _failure_entry(sub: Registration, outcome: object, event: FlextDomainEvent) -> dict[str, object]:
    """Describe one subscriber's failed outcome: a raised exception, a failure, or a wrong return."""
    error: str | None
    code: str | None
    exception_type: str | None
    if isinstance(outcome, Exception):
        _logger.error(
            "subscriber %s raised on %s", sub.name, message_type_name(type(event)), exc_info=outcome
        )
        error, code, exception_type = str(outcome) or type(outcome).__name__, None, type(outcome).__name__
    elif isinstance(outcome, FlextResult):
        error, code, exception_type = outcome.error, outcome.error_code, None
    else:
        error = f"returned {type(outcome).__name__}, not a FlextResult or None"
        code, exception_type = None, None
    return {"subscriber": sub.name, "error": error, "error_code": code, "exception_type": exception_type}


def _published(
    event: FlextDomainEvent, failures: list[dict[str, object]] | None, total: int
) -> FlextResult[None]:
    if not failures:
        return _PUBLISHED
    name = message_type_name(type(event))
    details = "; ".join(f"{failure['subscriber']}: {failure['error']}" for failure in failures)
    return Failure(
        f"{len(failures)} of {total} subscribers failed on {name}: {details}",
        HANDLER_ERROR,
        {"event_type": name, "failures": failures},
    )


def fan_out(subscribers: tuple[Registration, ...]) -> Next:
    """Return the publish step that calls ``subscribers`` one after the other."""
    total = len(subscribers)
    calls = tuple((sub, sub.call) for sub in subscribers)

    def fan_out(event: FlextDomainEvent) -> FlextResult[None]:
        # Hot path of publish: success is None or a Success (an identity test,
        # no isinstance); anything else is classified off the hot path.
        failures: list[dict[str, object]] | None = None
        for sub, call in calls:
            try:
                outcome: object = call(event)
            except Exception as exc:  # isolating subscribers from each other is the point
                outcome = exc
            else:
                if outcome is None or type(outcome) is Success:
                    continue
            if failures is None:
                failures = []
            failures.append(_failure_entry(sub, outcome, event))
        return _published(event, failures, total)

    return fan_out


def fan_out_async(subscribers: tuple[Registration, ...]) -> AsyncNext:
    """Return the async publish step: sync subscribers in turn, async ones gathered."""
    total = len(subscribers)

    async def fan_out(event: FlextDomainEvent) -> FlextResult[None]:
        # Sync subscribers run right here, in order; async ones are started
        # together and awaited with gather. Outcomes keep subscription order.
        outcomes: list[Any] = [None] * total
        pending: list[tuple[int, Awaitable[Any]]] = []
        for index, sub in enumerate(subscribers):
            try:
                outcome: Any = sub.call(event)
            except Exception as exc:  # isolating subscribers from each other is the point
                outcome = exc
            if sub.is_async and not isinstance(outcome, Exception):
                pending.append((index, outcome))
            else:
                outcomes[index] = outcome
        if pending:
            import asyncio  # here, not at the top: importing the bus must not load asyncio (and ssl)

            gathered = await asyncio.gather(*(awaitable for _, awaitable in pending), return_exceptions=True)
            for (index, _), outcome in zip(pending, gathered, strict=True):
                if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                    raise outcome  # cancellation, KeyboardInterrupt: not a subscriber failure
                outcomes[index] = outcome
        failures = [
            _failure_entry(sub, outcome, event)
            for sub, outcome in zip(subscribers, outcomes, strict=True)
            if not (outcome is None or type(outcome) is Success)
        ]
        return _published(event, failures, total)

    return fan_out
