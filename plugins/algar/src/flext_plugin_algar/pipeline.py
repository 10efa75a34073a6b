"""Adds with several requests in flight on one bound ldap3 connection: ``sync`` as fast as ``ldapadd``.

Why not ``connection.add``: ldap3 builds every request as pyasn1 objects and
encodes them with pyasn1's BER encoder, 0.66 ms of CPU for an average migrated
entry on this machine, more than the server takes to store it; and its
synchronous strategy waits for each answer before sending the next request.
An LDAP AddRequest (RFC 4511, 4.7) is a fixed shape of octet strings, so
``encode_add`` writes its BER directly (0.04 ms an entry, byte for byte what
pyasn1 writes: a test compares the two). The bytes go out on ldap3's own
socket (TLS included) with message ids from ldap3's own counter, and the
answers are read with ldap3's own receiver and fast decoder, so the
connection is still ldap3's for everything else once the pipeline is drained.

The order constraint: the server may process the requests of one connection
in parallel, so a child sent while its parent's add is unanswered could be
refused (noSuchObject). ``AddPipeline.send`` therefore first waits for the
answer to the parent's add when that is still in flight (the file is sorted
parents first; siblings go together). At most ``window`` requests are in
flight, each sent at once (``TCP_NODELAY``, as libldap does: Nagle's algorithm
would hold a small request until the answer to the one before it came).
``drain`` waits for every answer: after it, nothing is outstanding and the
caller may use the connection for anything (a read, a modify).
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from flext_sdk import FlextResult

if TYPE_CHECKING:
    from ldap3 import Connection

__all__ = ["AddAnswer", "AddPipeline", "encode_add", "parent_of"]

WINDOW: Final = 32
"""Requests in flight at most. Measured on slapd (5,000 entries, 2 shared CPUs): 8 in flight took
twice as long as 64 on a loaded machine; on a quieter one 32 did best (3.9 to 4.4 s, against 4.4 to
5.9 s for 64 and 3.8 to 5.4 s for 16): more requests than the server's threads only contend for its
one writer."""
_ADD_RESPONSE: Final = 9
_ESCAPED_OR_COMMA: Final = re.compile(r"\\.|,")


@dataclass(frozen=True, slots=True)
class AddAnswer:
    """The server's answer to one add: the caller's token, the LDAP result code, its name and message."""

    token: Hashable
    """What the caller gave ``send`` with this add (a record)."""
    code: int
    """0 when added."""
    name: str
    """The result's name (``entryAlreadyExists``)."""
    message: str
    """The server's diagnostic message."""


def parent_of(normal_dn: str) -> str | None:
    """The parent of a normal DN (None at the top); an escaped comma is part of its RDN."""
    if "\\" not in normal_dn:
        _, comma, parent = normal_dn.partition(",")
        return parent or None if comma else None
    for match in _ESCAPED_OR_COMMA.finditer(normal_dn):
        if match.group() == ",":
            return normal_dn[match.end() :] or None
    return None


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _octets(value: str | bytes) -> bytes:
    return _tlv(0x04, value if isinstance(value, bytes) else value.encode("utf-8"))


def encode_add(message_id: int, dn: str, attributes: Mapping[str, Iterable[str | bytes]]) -> bytes:
    """The BER of ``LDAPMessage { messageID, addRequest { entry, attributes } }`` (RFC 4511, 4.7).

    Text values go as UTF-8, bytes as they are: what ``connection.add`` would send without a schema.
    """
    listed = b"".join(
        _tlv(0x30, _octets(name) + _tlv(0x31, b"".join(_octets(value) for value in values)))
        for name, values in attributes.items()
    )
    request = _tlv(0x68, _octets(dn) + _tlv(0x30, listed))  # [APPLICATION 8] constructed
    identifier = message_id.to_bytes((message_id.bit_length() + 8) // 8, "big")  # two's complement, positive
    return _tlv(0x30, _tlv(0x02, identifier) + request)


class AddPipeline:
    """Adds in flight on ``connection`` (module docstring); each method returns the answers that came."""

    def __init__(
        self,
        connection: Connection,
        lost: Callable[[Exception, str], FlextResult[Any]],
        errors: tuple[type[Exception], ...],
        *,
        window: int = WINDOW,
    ) -> None:
        self._connection = connection
        self._lost = lost
        """Makes the failure of a lost connection (``Directory``'s, so every message says the same)."""
        self._errors = errors
        self._window = max(1, window)
        self._flight: dict[int, tuple[Hashable, str]] = {}
        """Message id to (token, normal DN) of each add not yet answered."""
        self._pending: dict[str, int] = {}
        """Normal DN to message id of each add not yet answered (the parents a child may wait for)."""
        with contextlib.suppress(OSError, AttributeError):  # not a TCP socket (ldapi://): nothing to tune
            connection.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def in_flight(self) -> int:
        """Adds sent and not yet answered."""
        return len(self._flight)

    def send(
        self, token: Hashable, dn: str, normal: str, attributes: Mapping[str, Sequence[str | bytes]]
    ) -> FlextResult[list[AddAnswer]]:
        """Send the add of ``dn`` once its parent's add is answered and the window has room."""
        answers: list[AddAnswer] = []
        parent = parent_of(normal)
        while (parent is not None and parent in self._pending) or len(self._flight) >= self._window:
            got = self._receive()
            if got.is_failure:
                return got
            answers += got.value
        message_id = int(self._connection.server.next_message_id())
        try:
            self._connection.socket.sendall(encode_add(message_id, dn, attributes))
        except self._errors as exc:
            return self._lost(exc, f"writing {dn!r}")
        self._flight[message_id] = (token, normal)
        self._pending[normal] = message_id
        return FlextResult.ok(answers)

    def drain(self) -> FlextResult[list[AddAnswer]]:
        """Wait for the answer to every add in flight."""
        answers: list[AddAnswer] = []
        while self._flight:
            got = self._receive()
            if got.is_failure:
                return got
            answers += got.value
        return FlextResult.ok(answers)

    def _receive(self) -> FlextResult[list[AddAnswer]]:
        """The answers of at least one message (ldap3's receiver reads until no message is left partial)."""
        from ldap3.utils.asn1 import decode_message_fast

        strategy: Any = self._connection.strategy
        try:
            messages = strategy.receiving()
        except self._errors as exc:
            return self._lost(exc, "waiting for the answers to the adds in flight")
        try:
            return FlextResult.ok(self._answers(strategy, messages, decode_message_fast))
        except _Unusable as exc:
            return self._lost(exc, "waiting for the answers to the adds in flight")
        except self._errors as exc:  # an answer ldap3 cannot decode
            return self._lost(exc, "reading the answers to the adds in flight")

    def _answers(
        self, strategy: Any, messages: Sequence[bytes], decode: Callable[..., Any]
    ) -> list[AddAnswer]:
        answers: list[AddAnswer] = []
        for raw in messages:
            message = decode(raw)
            flown = self._flight.pop(int(message["messageID"]), None)
            if flown is None or message["protocolOp"] != _ADD_RESPONSE:
                # a notice of disconnection (id 0) or an answer to nothing sent: the session is not usable
                result = strategy.decode_response_fast(message)
                raise _Unusable(f"{result.get('description')}: {result.get('message') or ''}".rstrip(": "))
            token, normal = flown
            if self._pending.get(normal) == int(message["messageID"]):
                del self._pending[normal]
            result = strategy.decode_response_fast(message)
            code, name, said = (
                int(result["result"]),
                str(result.get("description", "")),
                result.get("message"),
            )
            answers.append(AddAnswer(token, code, name, str(said or "")))
        return answers


class _Unusable(ConnectionError):
    """The server ended the session (a notice of disconnection) or answered something not sent."""
