"""What a service is: the description plugins return from ``flext_services``, as pydantic models.

A plugin answers the hook with ``ServiceSpec`` objects or plain dicts of the
same shape (a plugin cannot import this one, so dicts are the portable
form); the registry validates either. A URL that may hold a password is a
``SecretStr``: it is never printed, only ``target`` (the URL without its
password) is.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "Check",
    "EventStoreCheck",
    "HttpCheck",
    "NatsCheck",
    "PostgresCheck",
    "ProcessCheck",
    "RedisCheck",
    "ServiceSpec",
    "TcpCheck",
    "redacted",
]

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class _Check(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventStoreCheck(_Check):
    """Open the event store through the kernel (``EventStores``) for reading and read one event."""

    type: Literal["event-store"] = "event-store"
    location: SecretStr | None = None
    """A ``--store`` location; None: ``$FLEXT_EVENTSTORE_URL``, else the default store."""


class PostgresCheck(_Check):
    """Connect with psycopg and run ``SELECT version()``."""

    type: Literal["postgres"] = "postgres"
    url: SecretStr
    """A ``postgresql://`` URL (its password is never shown)."""


class NatsCheck(_Check):
    """Connect and read the server's ``INFO`` greeting (the NATS protocol's first line)."""

    type: Literal["nats"] = "nats"
    url: SecretStr
    """``nats://host:port``."""


class RedisCheck(_Check):
    """Connect, ``AUTH`` when the URL holds a password, and expect ``+PONG`` to ``PING``."""

    type: Literal["redis"] = "redis"
    url: SecretStr
    """``redis://[:password@]host:port``."""


class HttpCheck(_Check):
    """``GET url`` answers 2xx."""

    type: Literal["http"] = "http"
    url: str


class TcpCheck(_Check):
    """A TCP connection to ``host:port`` is accepted."""

    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(ge=1, le=65535)


class ProcessCheck(_Check):
    """The supervised process (its pid file) is alive: the default check of a local process."""

    type: Literal["process"] = "process"


Check = Annotated[
    EventStoreCheck | PostgresCheck | NatsCheck | RedisCheck | HttpCheck | TcpCheck | ProcessCheck,
    Field(discriminator="type"),
]
"""One of the checks above, told apart by ``type``."""


class ServiceSpec(BaseModel):
    """One service: a local process FLEXT runs, or a dependency it only checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    """What users type: ``flext service start NAME``."""
    kind: Literal["local-process", "dependency"]
    """``local-process``: FLEXT starts and stops it; ``dependency``: only checked."""
    description: str = ""
    """One line for ``flext service list``."""
    required: bool = True
    """``flext service health`` exits non-zero and ``/ready`` answers 503 while a required one is down."""
    check: Check = Field(default_factory=ProcessCheck)
    """How its health is checked."""
    argv: tuple[str, ...] = ()
    """A local process's command line (``[sys.executable, "-m", ...]``); empty for a dependency."""
    stop_timeout: float = Field(default=10.0, gt=0)
    """Seconds ``stop`` waits after SIGTERM before SIGKILL."""
    owner: str = ""
    """The plugin that contributed it (set by the registry)."""

    def target(self) -> str:
        """What is checked, for people: a URL without its password, ``host:port``, ``pid file``."""
        check = self.check
        if isinstance(check, PostgresCheck | NatsCheck | RedisCheck):
            return redacted(check.url.get_secret_value())
        if isinstance(check, EventStoreCheck):
            return redacted(check.location.get_secret_value()) if check.location else "default store"
        if isinstance(check, HttpCheck):
            return redacted(check.url)
        if isinstance(check, TcpCheck):
            return f"{check.host}:{check.port}"
        return "pid file"


_DSN_SECRET = re.compile(
    r"""(?P<key>\b\w*pass\w*\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'?|.*?(?=\s+\w+\s*=|$))""", re.IGNORECASE
)
"""A ``*pass*=`` key of a libpq key=value string and its value (quoted, or up to the next key)."""


def redacted(url: str) -> str:
    """``url`` with its password (and any query string, which may hold one) replaced by ``***``.

    A libpq key=value string (``host=db user=u password=secret``) keeps its
    keys and loses the values of any ``*pass*`` key.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if not parts.scheme or not parts.netloc:
        if "=" in url:
            url = _DSN_SECRET.sub(lambda found: f"{found['key']}***", url)
        return url if "@" not in url else "***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
