"""Reading a live OID server into an LDIF file the phases read: ``export_source``.

``export_source(project, destination)`` binds to ``source.url`` with ldap3
(the password from the secret reference, never shown), reads the subtree
under ``source.base_dn`` with the simple paged results control
(``source.page_size`` entries a page) and writes every entry with
``ldif_out.format_record`` as it arrives, so memory holds one page whatever
the directory's size. The file is written to ``<destination>.partial`` and
renamed at the end: a failure (no server, a refused bind, no base entry, a
size limit, the server going away part way) is one failure naming the URL
and what to fix, and leaves the destination as it was.

What is requested is every user attribute (``*``) and, by name, the
operational ones an OID export carries and the phases read or drop
(``LIVE_OPERATIONAL``): OID returns ``orclACI`` and ``orclEntryLevelACI``
only when asked for by name. Values are ``bytes`` where the server's schema
gives the attribute a binary syntax (or it has the ``;binary`` option), or
where they are not UTF-8 text (or hold a NUL), as the ``ldif`` plugin's
reader decides; everything else is text. docs/algar.md, "Reading a live OID
server", says how the phases use the file.
"""

from __future__ import annotations

import ssl
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flext_kernel.errors import NOT_FOUND, OPERATION_ERROR, VALIDATION_ERROR
from flext_plugin_algar.errors import (
    LDAP_BIND_FAILED,
    LDAP_CONNECTION_LOST,
    LDAP_OPERATION_FAILED,
    LDAP_UNREACHABLE,
)
from flext_plugin_algar.ldif_out import format_record
from flext_plugin_algar.project import Project, resolve_secret
from flext_sdk import FlextResult

if TYPE_CHECKING:
    from ldap3 import Connection

__all__ = ["BINARY_SYNTAXES", "CONNECT_TIMEOUT", "LIVE_OPERATIONAL", "RECEIVE_TIMEOUT", "export_source"]

LIVE_OPERATIONAL: Final = (
    "orclACI",
    "orclEntryLevelACI",
    "orclGUID",
    "createTimestamp",
    "modifyTimestamp",
    "creatorsName",
    "modifiersName",
)
"""Operational attributes requested by name besides ``*``: the ACLs the acl phase translates, and what
an OID export carries for the coming ``sync`` (``orclGUID``, the timestamps; the schema phase drops them)."""
BINARY_SYNTAXES: Final = frozenset(
    f"1.3.6.1.4.1.1466.115.121.1.{number}" for number in (4, 5, 8, 9, 10, 23, 28, 40, 49)
)
"""Syntaxes whose values are octets (Audio, Binary, Certificate, Certificate List, Certificate Pair,
Fax, JPEG, Octet String, Supported Algorithm): the ``ldif`` plugin's rule."""
CONNECT_TIMEOUT: Final = 30
"""Seconds to wait for the TCP (and TLS) connection."""
RECEIVE_TIMEOUT: Final = 600
"""Seconds to wait for an answer (a bind, or one page): a server that stops answering fails the read."""

_PAGED_RESULTS: Final = "1.2.840.113556.1.4.319"
_FIX: Final[Mapping[str, str]] = {
    "invalidCredentials": "check source.bind_dn and the secret that source.bind_password names",
    "noSuchObject": "check source.base_dn: the server has no such entry (or the bind DN may not see it)",
    "sizeLimitExceeded": "raise the size limit of source.bind_dn on the server (OID: orclsizelimit), "
    "or bind as an account without one",
    "adminLimitExceeded": "raise the size limit of source.bind_dn on the server (OID: orclsizelimit), "
    "or bind as an account without one",
    "timeLimitExceeded": "raise the time limit of source.bind_dn on the server (OID: orcltimelimit)",
    "unavailableCriticalExtension": "the server does not do paged searches (RFC 2696)",
    "insufficientAccessRights": "bind as an account that may read the subtree (source.bind_dn)",
    "inappropriateAuthentication": "set source.bind_dn and source.bind_password: the server "
    "refuses anonymous reads",
    "unwillingToPerform": "set source.bind_dn and source.bind_password: the server refuses this bind",
}
_NOT_FOUND: Final = frozenset({"noSuchObject"})
"""Search results that mean a wrong setting rather than a server problem."""


class _Failed(Exception):
    """A read that cannot go on: carries the failure (raised and caught inside this module only)."""

    def __init__(self, result: FlextResult[Any]) -> None:
        super().__init__(result.error)
        self.result = result


def export_source(
    project: Project, destination: Path, *, progress: Callable[[int], None] | None = None
) -> FlextResult[dict[str, Any]]:
    """Read the live source of ``project`` into ``destination`` (LDIF); counts of entries, pages, seconds.

    ``progress`` is called after each page with the number of entries written so far.
    """
    source = project.source
    if source.url is None or source.base_dn is None:
        return FlextResult.fail(
            "source: reading a live server needs source.url and source.base_dn (the subtree to read)",
            error_code=VALIDATION_ERROR,
        )
    password: str | None = None
    if source.bind_dn is not None and source.bind_password is not None:
        secret = resolve_secret(source.bind_password, project.directory)
        if secret.is_failure:
            return FlextResult.fail(
                f"source.bind_password: {secret.error}", error_code=secret.error_code or NOT_FOUND
            )
        password = secret.value
    partial = destination.with_name(destination.name + ".partial")
    started = time.monotonic()
    try:
        counts = _export(project, password, partial, progress)
        partial.replace(destination)
    except _Failed as failed:
        return failed.result
    except OSError as exc:
        return FlextResult.fail(
            f"cannot write {destination}: {exc.strerror or exc}",
            error_code=OPERATION_ERROR,
            error_data={"exception_type": type(exc).__name__, "file": str(destination)},
        )
    finally:
        partial.unlink(missing_ok=True)  # renamed when the read succeeded; never left half-written
    return FlextResult.ok({
        "url": source.url, "base_dn": source.base_dn, "file": str(destination), **counts,
        "seconds": round(time.monotonic() - started, 3),
    })  # fmt: skip


def _export(
    project: Project, password: str | None, partial: Path, progress: Callable[[int], None] | None
) -> dict[str, int]:
    """Bind, then read page after page into ``partial``; raises ``_Failed`` with the failure."""
    _import_ldap3()
    from ldap3.core.exceptions import LDAPException

    source = project.source
    url, base = str(source.url), str(source.base_dn)
    counts = {"entries": 0, "pages": 0, "referrals": 0}
    connection: Connection | None = None
    try:
        connection = _bind(url, source.bind_dn, password)
        binary = _binary_names(connection)
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write("version: 1\n\n")
            cookie: bytes | None = None
            while True:
                connection.search(
                    base,
                    "(objectClass=*)",
                    attributes=["*", *LIVE_OPERATIONAL],
                    paged_size=source.page_size,
                    paged_criticality=True,
                    paged_cookie=cookie,
                )
                result = connection.result
                for response in connection.response or ():
                    if response.get("type") == "searchResEntry":
                        handle.write(_entry(response["dn"], response["raw_attributes"], binary))
                        counts["entries"] += 1
                    elif response.get("type") == "searchResRef":
                        counts["referrals"] += 1
                if result["result"] != 0:
                    failure = _ldap_failure(url, f"the search under {base!r}", result, counts["entries"])
                    raise _Failed(failure)
                counts["pages"] += 1
                if progress is not None:
                    progress(counts["entries"])
                cookie = result.get("controls", {}).get(_PAGED_RESULTS, {}).get("value", {}).get("cookie")
                if not cookie:
                    break
    except LDAPException as exc:
        raise _Failed(_lost(url, exc, counts)) from exc
    finally:
        if connection is not None:
            _close(connection)
    return counts


def _import_ldap3() -> None:
    """Import ldap3 without its import-time warning (ldap3 2.9.1 uses names pyasn1 0.6.2 deprecates)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="ldap3")
        import ldap3  # noqa: F401  (imported for its side effect: the module is cached without warning)


def _bind(url: str, bind_dn: str | None, password: str | None) -> Connection:
    """An open, bound, read-only connection; a refused bind raises ``_Failed``."""
    from ldap3 import AUTO_BIND_NONE, SCHEMA, Connection, Server, Tls
    from ldap3.core.exceptions import LDAPException

    url = url.rstrip("/")  # ldap3 reads "host:389/" as a port that is not a number
    secure = url.lower().startswith("ldaps://")
    server = Server(
        url,
        get_info=SCHEMA,
        connect_timeout=CONNECT_TIMEOUT,
        tls=Tls(validate=ssl.CERT_REQUIRED) if secure else None,
    )
    connection = Connection(
        server,
        user=bind_dn,
        password=password,
        auto_bind=AUTO_BIND_NONE,
        read_only=True,
        raise_exceptions=False,
        check_names=False,
        auto_referrals=False,
        receive_timeout=RECEIVE_TIMEOUT,
    )
    try:
        connection.open()
    except LDAPException:
        _close(connection)  # ldap3 leaves the socket of a failed connect open
        raise
    if not connection.bind():
        _close(connection)
        what = f"the bind as {bind_dn or 'anonymous'!r}"
        raise _Failed(_ldap_failure(url, what, connection.result, 0, code=LDAP_BIND_FAILED))
    return connection


def _close(connection: Connection) -> None:
    """Unbind and close the socket, whatever state the connection is in."""
    from ldap3.core.exceptions import LDAPException

    with suppress(LDAPException, OSError):  # the server went away: nothing to tell it
        connection.unbind()
    with suppress(LDAPException, OSError):
        connection.strategy.close()
    if connection.socket is not None:
        connection.socket.close()


def _binary_names(connection: Connection) -> frozenset[str]:
    """Every name (lower case) of an attribute type whose syntax, its own or inherited, is binary."""
    schema = connection.server.schema
    if schema is None:
        return frozenset()
    types: Mapping[str, Any] = schema.attribute_types
    names: set[str] = set()
    for name, info in types.items():
        syntax, seen = info.syntax, 0
        while syntax is None and info.superior and seen < 20:  # a syntax may come from the supertype
            info, seen = types.get(info.superior[0]), seen + 1
            if info is None:
                break
            syntax = info.syntax
        if syntax is not None and syntax.split("{", 1)[0] in BINARY_SYNTAXES:
            names.add(name.lower())
    return frozenset(names)


def _entry(dn: str, raw: Mapping[str, Iterable[bytes]], binary: frozenset[str]) -> str:
    attributes: list[tuple[str, tuple[str | bytes, ...]]] = []
    for name, values in raw.items():
        lower = name.lower()
        is_binary = lower.split(";", 1)[0] in binary or ";binary" in lower
        kept = tuple(value if is_binary else _text(value) for value in values)
        if kept:
            attributes.append((name, kept))
    return format_record(dn, attributes)


def _text(value: bytes) -> str | bytes:
    """The value as text, or its bytes when it is not UTF-8 or holds a NUL (no string syntax allows one)."""
    if b"\x00" in value:
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _ldap_failure(
    url: str, what: str, result: Mapping[str, Any], entries: int, *, code: str = LDAP_OPERATION_FAILED
) -> FlextResult[Any]:
    """An LDAP result code as a failure naming the server, what failed and what to fix."""
    name = str(result.get("description") or result.get("result"))
    message = str(result.get("message") or "").strip()
    fix = _FIX.get(name, "see the server's log")
    read = f" after {entries} entries" if entries else ""
    detail = f" ({message})" if message else ""
    return FlextResult.fail(
        f"{url}: {what} failed{read}: {name}{detail}; {fix}",
        error_code=NOT_FOUND if name in _NOT_FOUND else code,
        error_data={"url": url, "ldap_result": name, "entries": entries},
    )


def _lost(url: str, exc: Exception, counts: Mapping[str, int]) -> FlextResult[Any]:
    """A connection that failed or went away (ldap3 raises for those even without ``raise_exceptions``)."""
    from ldap3.core.exceptions import LDAPSocketOpenError

    code = LDAP_CONNECTION_LOST
    if isinstance(exc, LDAPSocketOpenError) and not counts["pages"]:
        code, what = LDAP_UNREACHABLE, f"cannot connect: {exc}; check source.url and that the server is up"
    else:
        what = (
            f"the connection was lost after {counts['entries']} entries ({counts['pages']} pages): "
            f"{exc}; check the server and read again"
        )
    return FlextResult.fail(
        f"{url}: {what}",
        error_code=code,
        error_data={"url": url, "exception_type": type(exc).__name__, **counts},
    )
