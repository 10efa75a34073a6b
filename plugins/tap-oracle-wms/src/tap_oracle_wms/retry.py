"""When to try a request again, and how long to wait: one policy for the describe calls and the streams.

A 429 or a 5xx is retried; a 429 (or 503) with ``Retry-After`` waits what
the server asked (seconds or an HTTP date, capped by
``max_retry_after_seconds``), anything else waits ``base * 2**attempt``
seconds (capped by ``max_wait_seconds``, plus up to 10% jitter so that
several taps do not retry in step).

``stoppable`` is the same retries for a worker of a concurrent read
(``pages``): when another page has failed for good the read is over, so the
worker's wait is cut short and no further try is made (``backoff`` sleeps
with ``time.sleep``, which nothing interrupts, so the wait is done in its
``on_backoff`` hook on a ``threading.Event`` instead).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, TypeVar

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError

__all__ = ["RETRIED", "RetryPolicy", "is_retriable", "retry_after_seconds", "stoppable"]

RETRIED: tuple[type[Exception], ...] = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
"""What a stream's request is tried again after: those of Singer SDK's ``RESTStream.request_decorator``."""

_F = TypeVar("_F", bound=Callable[..., Any])

_RETRY_AFTER_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})


def is_retriable(status: int) -> bool:
    """Whether a response with this status is worth another try (429, and every 5xx)."""
    return status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR


def retry_after_seconds(response: requests.Response, *, now: datetime | None = None) -> float | None:
    """The wait a 429/503 asks for in ``Retry-After`` (delta-seconds or HTTP date), or None."""
    if response.status_code not in _RETRY_AFTER_STATUSES:
        return None
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: the exponential wait applies
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many tries, and the waits between them."""

    max_tries: int = 5
    """Tries in all (the first one included) before the request's failure ends the run."""
    base_seconds: float = 1.0
    """The first exponential wait; doubled on each further try."""
    max_wait_seconds: float = 60.0
    """No exponential wait is longer."""
    max_retry_after_seconds: float = 300.0
    """No ``Retry-After`` wait is longer."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        """The policy the tap's settings describe (defaults for those not given)."""
        default = cls()
        return cls(
            max_tries=int(config.get("max_tries", default.max_tries)),
            base_seconds=float(config.get("backoff_base_seconds", default.base_seconds)),
            max_wait_seconds=float(config.get("backoff_max_seconds", default.max_wait_seconds)),
            max_retry_after_seconds=float(
                config.get("max_retry_after_seconds", default.max_retry_after_seconds)
            ),
        )

    def wait(self, exception: BaseException | None, attempt: int) -> float:
        """Seconds to wait after ``attempt`` (0-based) failed with ``exception``."""
        response = getattr(exception, "response", None)
        if isinstance(response, requests.Response):
            asked = retry_after_seconds(response)
            if asked is not None:
                return min(asked, self.max_retry_after_seconds)
        exponential: float = min(self.base_seconds * 2.0**attempt, self.max_wait_seconds)
        return exponential * (1 + random.random() / 10)

    def waits(self) -> Generator[float, BaseException | None, None]:
        """A wait generator for ``backoff.on_exception``: it is sent each failure's exception."""
        attempt = 0
        exception = yield 0.0  # backoff primes the generator with send(None)
        while True:
            exception = yield self.wait(exception, attempt)
            attempt += 1


def stoppable(func: _F, *, policy: RetryPolicy, stop: threading.Event, on_retry: Callable[[Any], None]) -> _F:
    """``func`` with ``policy``'s retries, abandoned as soon as ``stop`` is set.

    ``on_retry`` gets backoff's details (with the real ``wait``) before each wait, as a stream's
    ``backoff_handler`` does. Once ``stop`` is set, a failed try is not retried and a wait under
    way ends at once with the failure that led to it (nobody reads it: the read is over).
    """
    planned: list[float] = []

    def waits() -> Generator[float, BaseException | None, None]:
        inner = policy.waits()
        exception = yield next(inner)  # backoff primes with send(None)
        while True:
            planned.append(inner.send(exception))
            exception = yield 0.0  # backoff's own sleep: nothing; on_backoff waits, and can be woken

    def wait(details: Any) -> None:
        seconds = planned[-1]
        on_retry({**details, "wait": seconds})
        if stop.wait(seconds):
            raise details["exception"]

    retried: _F = backoff.on_exception(
        waits,
        RETRIED,
        max_tries=policy.max_tries,
        giveup=lambda _exception: stop.is_set(),
        on_backoff=wait,
        jitter=None,  # the policy jitters its exponential waits itself
        logger=None,  # on_retry logs; a worker stopped is not worth a line
    )(func)
    return retried
