"""One LGF API entity as a Singer stream: ``next_page`` paging, catalog fields, ``mod_ts`` bookmarks.

Requests: the first page is ``GET {base_url}/wms/lgfapi/v10/entity/{entity}/``
with ``page_size``, ``page_mode=sequenced``, ``fields`` (only when the
catalog deselects some) and, on an incremental stream with a bookmark,
``mod_ts__gte``; every further page is exactly the ``next_page`` URL the
previous answer gave (it carries the query), and only on the configured
host, so credentials never go elsewhere. With ``page_concurrency`` above 1
the pages are fetched several at a time by number (``pages``), in paged
mode, and handed on in the same order.

Bookmarks (docs/plugins/tap-oracle-wms.md): ``__gte`` rather than ``__gt``,
because two rows may share a ``mod_ts`` and a run can end between them;
the state keeps the ids sent at the bookmark (``ids_at_bookmark``), and a
row with the bookmark's ``mod_ts`` and one of those ids is the same
version and is not sent again. The rows do not come sorted by ``mod_ts``,
so the bookmark moves only when the stream has read its last page: a run
that fails part way leaves the previous bookmark in every STATE it wrote.
"""

from __future__ import annotations

import decimal
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import tzinfo
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import ParseResult, urlparse

import requests
from requests.adapters import HTTPAdapter
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_oracle_wms.client import API_PATH, http_failure
from tap_oracle_wms.errors import TokenError, WmsError
from tap_oracle_wms.pages import PagesMoved, read_concurrently
from tap_oracle_wms.retry import RetryPolicy, is_retriable, stoppable
from tap_oracle_wms.schema import KEY, EntitySchema
from tap_oracle_wms.timestamps import to_utc

if TYPE_CHECKING:
    from collections.abc import Generator

    from backoff.types import Details
    from singer_sdk import Tap
    from singer_sdk.authenticators import APIAuthenticatorBase
    from singer_sdk.helpers.types import Context

__all__ = ["SEEN_KEY", "SEEN_LIMIT", "EntityStream", "NextPagePaginator"]

SEEN_KEY: Final = "ids_at_bookmark"
"""The state key (per stream): ``{"mod_ts": <bookmark>, "ids": [...]}``, the ids sent at the bookmark."""
SEEN_LIMIT: Final = 10_000
"""At most this many ids are kept; past it, the rows at the bookmark are sent again next run (a target
that upserts on ``id`` keeps one of each)."""

_Body = dict[str, Any]


class NextPagePaginator(BaseHATEOASPaginator):
    """Follows ``next_page`` until it is null; a link to another host ends the run."""

    def __init__(self, stream: EntityStream) -> None:
        super().__init__()
        self._stream = stream

    def get_next_url(self, response: requests.Response) -> str | None:
        """The answer's ``next_page``.

        Raises:
            WmsError: it is not a string, or points to another scheme or host than ``base_url``.

        """
        link = self._stream.body(response).get("next_page")
        if link is None or link == "":
            return None
        if not isinstance(link, str):
            raise WmsError(self._stream.name, f"next_page is not a URL but {type(link).__name__}")
        if urlparse(link) == self.current_value:
            raise WmsError(self._stream.name, f"next_page repeats the page just read ({link})")
        return self._stream.checked_link(link)

    def continue_if_empty(self, response: requests.Response) -> bool:
        """An empty page with a ``next_page`` is not the end (a sequenced page may be empty)."""
        return self.get_next_url(response) is not None


class EntityStream(RESTStream[ParseResult | None]):
    """The rows of one entity."""

    is_sorted = False

    def __init__(
        self,
        tap: Tap,
        found: EntitySchema,
        *,
        name: str,
        auth: APIAuthenticatorBase,
        policy: RetryPolicy,
        naive_zone: tzinfo,
    ) -> None:
        self._auth = auth
        self._policy = policy
        self._naive_zone = naive_zone
        self._last: tuple[requests.Response, _Body] | None = None
        self._pages = 0
        self._paged = False  # True while pages are read by number (page_mode=paged, ordering=id)
        super().__init__(tap, name=name, schema=found.schema, path=f"{name}/")
        self.primary_keys = found.key_properties
        self.replication_key = found.replication_key

    @property
    def url_base(self) -> str:
        """``{base_url}/wms/lgfapi/v10/entity/``."""
        return f"{self.config['base_url'].rstrip('/')}{API_PATH}"

    @property
    def authenticator(self) -> APIAuthenticatorBase:
        """The tap's one authenticator (an OAuth2 token is shared by every stream)."""
        return self._auth

    @property
    def timeout(self) -> int:
        """Seconds to wait for one answer (``request_timeout``)."""
        return int(self.config.get("request_timeout", 300))

    @property
    def _datetime_fields(self) -> tuple[str, ...]:
        properties = self.schema.get("properties", {})
        return tuple(name for name, prop in properties.items() if prop.get("format") == "date-time")

    # Requests

    def get_new_paginator(self) -> NextPagePaginator:
        """A paginator that follows ``next_page``."""
        return NextPagePaginator(self)

    def get_url_params(self, context: Context | None, next_page_token: ParseResult | None) -> dict[str, Any]:
        """The first page's query; later pages use ``next_page`` as it is."""
        if next_page_token is not None:
            return {}
        params: dict[str, Any] = {"page_size": self.config.get("page_size", 1000)}
        if self._paged:
            params.update(page_mode="paged", ordering=KEY)  # numbered pages, cut the same way each time
        else:
            params["page_mode"] = "sequenced"
        fields = self._selected_fields()
        if fields is not None:
            params["fields"] = ",".join(fields)
        start = self._start_bookmark(context)
        if start is not None:
            params[f"{self.replication_key}__gte"] = start
        return params

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """The request for ``page``: the entity URL with its query, or the ``next_page`` link."""
        request = super().get_http_request(page=page)
        request.safe_query_chars = ","
        if page.next_page_token is not None:
            request.url = page.next_page_token.geturl()
        return request

    @property
    def page_concurrency(self) -> int:
        """Pages in flight at once (``page_concurrency``; 1: the ``next_page`` chain, one at a time)."""
        return int(self.config.get("page_concurrency", 1))

    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Singer SDK's paging one page at a time, or ``pages.read_concurrently`` when asked.

        When the row count moved during a concurrent read the stream is read again one page at a
        time (``pages`` says why); the rows sent twice are the same rows.
        """
        if self.page_concurrency <= 1:
            yield from super().request_records(context)
            return
        self._paged = True
        # A connection per worker: requests' default pool keeps 10 per host and drops the rest.
        pool = HTTPAdapter(pool_connections=1, pool_maxsize=self.page_concurrency)
        self.requests_session.mount(f"{urlparse(self.url_base).scheme}://", pool)
        try:
            yield from read_concurrently(self, context, self.page_concurrency)
        except PagesMoved as moved:
            self.logger.warning(
                "entity %s: rows were added or removed during the concurrent read (%s); "
                "reading it again one page at a time",
                self.name,
                moved,
            )
            self._paged = False
            self._pages = 0
            yield from super().request_records(context)
        finally:
            self._paged = False

    def first_request(self, context: Context | None) -> requests.PreparedRequest:
        """The first page's request, as Singer SDK would prepare it."""
        request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=None))
        return self.build_prepared_request(
            method=request.method, url=request.url, params=request.encode_params(), headers=request.headers
        )

    def link_request(self, url: str) -> requests.PreparedRequest:
        """A GET of a page URL (a ``next_page``, or one ``pages`` numbered from it)."""
        return self.build_prepared_request(method="GET", url=url, headers=self.http_headers)

    def send(
        self,
        request: requests.PreparedRequest,
        context: Context | None,
        stop: threading.Event | None = None,
    ) -> requests.Response:
        """``request`` with the stream's retries (``RetryPolicy``) and checks (``validate_response``).

        With ``stop`` (a worker of a concurrent read), the retries end as soon as it is set.
        """
        if stop is None:
            retried = self.request_decorator(self._request)
        else:
            retried = stoppable(self._request, policy=self._policy, stop=stop, on_retry=self.backoff_handler)
        response: requests.Response = retried(request, context)
        return response

    def _selected_fields(self) -> list[str] | None:
        """The properties the catalog selects, or None when it selects them all (no ``fields``)."""
        names = list(self.schema.get("properties", {}))
        mask = self.mask
        chosen = [name for name in names if mask.get(("properties", name), True)]
        return None if len(chosen) == len(names) else chosen

    def checked_link(self, link: str) -> str:
        """``link`` if it is on ``base_url``'s scheme and host (credentials go nowhere else).

        Raises:
            WmsError: it is not.

        """
        base = urlparse(self.url_base)
        target = urlparse(link)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise WmsError(
                self.name,
                f"next_page points to {target.scheme}://{target.netloc}, not to the configured "
                f"{base.scheme}://{base.netloc}: the tap does not send credentials there (check base_url)",
            )
        return link

    # Retries

    def validate_response(self, response: requests.Response) -> None:
        """429 and 5xx are retried; any other error ends the run naming the entity.

        Raises:
            RetriableAPIError: a 429 or a 5xx.
            WmsError: any other 4xx.

        """
        if is_retriable(response.status_code):
            raise RetriableAPIError(f"HTTP {response.status_code} {response.reason}", response)
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            raise WmsError(self.name, http_failure(response.status_code, response.reason))

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """The waits of ``RetryPolicy``: ``Retry-After`` when the server gives it, else exponential."""
        return self._policy.waits()

    def backoff_max_tries(self) -> int:
        """``max_tries``."""
        return self._policy.max_tries

    def backoff_jitter(self, value: float) -> float:
        """None added: a ``Retry-After`` wait is what the server asked; the policy jitters the others."""
        return value

    def backoff_handler(self, details: Details) -> None:
        """Log the retry: entity, status and wait (never the request, which carries credentials)."""
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        what = (
            f"HTTP {response.status_code}"
            if isinstance(response, requests.Response)
            else type(exception).__name__
        )
        self.logger.warning(
            "entity %s: %s, retrying in %.1f s (try %d of %d)",
            self.name,
            what,
            details.get("wait", 0.0),
            details.get("tries", 0),
            self._policy.max_tries,
        )

    # Answers

    def body(self, response: requests.Response) -> _Body:
        """The JSON object of an answer, parsed once (the paginator reads it too).

        Raises:
            WmsError: the answer is not a JSON object with a ``results`` list.

        """
        if self._last is not None and self._last[0] is response:
            return self._last[1]
        page = self._pages + 1
        try:
            body = json.loads(response.content, parse_float=decimal.Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WmsError(
                self.name, f"page {page} is not JSON ({exc}); nothing of it was sent, and no bookmark moved"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise WmsError(
                self.name,
                f"page {page} is not an LGF API list answer (a JSON object with 'results'); "
                "nothing of it was sent, and no bookmark moved",
            )
        self._last = (response, body)
        return body

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The page's rows, with date-times in UTC; the whole page is checked before any row is given.

        Raises:
            WmsError: the page is not the documented shape, or a row is not an object, has no integer
                ``id``, or a date-time that does not parse.

        """
        body = self.body(response)
        self._pages += 1
        rows = [self._row(row) for row in body["results"]]
        return iter(rows)

    def _row(self, row: object) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise WmsError(self.name, f"page {self._pages} has a row that is not a JSON object")
        if KEY in self.primary_keys and (not isinstance(row.get(KEY), int) or isinstance(row.get(KEY), bool)):
            raise WmsError(self.name, f"page {self._pages} has a row without an integer 'id'")
        for name in self._datetime_fields:
            value = row.get(name)
            if value is None or value == "":
                if name in row:
                    row[name] = None  # an empty date-time is no date-time
                continue
            try:
                if not isinstance(value, str):
                    raise TypeError(value)
                row[name] = to_utc(value, self._naive_zone)
            except (TypeError, ValueError):
                raise WmsError(
                    self.name, f"row {row.get(KEY)!r}: {name} {value!r} is not an ISO 8601 date-time"
                ) from None
        return row

    # Bookmarks

    def _start_bookmark(self, context: Context | None) -> str | None:
        """The ``mod_ts`` to read from (the state's bookmark, else ``start_date``), in UTC, or None."""
        if self.replication_key is None:
            return None
        start = self.get_starting_timestamp(context)
        return None if start is None else to_utc(start.isoformat(), self._naive_zone)

    def _sent_at(self, context: Context | None, bookmark: str | None) -> set[int]:
        """The ids the state says were sent at ``bookmark`` (none when it is another one)."""
        seen = self.get_context_state(context).get(SEEN_KEY)
        if bookmark is None or not isinstance(seen, Mapping) or seen.get("mod_ts") != bookmark:
            return set()
        ids = seen.get("ids")
        return {i for i in ids if isinstance(i, int)} if isinstance(ids, list) else set()

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """The rows, less those already sent at the bookmark; an unusable answer ends the run.

        Raises:
            WmsError: an answer that is not usable, an HTTP error that retries did not cure, or a
                refused OAuth2 client.

        """
        self._pages = 0
        start = self._start_bookmark(context)
        sent = self._sent_at(context, start)
        latest, at_latest = start, set(sent)
        key = self.replication_key
        for row in self._rows(context):
            stamp = row.get(key) if key else None
            if isinstance(stamp, str):
                if stamp == start and row[KEY] in sent:
                    continue  # the same version of the row, sent by the run that set the bookmark
                if latest is None or stamp > latest:
                    latest, at_latest = stamp, {row[KEY]}
                elif stamp == latest:
                    at_latest.add(row[KEY])
            yield row
        if key is not None and latest is not None:
            ids = sorted(at_latest) if len(at_latest) <= SEEN_LIMIT else None
            self.get_context_state(context)[SEEN_KEY] = {"mod_ts": latest, "ids": ids}

    def _rows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Singer SDK's paging, with its errors said as a ``WmsError`` naming the entity."""
        try:
            yield from self.request_records(context)
        except RetriableAPIError as exc:
            response = exc.response
            status = (response.status_code, response.reason) if response is not None else (0, "")
            raise WmsError(self.name, http_failure(*status, self._policy.max_tries)) from None
        except TokenError as exc:
            raise WmsError(self.name, str(exc)) from None
        except requests.RequestException as exc:
            raise WmsError(
                self.name,
                f"no answer from {self.config['base_url']} after {self._policy.max_tries} tries "
                f"({type(exc).__name__})",
            ) from None
