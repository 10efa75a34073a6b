"""Messages to and from JSON and msgpack envelopes: ``{"type", "schema_version", "payload"}``.

Encoding is a function of the message; decoding maps type names back to classes
through a ``MessageRegistry``, and never raises for bad input (an upcaster's
exception is a bug, and propagates). See docs/kernel/messages.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Final, TypeAlias, TypeVar

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type hints
from pydantic import ValidationError

from flext_kernel.errors import ALREADY_REGISTERED, DESERIALIZATION_ERROR, UNKNOWN_MESSAGE_TYPE, FlextError
from flext_kernel.messages import FlextMessage, field_errors, message_type_name, summarize_errors
from flext_kernel.result import Failure, FlextResult, Success

__all__ = ["MessageRegistry", "Upcaster", "to_envelope", "to_json", "to_msgpack"]

M = TypeVar("M", bound=FlextMessage)
Upcaster: TypeAlias = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns a payload of schema version ``n`` into one of version ``n + 1``."""

_BIG_INT_EXT: Final = 1
"""msgpack extension code of an integer too large for 64 bits (decimal ASCII text)."""
_ENVELOPE_KEYS: Final = frozenset({"type", "schema_version", "payload"})
# Everything the JSON and msgpack decoders raise on bad input, translated in
# exactly one place (_decode) into a DESERIALIZATION_ERROR failure.
_DECODE_ERRORS: Final = (ValueError, TypeError, RecursionError, OverflowError, msgpack.UnpackException)


def to_envelope(message: FlextMessage) -> dict[str, Any]:
    """Return the envelope of ``message`` as a dict of JSON-compatible values."""
    cls = type(message)
    return {
        "type": message_type_name(cls),
        "schema_version": cls.schema_version,
        "payload": message.model_dump(mode="json"),
    }


def to_json(message: FlextMessage) -> str:
    """Return the envelope of ``message`` as compact JSON text."""
    cls = type(message)
    return (
        f'{{"type":{json.dumps(message_type_name(cls))},"schema_version":{cls.schema_version:d},'
        f'"payload":{message.model_dump_json()}}}'
    )


def to_msgpack(message: FlextMessage) -> bytes:
    """Return the envelope of ``message`` as msgpack bytes; every Python int survives the round trip."""
    packed: bytes = msgpack.packb(to_envelope(message), use_bin_type=True, default=_pack_big_int)
    return packed


def _pack_big_int(value: object) -> object:
    if isinstance(value, int):
        return msgpack.ExtType(_BIG_INT_EXT, str(value).encode("ascii"))
    raise TypeError(f"cannot pack {type(value).__name__}")


def _unpack_ext(code: int, data: bytes) -> object:
    if code == _BIG_INT_EXT:
        return int(data.decode("ascii"))
    raise ValueError(f"unknown msgpack extension type {code}")


_unpack: Final = partial(msgpack.unpackb, raw=False, ext_hook=_unpack_ext)


class MessageRegistry:
    """Maps type names to message classes and decodes envelopes; ``message_classes`` get no owner."""

    __slots__ = ("_classes", "_owners", "_upcasters")

    def __init__(self, message_classes: Iterable[type[FlextMessage]] = ()) -> None:
        self._classes: dict[str, type[FlextMessage]] = {}
        self._owners: dict[str, str | None] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for message_class in message_classes:
            self.register(message_class)

    def register(self, message_class: type[M], *, owner: str | None = None) -> type[M]:
        """Register ``message_class`` under its type name (again: no-op); return it, as a decorator would.

        Raises:
            FlextError: not a ``FlextMessage`` subclass, or another class has the name
                (``ALREADY_REGISTERED``; ``remove_owner``/``unregister`` it first).

        """
        if not (isinstance(message_class, type) and issubclass(message_class, FlextMessage)):
            raise FlextError(f"{message_class!r} is not a FlextMessage subclass")
        name = message_type_name(message_class)
        existing = self._classes.get(name)
        if existing is not None and existing is not message_class:
            raise FlextError(
                f"message type {name!r} is already registered to "
                f"{existing.__module__}.{existing.__qualname__}",
                ALREADY_REGISTERED,
            )
        self._classes[name] = message_class
        self._owners[name] = owner
        return message_class

    def add_upcaster(self, message_class: type[FlextMessage], from_version: int, upcaster: Upcaster) -> None:
        """Teach the registry to read version ``from_version`` payloads of ``message_class``.

        Decoding applies them one version at a time; they are forgotten with their class.
        """
        self._upcasters[(message_type_name(message_class), from_version)] = upcaster

    def unregister(self, message_class: type[FlextMessage] | str) -> bool:
        """Forget a class (or a type name) and its upcasters; return True if it was known."""
        name = message_class if isinstance(message_class, str) else message_type_name(message_class)
        self._owners.pop(name, None)
        self._upcasters = {key: fn for key, fn in self._upcasters.items() if key[0] != name}
        return self._classes.pop(name, None) is not None

    def remove_owner(self, owner: str) -> int:
        """Forget every class registered with ``owner``; return how many."""
        doomed = [name for name, registered_by in self._owners.items() if registered_by == owner]
        for name in doomed:
            self.unregister(name)
        return len(doomed)

    def names(self) -> list[str]:
        """Return the registered type names, sorted."""
        return sorted(self._classes)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._classes
        if isinstance(item, type) and issubclass(item, FlextMessage):
            return self._classes.get(message_type_name(item)) is item
        return False

    def from_envelope(self, envelope: object) -> FlextResult[FlextMessage]:
        """Decode an envelope dict back into a message of its registered class."""
        checked = _check_envelope(envelope)
        if isinstance(checked, Failure):
            return checked
        name, version, payload = checked.value
        message_class = self._classes.get(name)
        if message_class is None:
            return Failure(f"unknown message type {name!r}", UNKNOWN_MESSAGE_TYPE, {"type": name})
        upcast = self._upcast(message_class, name, version, payload)
        if isinstance(upcast, Failure):
            return upcast
        try:
            message = message_class.model_validate_json(json.dumps(upcast.value, allow_nan=True))
        except ValidationError as exc:
            errors = field_errors(exc)
            data = {"type": name, "errors": errors}
            return Failure(
                f"payload does not fit {name}: {summarize_errors(errors)}", DESERIALIZATION_ERROR, data
            )
        except _DECODE_ERRORS as exc:
            return _malformed(f"payload of {name} is not JSON-compatible", exc)
        return Success(message)

    def from_json(self, data: str | bytes) -> FlextResult[FlextMessage]:
        """Decode JSON text (or UTF-8 bytes) holding an envelope."""
        return self._decode(json.loads, data, "JSON")

    def from_msgpack(self, data: bytes) -> FlextResult[FlextMessage]:
        """Decode msgpack bytes holding an envelope."""
        return self._decode(_unpack, data, "msgpack")

    def _decode(self, load: Callable[[Any], object], data: object, fmt: str) -> FlextResult[FlextMessage]:
        try:
            envelope = load(data)
        except _DECODE_ERRORS as exc:
            return _malformed(f"data is not valid {fmt}", exc)
        return self.from_envelope(envelope)

    def _upcast(
        self, message_class: type[FlextMessage], name: str, version: int, payload: dict[str, Any]
    ) -> FlextResult[dict[str, Any]]:
        current = message_class.schema_version
        while version < current and (upcaster := self._upcasters.get((name, version))) is not None:
            payload = upcaster(payload)
            version += 1
        if version == current:
            return Success(payload)
        if version > current:
            problem = f"{name} payload has schema_version {version}, newer than this code's {current}"
        else:
            problem = f"no upcaster for {name} from schema_version {version} to {current}"
        return Failure(problem, DESERIALIZATION_ERROR, {"type": name, "schema_version": version})


def _malformed(message: str, exc: BaseException) -> FlextResult[Any]:
    detail = str(exc) or type(exc).__name__
    return Failure(f"{message}: {detail}", DESERIALIZATION_ERROR, {"exception_type": type(exc).__name__})


def _check_envelope(envelope: object) -> FlextResult[tuple[str, int, dict[str, Any]]]:
    """Return (type, schema_version, payload) of a well-formed envelope, or a failure saying what is wrong."""
    if not isinstance(envelope, dict):
        return _bad_envelope(f"expected an object, got {type(envelope).__name__}")
    keys = set(envelope)
    if keys != _ENVELOPE_KEYS:
        missing = sorted(map(str, _ENVELOPE_KEYS - keys))
        extra = sorted(map(str, keys - _ENVELOPE_KEYS))
        return _bad_envelope(f"missing keys {missing}, unexpected keys {extra}")
    name, version, payload = envelope["type"], envelope["schema_version"], envelope["payload"]
    if not isinstance(name, str) or not name:
        return _bad_envelope("'type' must be a non-empty string")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return _bad_envelope("'schema_version' must be a positive integer")
    if not isinstance(payload, dict):
        return _bad_envelope("'payload' must be an object")
    return Success((name, version, payload))


def _bad_envelope(problem: str) -> FlextResult[Any]:
    return Failure(
        f"malformed message envelope: {problem}", DESERIALIZATION_ERROR, {"expected": sorted(_ENVELOPE_KEYS)}
    )
