"""``flext serve``: the HTTP server (Starlette on uvicorn), in the foreground until SIGTERM or Ctrl-C.

uvicorn and Starlette are imported here, when the command runs, never when
the plugin loads. The socket is bound before uvicorn starts, so a port in
use is one clear error line, not a server log.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flext_plugin_service.errors import SERVICE_START_FAILED
from flext_sdk import FlextResult
from flext_sdk.cli import EXIT_INTERRUPTED, EXIT_OK, boot_kernel, fail, note

if TYPE_CHECKING:
    import uvicorn

__all__ = ["serve"]


def serve(*, host: str | None = None, port: int | None = None, store: str | None = None) -> int:
    """Serve /health, /ready, /metrics and the read API (/api/v1/pipelines, runs, events) over HTTP.

    Args:
        host: The address to listen on (default $FLEXT_SERVE_HOST, else 127.0.0.1).
        port: The port (default $FLEXT_SERVE_PORT, else 8081; 0 picks a free one).
        store: The event store the read API reads (a SQLite path or postgresql:// URL).

    """
    from flext_plugin_service.builtins import serve_address

    default_host, default_port = serve_address()
    host = host or default_host
    port = default_port if port is None else port
    if not 0 <= port <= 65535:
        from flext_kernel.errors import VALIDATION_ERROR

        return fail(
            FlextResult.fail(f"--port must be from 0 to 65535, not {port}", error_code=VALIDATION_ERROR)
        )
    bound = _bind(host, port)
    if isinstance(bound, int):
        return bound
    booted = boot_kernel()
    if booted.is_failure:
        bound.close()
        return fail(booted)
    import uvicorn

    from flext_plugin_service.app import build_app

    with booted.value as kernel:
        address = bound.getsockname()
        note(f"flext serve listening on http://{host}:{address[1]} (pid {_pid()})")
        config = uvicorn.Config(
            build_app(kernel, store=store), log_level="info", access_log=False, lifespan="on"
        )
        server = _server_class(uvicorn.Server)(config)
        server.run(sockets=[bound])
    return EXIT_INTERRUPTED if server.stopped_by == signal.SIGINT else EXIT_OK


def _server_class(base: type[uvicorn.Server]) -> type[Any]:
    """The uvicorn server, ending on SIGTERM or Ctrl-C with an exit code instead of re-raising the signal.

    uvicorn re-raises the signal that stopped it once it has shut down, so the
    process would end "killed by SIGTERM"; FLEXT commands stopped on purpose
    end normally (0; 130 after Ctrl-C, docs/cli.md).
    """

    class Server(base):  # type: ignore[misc, valid-type]  # uvicorn's class, chosen at run time
        stopped_by: int | None = None

        def handle_exit(self, sig: int, frame: Any) -> None:
            self.stopped_by = sig
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            handler = self.handle_exit
            previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for signum, before in previous.items():
                    signal.signal(signum, before)

    return Server


def _pid() -> int:
    import os

    return os.getpid()


def _bind(host: str, port: int) -> socket.socket | int:
    """A listening socket on ``host:port``, or the exit code of the one line saying why not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        return fail(
            FlextResult.fail(f"cannot listen on {host}:{port}: {reason}", error_code=SERVICE_START_FAILED),
            hint="choose another --port, or stop what listens there",
        )
    return sock
