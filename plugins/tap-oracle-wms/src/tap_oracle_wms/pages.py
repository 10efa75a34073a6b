"""Pages of one entity fetched several at a time (``page_concurrency`` above 1), rows kept in page order.

Why it can be done: in the LGF API's ``paged`` mode (its default), every
answer carries ``page_count`` and a ``next_page`` URL whose ``page``
parameter numbers the pages. Once the first page is read, pages 2 to
``page_count`` are known URLs (the first ``next_page`` with its ``page``
replaced), so up to ``page_concurrency`` of them can be in flight at once.
Sequenced mode (what one page at a time uses) gives no page numbers, so
concurrency asks for ``page_mode=paged``, and for ``ordering=id`` so that the
pages are cut the same way on every request.

What stays as with one page at a time:

- rows are handed on in page order (a page that arrives early waits for
  the pages before it), so the target sees the same sequence;
- the bookmark moves only when the stream has read its last page (the
  stream's rule), so a page that fails after its retries ends the run with
  the pages before it written, nothing of the pages after it, and no
  bookmark moved;
- each request has the stream's own retries (a 5xx, a 429 with
  ``Retry-After``), run in the worker that sent it; once a page has
  failed for good the read is over, so the other workers give up at once
  (a shared ``threading.Event``) instead of going through their retries:
  the process can exit without waiting for them;
- ``next_page`` links are checked against ``base_url`` before any is used.

Rows added while the pages are read land after the last counted page:
its ``next_page`` is followed one page at a time. Rows removed (or added
and removed) while the pages are read would shift the page cuts; every
answer's ``result_count`` is compared with the first one's, and when it
moved the stream is read again one page at a time (rows already sent are
sent again; a target that upserts on ``id`` keeps one of each). An
addition and a removal between the same two requests leave the count
alone and are not seen: the weekly reload reads everything again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlparse

from tap_oracle_wms.errors import WmsError

if TYPE_CHECKING:
    import logging

    import requests
    from singer_sdk.helpers.types import Context

__all__ = ["PageSource", "PagesMoved", "numbered_pages", "read_concurrently"]


class PageSource(Protocol):
    """What the reader needs of a stream (``EntityStream`` is one)."""

    name: str

    @property
    def logger(self) -> logging.Logger:
        """The stream's logger."""
        ...

    def first_request(self, context: Context | None) -> requests.PreparedRequest:
        """The first page's request (the entity URL with its query)."""
        ...

    def link_request(self, url: str) -> requests.PreparedRequest:
        """A request for a page URL the API gave or the reader numbered."""
        ...

    def send(
        self,
        request: requests.PreparedRequest,
        context: Context | None,
        stop: threading.Event | None = None,
    ) -> requests.Response:
        """``request`` sent with the stream's retries; a failure that retries did not cure raises.

        Once ``stop`` is set, no further try is made and a wait between tries ends at once.
        """
        ...

    def body(self, response: requests.Response) -> dict[str, Any]:
        """The answer's JSON object (checked)."""
        ...

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The page's rows, checked whole."""
        ...

    def checked_link(self, link: str) -> str:
        """``link`` when it is on ``base_url``'s host."""
        ...


class PagesMoved(Exception):
    """``result_count`` changed while the pages were read: the page cuts may have shifted."""


def numbered_pages(next_page: object, page_count: object) -> list[str] | None:
    """The URLs of pages 2..``page_count``, from the first answer's ``next_page``; None when not numbered.

    The link must carry ``page=2`` (what paged mode answers); anything else
    (no ``page_count``, a cursor instead of a number) leaves the chain to be
    followed one page at a time.
    """
    if not isinstance(next_page, str) or not isinstance(page_count, int) or isinstance(page_count, bool):
        return None
    parts = urlparse(next_page)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if [value for key, value in query if key == "page"] != ["2"]:
        return None
    return [
        parts._replace(query=urlencode([(k, str(n) if k == "page" else v) for k, v in query])).geturl()
        for n in range(2, page_count + 1)
    ]


def read_concurrently(stream: PageSource, context: Context | None, workers: int) -> Iterator[dict[str, Any]]:
    """The stream's rows, pages fetched ``workers`` at a time, in page order.

    Raises:
        PagesMoved: ``result_count`` changed between two answers (the caller reads again one page at
            a time).
        WmsError: a ``next_page`` off ``base_url``, or a page that is not usable.

    """
    first = stream.send(stream.first_request(context), context)
    body = stream.body(first)
    expected = body.get("result_count")
    yield from stream.parse_response(first)
    link = body.get("next_page")
    if not link:
        return
    if not isinstance(link, str):
        raise WmsError(stream.name, f"next_page is not a URL but {type(link).__name__}")
    urls = numbered_pages(stream.checked_link(link), body.get("page_count"))
    if urls is None:
        stream.logger.info("entity %s: pages are not numbered; reading them one at a time", stream.name)
        yield from _follow(stream, context, link)
        return
    last: requests.Response | None = None
    for response in _in_order(stream, context, urls, workers):
        page_body = stream.body(response)
        if page_body.get("result_count") != expected:
            raise PagesMoved(f"result_count {expected} became {page_body.get('result_count')}")
        yield from stream.parse_response(response)
        last = response
    after = None if last is None else stream.body(last).get("next_page")
    if after:
        if not isinstance(after, str):
            raise WmsError(stream.name, f"next_page is not a URL but {type(after).__name__}")
        yield from _follow(stream, context, after)  # rows added during the read


def _in_order(
    stream: PageSource, context: Context | None, urls: list[str], workers: int
) -> Iterator[requests.Response]:
    """The answers for ``urls`` in their order, at most ``workers`` requests in flight."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"wms-{stream.name}")
    pending: deque[Future[requests.Response]] = deque()
    todo = iter(urls)
    stop = threading.Event()
    try:
        for url in todo:
            pending.append(pool.submit(stream.send, stream.link_request(url), context, stop))
            if len(pending) >= workers:
                break
        while pending:
            response = pending.popleft().result()
            for url in todo:
                pending.append(pool.submit(stream.send, stream.link_request(url), context, stop))
                break
            yield response
    finally:
        # A failed page (or a consumer that stopped) leaves the rest unsent, and the running ones
        # give up: a request under way ends without another try, a wait between tries ends now.
        # Their answers and failures are dropped.
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def _follow(stream: PageSource, context: Context | None, link: str) -> Iterator[dict[str, Any]]:
    """Rows from ``link`` on, through the ``next_page`` chain, one page at a time."""
    seen: set[str] = set()
    current: object = link
    while current:
        if not isinstance(current, str):
            raise WmsError(stream.name, f"next_page is not a URL but {type(current).__name__}")
        if current in seen:
            raise WmsError(stream.name, f"next_page repeats a page already read ({current})")
        seen.add(current)
        response = stream.send(stream.link_request(stream.checked_link(current)), context)
        current = stream.body(response).get("next_page")
        yield from stream.parse_response(response)
