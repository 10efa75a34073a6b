"""The describe calls of discovery: ``GET {base_url}/wms/lgfapi/v10/entity/{entity}/describe/``.

Discovery happens before any stream exists, so it cannot borrow a stream's
request machinery; it uses the same authenticator, the same retry policy
(``retry``) and the same error wording as the streams.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import backoff
import requests
from singer_sdk.authenticators import APIAuthenticatorBase

from tap_oracle_wms.errors import TokenError, WmsError
from tap_oracle_wms.retry import RetryPolicy, is_retriable

__all__ = ["API_PATH", "DescribeClient", "entity_url", "http_failure"]

API_PATH = "/wms/lgfapi/v10/entity/"
"""The LGF API v10 entity module, under ``base_url``."""

_logger = logging.getLogger(__name__)


class _Retriable(Exception):
    """A response worth another try (429, 5xx), carried to ``backoff`` with the response."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def entity_url(base_url: str, entity: str) -> str:
    """The list URL of ``entity`` (with its trailing slash, as the API documents it)."""
    return f"{base_url.rstrip('/')}{API_PATH}{entity}/"


def http_failure(status: int, reason: str, tries: int | None = None) -> str:
    """The reason of a ``WmsError`` for an HTTP error: what happened and what to do."""
    if status == HTTPStatus.UNAUTHORIZED:
        return f"the WMS refused the credentials (HTTP {status}): check username/password or OAuth2 client"
    if status == HTTPStatus.FORBIDDEN:
        return (
            f"the WMS user may not read this entity (HTTP {status}): give it the API permission and the "
            "facility/company eligibility"
        )
    if status == HTTPStatus.NOT_FOUND:
        return f"not found (HTTP {status}): check base_url and that the entity exists in LGF API v10"
    after = f" after {tries} tries" if tries else ""
    return f"the WMS answered HTTP {status} {reason}{after}: try again later, or raise max_tries"


class DescribeClient:
    """Asks the API for entities' field definitions."""

    def __init__(
        self, base_url: str, auth: APIAuthenticatorBase, policy: RetryPolicy, *, timeout: float
    ) -> None:
        self._base_url = base_url
        self._auth = auth
        self._policy = policy
        self._timeout = timeout
        self._session = requests.Session()

    def describe(self, entity: str) -> Mapping[str, Any]:
        """The describe answer of ``entity``.

        Raises:
            WmsError: an HTTP error that retries did not cure, a body that is not a JSON object, or a
                refused OAuth2 client.

        """
        url = f"{entity_url(self._base_url, entity)}describe/"
        get = backoff.on_exception(
            self._policy.waits,
            (_Retriable, requests.ConnectionError, requests.Timeout),
            max_tries=self._policy.max_tries,
            jitter=None,
            on_backoff=lambda details: _logger.warning(
                "describe %s: retrying in %.1f s (try %d)", entity, details["wait"], details["tries"]
            ),
        )(self._get)
        try:
            response = get(entity, url)
        except TokenError as exc:
            raise WmsError(entity, str(exc)) from None
        except _Retriable as exc:
            raise WmsError(
                entity, http_failure(exc.response.status_code, exc.response.reason, self._policy.max_tries)
            ) from None
        except requests.RequestException as exc:
            raise WmsError(entity, f"no answer from {self._base_url}: {type(exc).__name__}") from None
        try:
            body = json.loads(response.content)
        except json.JSONDecodeError as exc:
            raise WmsError(entity, f"the describe answer is not JSON ({exc.msg} at char {exc.pos})") from None
        if not isinstance(body, Mapping):
            raise WmsError(entity, "the describe answer is not a JSON object")
        return body

    def _get(self, entity: str, url: str) -> requests.Response:
        request = requests.Request("GET", url, headers={"Accept": "application/json"})
        prepared = self._auth(self._session.prepare_request(request))
        response = self._session.send(prepared, timeout=self._timeout)
        if is_retriable(response.status_code):
            raise _Retriable(response)
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            raise WmsError(entity, http_failure(response.status_code, response.reason))
        return response
