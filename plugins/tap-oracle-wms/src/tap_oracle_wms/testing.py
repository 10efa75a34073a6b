"""A local Oracle WMS Cloud (LGF API v10 entity module) for tests of tap-oracle-wms and what runs it.

``FakeWms(httpserver)`` answers, on a pytest-httpserver, what
docs/plugins/tap-oracle-wms.md says the tap expects: ``.../entity/{entity}/describe/``
with field definitions; ``.../entity/{entity}/`` pages of ``{"result_count",
"page_count", "page_nbr", "next_page", "previous_page", "results"}`` with
``page_size``, ``fields``, ``ordering`` (``-mod_ts``: newest first) and the
``mod_ts__gt``/``mod_ts__gte`` filters; basic auth, or an OAuth2 bearer token
from ``/oauth2/v1/token`` (client credentials); and the faults a test queues
per page (a status with its headers, or a body that is not JSON), each
answered once. For concurrent paging it can wait ``latency`` seconds before
each page (a WMS's own time to answer), hold pages until all of them are
being answered at once (``meet``: proof that they were in flight together), and
counts the page requests in flight (``max_in_flight``); give it a
``HTTPServer(threaded=True)`` so that it answers several at once. It
ships with the tap so that a deployment built on it (the GrupoNos
pipelines) can be tested end to end without a WMS; it needs the
``testing`` extra (pytest-httpserver).
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from singer_sdk.singerlib.json import serialize_json
from werkzeug import Request, Response

__all__ = [
    "API",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "PASSWORD",
    "TOKEN_PATH",
    "USER",
    "FakeWms",
    "Fault",
    "Seen",
    "describe_of",
    "make_rows",
]

API = "/prod/wms/lgfapi/v10/entity/"
TOKEN_PATH = "/oauth2/v1/token"
USER, PASSWORD = "api_user", "pw-Secret-4417"
CLIENT_ID, CLIENT_SECRET = "wms-client", "cs-Secret-9921"

_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "AutoField", "required": "N"},
    "code": {"type": "CharField", "max_length": 40, "required": "Y"},
    "description": {"type": "CharField", "max_length": 255, "allow_blank": True},
    "qty": {"type": "DecimalField", "required": "N"},
    "active": {"type": "BooleanField"},
    "facility_id": {"type": "ForeignKey"},
    "ship_date": {"type": "DateField"},
    "create_ts": {"type": "DateTimeField"},
    "mod_ts": {"type": "DateTimeField"},
}
"""The fields every fake entity has, as Django-style describe types (what lgfapi answers)."""


def describe_of(entity: str) -> dict[str, Any]:
    """The describe answer of a fake entity."""
    return {"parameters": ["id", "code", "mod_ts"], "fields": {**_FIELDS}, "entity": entity}


def make_rows(count: int, *, start_id: int = 1, minute0: int = 0) -> list[dict[str, Any]]:
    """``count`` rows; ``mod_ts`` one minute apart, written at UTC-3 as the WMS of a Brazilian site would."""
    base = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    rows = []
    for n in range(count):
        row_id = start_id + n
        stamp = (base + timedelta(minutes=minute0 + n)).astimezone(_BRT)
        rows.append(
            {
                "id": row_id,
                "code": f"C{row_id:05d}",
                "description": f"row {row_id}",
                "qty": Decimal(f"{row_id}123456789.123456789"),
                "active": row_id % 2 == 0,
                "facility_id": {"id": 1, "key": "DC01", "url": f"http://wms/facility/{1}/"},
                "ship_date": "2026-12-24",
                "create_ts": stamp.isoformat(),
                "mod_ts": stamp.isoformat(),
            }
        )
    return rows


_BRT = timezone(timedelta(hours=-3), "BRT")


@dataclass(frozen=True)
class Fault:
    """One answer instead of the page's: ``status`` with ``headers``, or ``body`` as it is."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"detail": "internal error"}'


@dataclass(frozen=True)
class Seen:
    """One request the server answered."""

    method: str
    path: str
    args: dict[str, str]
    authorization: str


class FakeWms:
    """The LGF API v10 entity module of one environment (``/prod``), in memory."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.describe: dict[str, dict[str, Any]] = {}
        self.faults: dict[tuple[str, int], list[Fault]] = defaultdict(list)
        self.describe_faults: dict[str, list[Fault]] = defaultdict(list)
        self.seen: list[Seen] = []
        self.tokens: list[str] = []
        self.next_host: str | None = None
        self.latency = 0.0
        """Seconds each page answer waits before it is sent (describe and token answers do not)."""
        self.token_latency = 0.0
        """Seconds each token answer waits before it is sent (a slow identity provider)."""
        self.meetings: dict[tuple[str, int], tuple[threading.Barrier, threading.Event]] = {}
        self.after_page: dict[tuple[str, int], Callable[[], None]] = {}
        """Called once, right after that page of that entity was answered (rows changed mid-read)."""
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def base_url(self) -> str:
        """What the tap's ``base_url`` is set to."""
        return self.server.url_for("/prod")

    def add(self, entity: str, rows: list[dict[str, Any]]) -> None:
        """Serve ``entity`` with ``rows`` (and the usual describe answer)."""
        self.rows[entity] = rows
        self.describe[entity] = describe_of(entity)

    def fail(self, entity: str, page: int, fault: Fault) -> None:
        """Answer the next request for ``page`` of ``entity`` with ``fault`` (once)."""
        self.faults[(entity, page)].append(fault)

    def meet(self, entity: str, pages: tuple[int, ...], *, timeout: float = 10.0) -> None:
        """Answer ``pages`` of ``entity`` only when every one of them is being answered (``timeout`` at most).

        ``met(entity, page)`` then says whether they all were in flight at once: a reader that
        fetches one page at a time never is (the first waits out ``timeout``, then all are answered).
        """
        barrier, met = threading.Barrier(len(pages), timeout=timeout), threading.Event()
        for page in pages:
            self.meetings[(entity, page)] = (barrier, met)

    def met(self, entity: str, page: int) -> bool:
        """Whether the pages ``meet`` named with ``page`` were all in flight together."""
        return self.meetings[(entity, page)][1].is_set()

    def basic_config(self, **extra: Any) -> dict[str, Any]:
        """A basic-auth config for this server, the tap's waits short (tests do not sleep long)."""
        return {
            "base_url": self.base_url,
            "username": USER,
            "password": PASSWORD,
            "entities": sorted(self.rows),
            "page_size": 10,
            "backoff_base_seconds": 0.05,
            **extra,
        }

    def oauth_config(self, **extra: Any) -> dict[str, Any]:
        """An OAuth2 client-credentials config for this server."""
        config = self.basic_config()
        del config["username"], config["password"]
        return {
            **config,
            "auth_method": "oauth2",
            "oauth_token_url": self.server.url_for(TOKEN_PATH),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "oauth_scope": "urn:resource:fusion:scm:logistics:wms:lgfapi/",
            **extra,
        }

    def list_requests(self, entity: str) -> list[Seen]:
        """The page requests made for ``entity``, in order."""
        return [s for s in self.seen if s.path == f"{API}{entity}/"]

    # Answers

    def handle(self, request: Request) -> Response:
        """Every request: the token endpoint, a describe, a page, or 404."""
        args = {key: request.args[key] for key in request.args}
        self.seen.append(Seen(request.method, request.path, args, request.headers.get("Authorization", "")))
        if request.path == TOKEN_PATH:
            return self._token(request)
        if not self._authorized(request):
            return _json({"detail": "Authentication credentials were not provided."}, 401)
        match = re.fullmatch(rf"{API}(\w+)/(describe/)?", request.path)
        if match is None or match.group(1) not in self.rows:
            return _json({"detail": "Not found."}, 404)
        entity = match.group(1)
        if match.group(2):
            if self.describe_faults[entity]:
                return _fault(self.describe_faults[entity].pop(0))
            return _json(self.describe[entity])
        return self._page(request, entity, args)

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("Authorization", "")
        basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return given == basic or (given.startswith("Bearer ") and given[7:] in self.tokens)

    def _token(self, request: Request) -> Response:
        client = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != client or request.form.get("grant_type") != (
            "client_credentials"
        ):
            return _json({"error": "invalid_client"}, 401)
        if self.token_latency:
            time.sleep(self.token_latency)
        with self._lock:
            token = f"token-{len(self.tokens) + 1}"
            self.tokens.append(token)
        return _json({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _page(self, request: Request, entity: str, args: dict[str, str]) -> Response:
        page = int(args.get("page", "1"))
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if (entity, page) in self.meetings:
                barrier, met = self.meetings[(entity, page)]
                try:
                    barrier.wait()
                    met.set()
                except threading.BrokenBarrierError:
                    pass  # not all in flight together: answered all the same
            if self.latency:
                time.sleep(self.latency)
            with self._lock:
                if self.faults[(entity, page)]:
                    return _fault(self.faults[(entity, page)].pop(0))
            answer = self._answer(request, entity, args, page)
            changed = self.after_page.pop((entity, page), None)
            if changed is not None:
                changed()
            return answer
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, request: Request, entity: str, args: dict[str, str], page: int) -> Response:
        rows = _ordered(list(self._filtered(entity, args)), args.get("ordering", "id"))
        size = min(int(args.get("page_size", "25")), 1250)
        count = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size : page * size]
        if "fields" in args:
            wanted = args["fields"].split(",")
            chunk = [{k: v for k, v in row.items() if k in wanted} for row in chunk]
        host = self.next_host or f"{request.scheme}://{request.host}"
        link = f"{host}{request.path}?" + "{}"
        rest = {k: v for k, v in args.items() if k != "page"}
        body = {
            "result_count": len(rows),
            "page_count": count,
            "page_nbr": page,
            "next_page": link.format(urlencode({**rest, "page": page + 1})) if page < count else None,
            "previous_page": link.format(urlencode({**rest, "page": page - 1})) if page > 1 else None,
            "results": chunk,
        }
        return _json(body)

    def _filtered(self, entity: str, args: dict[str, str]) -> Iterator[dict[str, Any]]:
        after = {
            op: datetime.fromisoformat(args[f"mod_ts__{op}"])
            for op in ("gt", "gte")
            if f"mod_ts__{op}" in args
        }
        for row in self.rows[entity]:
            stamp = datetime.fromisoformat(row["mod_ts"])
            if "gt" in after and not stamp > after["gt"]:
                continue
            if "gte" in after and not stamp >= after["gte"]:
                continue
            yield row


def _json(body: Any, status: int = 200) -> Response:
    return Response(serialize_json(body), status=status, content_type="application/json")


def _fault(fault: Fault) -> Response:
    return Response(fault.body, status=fault.status, headers=fault.headers, content_type="application/json")


def _ordered(rows: list[dict[str, Any]], ordering: str) -> list[dict[str, Any]]:
    """``rows`` in the API's ``ordering`` (comma-separated fields, ``-`` before one for descending)."""
    for name in reversed([part.strip() for part in ordering.split(",") if part.strip()]):
        field_name = name.lstrip("-")
        rows.sort(key=lambda row: _sort_key(row.get(field_name)), reverse=name.startswith("-"))
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first; ``*_ts`` values as instants (their offsets differ), the rest as they are."""
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        try:
            return (1, datetime.fromisoformat(value))
        except ValueError:
            return (2, value)
    return (1, value)
