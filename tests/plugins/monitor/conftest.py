"""A real local HTTP server that keeps what it was sent, for the webhook notifier and metrics scrapes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    """What the server was sent and what it answers."""

    posts: list[tuple[str, Any]] = field(default_factory=list)
    """``(path, JSON body)`` of every POST, in order."""
    status: int = 200
    """The status every POST is answered with."""
    metrics: str = ""
    """The body of ``GET /metrics``."""
    base: str = ""


@pytest.fixture
def http_server() -> Iterator[Received]:
    """An HTTP server on a free loopback port: POSTs kept, ``/health`` is 200, ``/metrics`` serves text."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            received.posts.append((self.path, json.loads(self.rfile.read(length))))
            self.send_response(received.status)
            self.end_headers()

        def do_GET(self) -> None:
            body = (received.metrics if self.path == "/metrics" else "ok").encode()
            self.send_response(200)
            self.send_header("content-type", "text/plain; version=0.0.4")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
