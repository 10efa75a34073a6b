"""The services this plugin knows without asking other plugins, read from the environment.

| service | kind | when | check |
|---|---|---|---|
| ``event-store`` | dependency | always | through the kernel's ``EventStores`` |
| ``postgres`` | dependency | ``FLEXT_POSTGRES_URL``, else a PostgreSQL event store | ``SELECT version()`` |
| ``nats`` | dependency | ``FLEXT_NATS_URL`` | the server's ``INFO`` line |
| ``redis`` | dependency | ``FLEXT_REDIS_URL`` | ``PING`` |
| ``serve`` | local process | always (not required) | ``GET /health`` |
"""

from __future__ import annotations

import os
import sys
from typing import Final

from flext_plugin_service.spec import (
    EventStoreCheck,
    HttpCheck,
    NatsCheck,
    PostgresCheck,
    RedisCheck,
    ServiceSpec,
)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "builtin_services", "serve_address"]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8081
_OWNER: Final = "service"


def serve_address() -> tuple[str, int]:
    """Where ``flext serve`` listens: ``FLEXT_SERVE_HOST``/``FLEXT_SERVE_PORT``, else 127.0.0.1:8081."""
    host = os.environ.get("FLEXT_SERVE_HOST") or DEFAULT_HOST
    port = os.environ.get("FLEXT_SERVE_PORT", "")
    return host, int(port) if port.isascii() and port.isdigit() else DEFAULT_PORT


def _postgres_url() -> str | None:
    url = os.environ.get("FLEXT_POSTGRES_URL")
    if url:
        return url
    store = os.environ.get("FLEXT_EVENTSTORE_URL", "")
    return store if store.startswith(("postgresql://", "postgres://")) else None


def builtin_services() -> list[ServiceSpec]:
    """The built-in services for this environment."""
    found = [
        ServiceSpec(
            name="event-store",
            kind="dependency",
            description="The FLEXT event store ($FLEXT_EVENTSTORE_URL, else the embedded one)",
            check=EventStoreCheck(),
            owner=_OWNER,
        )
    ]
    postgres = _postgres_url()
    if postgres:
        found.append(
            ServiceSpec(
                name="postgres",
                kind="dependency",
                description="PostgreSQL",
                check=PostgresCheck(url=postgres),  # type: ignore[arg-type]  # pydantic wraps it in SecretStr
                owner=_OWNER,
            )
        )
    for name, variable, check in (
        ("nats", "FLEXT_NATS_URL", NatsCheck),
        ("redis", "FLEXT_REDIS_URL", RedisCheck),
    ):
        url = os.environ.get(variable)
        if url:
            found.append(
                ServiceSpec(
                    name=name,
                    kind="dependency",
                    description=f"{name.upper() if name == 'nats' else name.title()} (${variable})",
                    check=check(url=url),  # type: ignore[arg-type]  # pydantic wraps it in SecretStr
                    owner=_OWNER,
                )
            )
    host, port = serve_address()
    found.append(
        ServiceSpec(
            name="serve",
            kind="local-process",
            description="flext serve: /health, /ready, /metrics and the read API",
            required=False,
            check=HttpCheck(url=f"http://{_url_host(host)}:{port}/health"),
            argv=(sys.executable, "-m", "flext_kernel.cli", "serve", "--host", host, "--port", str(port)),
            owner=_OWNER,
        )
    )
    return found


def _url_host(host: str) -> str:
    """``host`` as it goes in a URL: 0.0.0.0 is reached on loopback, an IPv6 address in brackets."""
    if host in ("0.0.0.0", ""):  # the wildcard is reached through loopback
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
