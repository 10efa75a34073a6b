"""The target directory server, through ldap3: bind, read entries, add, modify, rename, delete, list DNs.

``connect(project)`` resolves the project's ``bind_password`` secret
reference, binds to ``target.url`` as ``target.bind_dn`` and reads the
server's schema (to tell operational attributes from user ones). Every
ldap3 error is turned into a ``FlextResult`` failure here and nowhere else
(``LDAP_UNREACHABLE``, ``LDAP_BIND_FAILED``, ``LDAP_CONNECTION_LOST``,
``LDAP_OPERATION_FAILED``); a message names the URL, the bind DN and the
entry concerned, never the password.

An add or modify the server refuses for one entry (a schema violation, a
missing parent) is not a failure of the connection: it comes back as a
``Refusal`` (the LDAP result code and the server's message) for the caller
to report against the entry, and the work goes on.

``differences(source, target, normal, schema)`` says which attributes of an
entry differ, and ``changes`` what makes the target's entry equal the
source's (``Change``): sync applies them, verify reports them. Values are
compared as the server stores them: attribute names case-insensitively,
``objectClass`` and Boolean values case-insensitively, DN values (``member``,
``manager``..., every DN-syntax type of the schema) by their normal form,
every other value as bytes (text as UTF-8, binary as read).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from flext_kernel.errors import NOT_FOUND
from flext_plugin_algar.errors import (
    LDAP_BIND_FAILED,
    LDAP_CONNECTION_LOST,
    LDAP_OPERATION_FAILED,
    LDAP_UNREACHABLE,
)
from flext_plugin_algar.project import Project, resolve_secret
from flext_sdk import FlextResult

if TYPE_CHECKING:
    from ldap3 import Connection

    from flext_plugin_algar.pipeline import AddPipeline

__all__ = [
    "DN_ATTRIBUTES",
    "ENTRY_REFUSALS",
    "Change",
    "Difference",
    "Directory",
    "Refusal",
    "Schema",
    "TargetEntry",
    "changes",
    "connect",
    "differences",
]

DN_ATTRIBUTES: Final = frozenset(
    {"member", "uniquemember", "owner", "manager", "secretary", "seealso", "roleoccupant"}
)
"""Attributes whose values are DNs: compared by normal form (the server may re-space or re-case them)."""
_TIMEOUT: Final = 30
_PAGE: Final = 1000
_NO_SUCH_OBJECT: Final = 32
_SEARCH_RESULT_ENTRY: Final = 4
_SEARCH_RESULT_DONE: Final = 5
_PAGED_RESULTS: Final = "1.2.840.113556.1.4.319"
ENTRY_REFUSALS: Final = frozenset({10, 34, 50, 53})
"""Results a base read of one DN can get that are about that DN, not the connection: referral,
invalidDNSyntax, insufficientAccessRights, unwillingToPerform. Such an entry is left to its add,
whose refusal is then an item naming it; the sync goes on."""
_DN_SYNTAX: Final = "1.3.6.1.4.1.1466.115.121.1.12"
_BOOLEAN_SYNTAX: Final = "1.3.6.1.4.1.1466.115.121.1.7"

Value = str | bytes
_Scope = Literal["BASE", "LEVEL", "SUBTREE"]  # ldap3's scope constants are these strings


@dataclass(frozen=True, slots=True)
class Schema:
    """What comparing values needs from the server's schema (lower-cased attribute type names)."""

    operational: frozenset[str] = frozenset()
    """Operational attribute types: read and compared only when the source entry has them."""
    dn: frozenset[str] = DN_ATTRIBUTES
    """DN-valued attribute types (the server may re-space or re-case a DN): compared by normal form."""
    boolean: frozenset[str] = frozenset()
    """Boolean attribute types (a server may store ``true`` as ``TRUE``): compared case-insensitively."""


@dataclass(frozen=True, slots=True)
class TargetEntry:
    """An entry as the target holds it: the DN as the server writes it and the raw values by lower name."""

    dn: str
    """The DN the server returned."""
    attributes: Mapping[str, tuple[bytes, ...]]
    """Lower-cased attribute description to its values, as bytes."""


@dataclass(frozen=True, slots=True)
class Change:
    """One modification of an entry: ``add`` or ``delete`` these values, or ``replace`` them all."""

    operation: Literal["add", "delete", "replace"]
    """What to do."""
    attribute: str
    """The attribute description (lower case)."""
    values: tuple[Value, ...]
    """The values (``delete`` with none: every value)."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One attribute whose values differ: all of them on each side, and what only one side has."""

    attribute: str
    """The attribute description (lower case)."""
    source: tuple[Value, ...]
    """Its values in the source (none: the target has an attribute the source has not)."""
    target: tuple[bytes, ...]
    """Its values on the target (none: the target lacks it)."""
    missing: tuple[Value, ...]
    """Source values the target lacks."""
    surplus: tuple[bytes, ...]
    """Target values the source lacks."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """An operation the server refused for one entry: its LDAP result code and message."""

    code: int
    """The LDAP result code (65: object class violation, 68: already exists, ...)."""
    name: str
    """The result's name (``objectClassViolation``)."""
    message: str
    """The server's diagnostic message."""

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.message}".rstrip(": ")


class Directory:
    """A bound connection to the target; ``close`` (or ``with``) unbinds."""

    def __init__(
        self,
        connection: Connection,
        url: str,
        schema: Schema,
        opener: Callable[[], FlextResult[Connection]] | None = None,
    ) -> None:
        self._connection = connection
        self._opener = opener
        """Binds another connection as this one did (``pages`` reads on its own); None: no ``pages``."""
        self.url = url
        """The server's URL (what messages name)."""
        self.schema = schema
        """What the server's schema says about comparing values."""

    def read(self, dns: Sequence[str], names: Iterable[str]) -> FlextResult[list[TargetEntry]]:
        """The entries among ``dns`` that exist: one base search each.

        Returns the user attributes, and the operational ones among ``names`` (so an ``aci`` the
        source has is compared, while the server's own ``createTimestamp`` is not read). Base reads,
        not one ``(|(entryDN=...)...)`` search per batch: slapd's cost for such a search grows with
        the directory (docs/algar.md, "Loading and checking the target", has the measurements).
        """
        wanted = sorted({name.lower() for name in names} & self.schema.operational)
        found: list[TargetEntry] = []
        for dn in dns:
            read = self._search(dn, "(objectClass=*)", ["*", *wanted], what=f"reading {dn!r}", scope="BASE")
            if read.is_failure:
                if (read.error_data or {}).get("result") in ENTRY_REFUSALS:
                    continue  # this DN alone cannot be read (its add then names why): the rest goes on
                return FlextResult.fail(read.error or "", read.error_code, read.error_data)
            found += read.value
        return FlextResult.ok(found)

    def read_one(self, dn: str, names: Iterable[str]) -> FlextResult[TargetEntry | None]:
        """The entry ``dn`` (a base search), or None when it does not exist."""
        wanted = ["*", *sorted({name.lower() for name in names} & self.schema.operational)]
        read = self._search(dn, "(objectClass=*)", wanted, what=f"reading {dn!r}", scope="BASE")
        if read.is_failure:
            return FlextResult.fail(read.error or "", read.error_code, read.error_data)
        return FlextResult.ok(read.value[0] if read.value else None)

    def dns(self, base: str) -> Iterator[FlextResult[str]]:
        """Every DN at or under ``base`` (paged, ``_PAGE`` a page); a failure ends the iteration."""
        from ldap3 import SUBTREE

        cookie: bytes | None = None
        while True:
            try:
                self._connection.search(
                    base, "(objectClass=*)", SUBTREE, attributes=["1.1"], paged_size=_PAGE,
                    paged_cookie=cookie,
                )  # fmt: skip
            except _ldap_errors() as exc:
                yield self._lost(exc, f"listing the entries under {base!r}")
                return
            result = self._connection.result
            if result["result"] == _NO_SUCH_OBJECT:
                return
            if result["result"] != 0:
                yield self._refused_search(result, f"listing the entries under {base!r}")
                return
            for response in self._connection.response or ():
                if response.get("type") == "searchResEntry":
                    yield FlextResult.ok(str(response["dn"]))
            control = result.get("controls", {}).get("1.2.840.113556.1.4.319", {})
            cookie = control.get("value", {}).get("cookie") or None
            if not cookie:
                return

    def pages(self, base: str, names: Iterable[str]) -> Iterator[FlextResult[list[TargetEntry]]]:
        """Every entry at or under ``base``, a page (``_PAGE`` entries) at a time, on a connection of its own.

        The user attributes and the operational ones among ``names``, as ``read`` returns them. A
        connection of its own so that the paged search's state on the server is not disturbed by the
        adds and modifies of this one meanwhile. A failure ends the iteration; a missing base is no page.
        """
        if self._opener is None:
            yield FlextResult.fail(f"the target {self.url}: no second connection can be opened")
            return
        opened = self._opener()
        if opened.is_failure:
            yield FlextResult.fail(opened.error or "", opened.error_code, opened.error_data)
            return
        wanted = ["*", *sorted({name.lower() for name in names} & self.schema.operational)]
        reading = Directory(opened.value, self.url, self.schema)
        connection = opened.value
        cookie: bytes | None = None
        try:
            while True:
                what = f"reading the entries under {base!r}"
                try:
                    entries, result, cookie = _page(connection, base, wanted, cookie)
                except _ldap_errors() as exc:
                    yield reading._lost(exc, what)
                    return
                if result["result"] == _NO_SUCH_OBJECT:
                    return
                if result["result"] != 0:
                    yield reading._refused_search(result, what)
                    return
                yield FlextResult.ok(entries)
                if not cookie:
                    return
        finally:
            reading.close()

    def pipeline(self, window: int | None = None) -> AddPipeline:
        """Adds with several requests in flight on this connection (``pipeline.AddPipeline``).

        Drain it before any other operation of this ``Directory``: they share the connection.
        """
        from flext_plugin_algar.pipeline import WINDOW, AddPipeline

        return AddPipeline(self._connection, self._lost, _ldap_errors(), window=window or WINDOW)

    def add(self, dn: str, attributes: Mapping[str, Sequence[Value]]) -> FlextResult[Refusal | None]:
        """Add an entry: None when done, a ``Refusal`` when the server refused it; a failure when lost."""
        request = {name: list(values) for name, values in attributes.items()}
        return self._apply(
            lambda: self._connection.add(dn, None, request),  # type: ignore[no-untyped-call]  # stubs lack it
            dn,
        )

    def modify(self, dn: str, modifications: Sequence[Change]) -> FlextResult[Refusal | None]:
        """Apply ``modifications`` to ``dn`` in one modify operation (atomic on the server)."""
        from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE

        kinds = {"add": MODIFY_ADD, "delete": MODIFY_DELETE, "replace": MODIFY_REPLACE}
        request: dict[str, list[tuple[str, list[Value]]]] = {}
        for change in modifications:
            request.setdefault(change.attribute, []).append((kinds[change.operation], list(change.values)))
        return self._apply(
            lambda: self._connection.modify(dn, request),  # type: ignore[no-untyped-call]  # stubs lack it
            dn,
        )

    def delete(self, dn: str) -> FlextResult[Refusal | None]:
        """Delete the entry ``dn`` (a leaf): None when done, a ``Refusal`` when refused."""
        return self._apply(
            lambda: self._connection.delete(dn),  # type: ignore[no-untyped-call]  # stubs lack it
            dn,
        )

    def rename(
        self, dn: str, new_rdn: str, *, delete_old_rdn: bool = True, new_superior: str | None = None
    ) -> FlextResult[Refusal | None]:
        """Rename ``dn`` to ``new_rdn`` (modrdn), under ``new_superior`` when given."""
        return self._apply(
            lambda: self._connection.modify_dn(
                dn, new_rdn, delete_old_dn=delete_old_rdn, new_superior=new_superior
            ),
            dn,
        )

    def close(self) -> None:
        """Unbind (quietly when the server is gone already) and close the socket.

        ldap3 leaves the socket of a failed connect or a lost connection open; it is closed here.
        """
        with contextlib.suppress(*_ldap_errors()):
            self._connection.unbind()
        opened = getattr(self._connection, "socket", None)
        if opened is not None:
            with contextlib.suppress(OSError):
                opened.close()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _apply(self, operation: Callable[[], Any], dn: str) -> FlextResult[Refusal | None]:
        try:
            operation()
        except _ldap_errors() as exc:
            return self._lost(exc, f"writing {dn!r}")
        result = self._connection.result
        if result["result"] == 0:
            return FlextResult.ok(None)
        return FlextResult.ok(
            Refusal(int(result["result"]), str(result.get("description", "")), str(result.get("message", "")))
        )

    def _search(
        self, base: str, flt: str, attributes: list[str], *, what: str, scope: _Scope = "SUBTREE"
    ) -> FlextResult[list[TargetEntry]]:
        try:
            self._connection.search(base, flt, scope, attributes=attributes)
        except _ldap_errors() as exc:
            return self._lost(exc, what)
        result = self._connection.result
        if result["result"] == _NO_SUCH_OBJECT:  # the base is not there (yet): nothing under it either
            return FlextResult.ok([])
        if result["result"] != 0:
            return self._refused_search(result, what)
        return FlextResult.ok([
            TargetEntry(
                str(response["dn"]),
                {name.lower(): tuple(values) for name, values in response["raw_attributes"].items()},
            )
            for response in self._connection.response or ()
            if response.get("type") == "searchResEntry"
        ])  # fmt: skip

    def _lost(self, exc: Exception, what: str) -> FlextResult[Any]:
        return FlextResult.fail(
            f"the target {self.url} went away while {what}: {_reason(exc)}; run the command again "
            "once the server is back (what was applied stays, and nothing is applied twice)",
            error_code=LDAP_CONNECTION_LOST,
            error_data={"url": self.url},
        )

    def _refused_search(self, result: Mapping[str, Any], what: str) -> FlextResult[Any]:
        return FlextResult.fail(
            f"the target {self.url} refused the search {what}: {result.get('description')} "
            f"({result.get('result')}) {result.get('message') or ''}".rstrip(),
            error_code=LDAP_OPERATION_FAILED,
            error_data={"url": self.url, "result": result.get("result")},
        )


def _page(
    connection: Connection, base: str, attributes: list[str], cookie: bytes | None
) -> tuple[list[TargetEntry], dict[str, Any], bytes | None]:
    """One page of a paged subtree search: its entries (raw values), its result, the next cookie.

    Sent and read through ldap3's strategy, but the entries are taken from ldap3's fast BER decoding
    as raw bytes, without the text ``attributes`` dict ``Connection.search`` also builds for every
    entry (``to_unicode`` of every value: a third of a second sync's CPU, which uses the raw ones).
    """
    from ldap3 import DEREF_NEVER, SUBTREE
    from ldap3.operation.search import search_operation
    from ldap3.protocol.rfc2696 import paged_search_control
    from ldap3.utils.asn1 import decode_message_fast

    strategy: Any = connection.strategy
    request = search_operation(
        base, "(objectClass=*)", SUBTREE, DEREF_NEVER, attributes, 0, 0, False, True, True
    )
    message_id = strategy.send("searchRequest", request, [paged_search_control(False, _PAGE, cookie)])
    strategy._outstanding.pop(message_id, None)  # answered here, not through ldap3's bookkeeping
    entries: list[TargetEntry] = []
    while True:
        for raw in strategy.receiving():
            message = decode_message_fast(raw)  # type: ignore[no-untyped-call]  # ldap3 ships no types
            kind = message["protocolOp"]
            if kind == _SEARCH_RESULT_ENTRY:
                payload = message["payload"]
                entries.append(
                    TargetEntry(
                        bytes(payload[0][3]).decode("utf-8", errors="surrogateescape"),
                        {
                            bytes(item[3][0][3]).decode("utf-8").lower(): tuple(
                                bytes(v[3]) for v in item[3][1][3]
                            )
                            for item in payload[1][3]
                        },
                    )
                )
            elif kind == _SEARCH_RESULT_DONE:
                result: dict[str, Any] = strategy.decode_response_fast(message)
                paged = (result.get("controls") or {}).get(_PAGED_RESULTS, {}).get("value", {})
                return entries, result, bytes(paged.get("cookie") or b"") or None
            # a search result reference (a referral) is not followed: sync compares what is here


def connect(project: Project) -> FlextResult[Directory]:
    """Bind to ``project.target`` with the password its secret reference names, and read the schema.

    Two connections: the first reads the schema; the one returned has none, because ldap3 rewrites
    values it can validate against a schema (``true`` becomes ``TRUE`` for a Boolean), and sync
    sends the values of the LDIF byte for byte, as its dry run shows them.
    """
    _import_ldap3()
    from ldap3 import NONE, SCHEMA

    target = project.target
    secret = resolve_secret(target.bind_password, project.directory)
    if secret.is_failure:
        return FlextResult.fail(
            f"target.bind_password: {secret.error}", error_code=secret.error_code or NOT_FOUND
        )
    url = target.url.rstrip("/")
    reading = _bind(url, target.bind_dn, secret.value, SCHEMA)
    if reading.is_failure:
        return FlextResult.fail(reading.error or "", reading.error_code, reading.error_data)
    schema = _schema(reading.value.server)
    Directory(reading.value, url, schema).close()
    password = secret.value

    def opener() -> FlextResult[Connection]:
        return _bind(url, target.bind_dn, password, NONE)

    working = opener()
    if working.is_failure:
        return FlextResult.fail(working.error or "", working.error_code, working.error_data)
    return FlextResult.ok(Directory(working.value, url, schema, opener))


def _bind(url: str, bind_dn: str, password: str, info: Any) -> FlextResult[Connection]:
    from ldap3 import Connection, Server

    connection = Connection(
        Server(url, get_info=info, connect_timeout=_TIMEOUT),
        user=bind_dn,
        password=password,
        receive_timeout=_TIMEOUT * 4,
        raise_exceptions=False,
        check_names=False,
        auto_referrals=False,
        read_only=False,
    )
    try:
        opened = connection.bind()
    except _ldap_errors() as exc:
        opened, reason = False, _reason(exc)
    else:
        reason = ""
    if opened:
        return FlextResult.ok(connection)
    result = connection.result or {}
    Directory(connection, url, Schema()).close()  # the socket, when the server answered the bind
    if reason or not result:
        return FlextResult.fail(
            f"cannot reach the target {url}: {reason or 'no answer'}; check target.url in algar.yaml "
            "and that the server runs",
            error_code=LDAP_UNREACHABLE,
            error_data={"url": url},
        )
    return FlextResult.fail(
        f"the target {url} refused the bind as {bind_dn!r}: {result.get('description')} "
        f"({result.get('result')}); check target.bind_dn and the secret target.bind_password refers to",
        error_code=LDAP_BIND_FAILED,
        error_data={"url": url, "bind_dn": bind_dn},
    )


def differences(
    source: Mapping[str, Sequence[Value]],
    target: Mapping[str, Sequence[bytes]],
    normal: Callable[[str], str | None],
    schema: Schema = Schema(),
) -> list[Difference]:
    """The attributes whose values differ between ``source`` and ``target``, by name.

    ``target`` holds the user attributes and the operational ones the source names; an operational
    attribute the source entry does not have is the server's own business and never differs.
    """
    wanted = {name.lower(): values for name, values in source.items()}
    found = {name.lower(): values for name, values in target.items()}
    done: list[Difference] = []
    for name in sorted(wanted.keys() | found.keys()):
        if name not in wanted and name.split(";", 1)[0] in schema.operational:
            continue
        key = _key(name, normal, schema)
        mine = {key(value): value for value in wanted.get(name, ())}
        theirs = {key(value): value for value in found.get(name, ())}
        if mine.keys() != theirs.keys():
            done.append(
                Difference(
                    name,
                    tuple(wanted.get(name, ())),
                    tuple(found.get(name, ())),
                    tuple(mine[k] for k in mine if k not in theirs),
                    tuple(theirs[k] for k in theirs if k not in mine),
                )
            )
    return done


def changes(
    source: Mapping[str, Sequence[Value]],
    target: Mapping[str, Sequence[bytes]],
    normal: Callable[[str], str | None],
    schema: Schema = Schema(),
) -> list[Change]:
    """What makes ``target`` equal ``source`` (see ``differences``), as modifications.

    Per attribute: absent on the target, ``add``; absent in the source, ``delete``; both, and few
    values differ (a big group gained a member), ``delete`` the surplus then ``add`` the missing;
    else ``replace``. Deleted values are the target's own bytes, so the server matches them.
    """
    done: list[Change] = []
    for difference in differences(source, target, normal, schema):
        name = difference.attribute
        if not difference.target:
            done.append(Change("add", name, difference.source))
        elif not difference.source:
            done.append(Change("delete", name, ()))
        elif len(difference.missing) + len(difference.surplus) < len(difference.source):
            if difference.surplus:
                done.append(Change("delete", name, difference.surplus))
            if difference.missing:
                done.append(Change("add", name, difference.missing))
        else:
            done.append(Change("replace", name, difference.source))
    return done


def _key(name: str, normal: Callable[[str], str | None], schema: Schema) -> Callable[[Value], bytes | str]:
    base = name.split(";", 1)[0]
    if base == "objectclass" or base in schema.boolean:
        return lambda value: _bytes(value).lower()
    if base in schema.dn:

        def dn(value: Value) -> bytes | str:
            text = value if isinstance(value, str) else value.decode("utf-8", errors="surrogateescape")
            return normal(text) or _bytes(value)

        return dn
    return _bytes


def _bytes(value: Value) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _schema(server: Any) -> Schema:
    """What the server's schema says about comparing: operational, DN and Boolean attribute names."""
    from ldap3.protocol.oid import (
        ATTRIBUTE_DIRECTORY_OPERATION,
        ATTRIBUTE_DISTRIBUTED_OPERATION,
        ATTRIBUTE_DSA_OPERATION,
    )

    operational_usages = (
        ATTRIBUTE_DIRECTORY_OPERATION,
        ATTRIBUTE_DISTRIBUTED_OPERATION,
        ATTRIBUTE_DSA_OPERATION,
    )
    types: Mapping[str, Any] = getattr(getattr(server, "schema", None), "attribute_types", None) or {}
    operational: set[str] = set()
    dn = set(DN_ATTRIBUTES)
    boolean: set[str] = set()
    for definition in types.values():
        names = {name.lower() for name in definition.name or ()}
        if definition.usage in operational_usages:
            operational |= names
        syntax = _syntax(types, definition)
        if syntax == _DN_SYNTAX:
            dn |= names
        elif syntax == _BOOLEAN_SYNTAX:
            boolean |= names
    return Schema(frozenset(operational), frozenset(dn), frozenset(boolean))


def _syntax(types: Mapping[str, Any], definition: Any) -> str | None:
    """The attribute type's syntax OID, inherited from its superiors when it declares none."""
    for _ in range(16):  # superior chains are short; a loop in a broken schema must not hang
        if definition.syntax:
            return str(definition.syntax).split("{", 1)[0]
        superior = (definition.superior or [None])[0]
        if superior is None or superior not in types:
            return None
        definition = types[superior]
    return None


def _import_ldap3() -> None:
    """Import ldap3 once without its import-time DeprecationWarning (2.9.1 uses names pyasn1 0.6 renamed)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="ldap3")
        import ldap3  # noqa: F401  (cached in sys.modules: later imports are silent)


def _ldap_errors() -> tuple[type[Exception], ...]:
    from ldap3.core.exceptions import LDAPException

    return (LDAPException, OSError)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
