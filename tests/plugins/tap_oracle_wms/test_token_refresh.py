"""One token request when several workers find the OAuth2 token expired at once.

With ``page_concurrency`` above 1 every worker authenticates its own
requests through the tap's one authenticator; without a lock each worker
that finds the token expired asks the identity provider for a new one.
The workers here start together (a barrier) and the token endpoint answers
slowly, so all of them are past the validity check before the first new
token arrives.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from pytest_httpserver import HTTPServer
from tap_oracle_wms.auth import ClientCredentialsAuthenticator

from .conftest import FakeWms

WORKERS = 6


def _authenticator(wms: FakeWms) -> ClientCredentialsAuthenticator:
    config = wms.oauth_config()
    return ClientCredentialsAuthenticator(
        token_url=config["oauth_token_url"],
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        scope=config["oauth_scope"],
    )


def test_an_expired_token_is_refreshed_once_for_all_the_workers() -> None:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # token requests answered in parallel
    server.start()
    try:
        wms = FakeWms(server)
        auth = _authenticator(wms)
        first = auth.authenticate_request(requests.Request("GET", wms.base_url).prepare())
        assert wms.tokens == ["token-1"]
        assert first.headers["Authorization"] == "Bearer token-1"
        assert auth.last_refreshed is not None
        auth.last_refreshed -= timedelta(hours=2)  # the one-hour token has expired
        wms.token_latency = 0.3
        start = threading.Barrier(WORKERS)

        def worker(_: int) -> str:
            start.wait()
            request = auth.authenticate_request(requests.Request("GET", wms.base_url).prepare())
            return request.headers["Authorization"]

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            headers = list(pool.map(worker, range(WORKERS)))
        assert wms.tokens == ["token-1", "token-2"]  # one refresh, not one per worker
        assert set(headers) == {"Bearer token-2"}
    finally:
        server.clear()
        server.stop()
