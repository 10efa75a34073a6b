"""EventCodec: the one place where events and snapshots become stored rows and back.

Backends store and return ``StoredEvent`` and ``StoredSnapshot`` rows and never
look inside them; this module owns the format:

* an event's row holds its stable type name (``message_type_name``), its
  class's ``schema_version`` and the whole event as JSON text
  (``model_dump_json``, with ``version`` set to its place in the stream);
* decoding looks the type name up in the codec's registry, runs the
  registered upcasters when the stored ``schema_version`` is older than the
  class's, and validates; anything that fails becomes an ``UnknownEvent``
  carrying the raw payload, so nothing is ever dropped;
* a snapshot's row holds the aggregate's type name, its ``schema_version`` and
  its state as JSON text; snapshots of registered aggregate classes are upcast
  the same way.

Reading needs the classes registered (``register``, or ``register_aggregate``,
which also registers every event class the aggregate has a ``@when`` method
for); writing does not.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from flext_eventsourcing.aggregate import FlextAggregateRoot, aggregate_type_name
from flext_eventsourcing.eventstore import (
    RecordedEvent,
    Snapshot,
    StoredEvent,
    StoredSnapshot,
    StreamDeleted,
    UnknownEvent,
)
from flext_eventsourcing.upcasting import UpcasterRegistry
from flext_kernel.errors import (
    ALREADY_REGISTERED,
    DESERIALIZATION_ERROR,
    UNKNOWN_MESSAGE_TYPE,
    VALIDATION_ERROR,
    FlextError,
)
from flext_kernel.messages import FlextDomainEvent, field_errors, message_type_name, summarize_errors
from flext_kernel.result import Failure, FlextResult, Success

__all__ = ["EventCodec", "PendingAppend"]

EventT = TypeVar("EventT", bound=type[FlextDomainEvent])
AggregateT = TypeVar("AggregateT", bound=type[FlextAggregateRoot])

_BUILTIN_EVENTS: tuple[type[FlextDomainEvent], ...] = (StreamDeleted,)
_CARRIED_FIELDS = ("occurred_at", "aggregate_type", "correlation_id", "causation_id", "metadata")


class EventCodec:
    """Registry of event and aggregate classes by type name, plus the upcasters to read old rows.

    Args:
        event_classes: event classes to register right away (with no owner).
        upcasters: the upcaster registry to use (a new, empty one by default).

    """

    __slots__ = ("__weakref__", "_aggregates", "_classes", "_names", "_owners", "upcasters")

    def __init__(
        self,
        event_classes: Iterable[type[FlextDomainEvent]] = (),
        *,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self.upcasters = upcasters if upcasters is not None else UpcasterRegistry()
        """Upcasters for events (by event type name) and snapshots (by aggregate type name)."""
        self._classes: dict[str, type[FlextDomainEvent]] = {}
        self._aggregates: dict[str, type[FlextAggregateRoot]] = {}
        self._owners: dict[str, str | None] = {}
        self._names: dict[type[FlextDomainEvent], str] = {}
        for builtin in _BUILTIN_EVENTS:
            self.register(builtin)
        for event_class in event_classes:
            self.register(event_class)

    # Registry.

    def register(self, event_class: EventT, *, owner: str | None = None) -> EventT:
        """Register an event class under its type name; return it (works as a decorator).

        Registering the same class again is a no-op.

        Raises:
            FlextError: it is not a ``FlextDomainEvent`` subclass, or another
                class has its name (``ALREADY_REGISTERED``; unregister it first).

        """
        if not (isinstance(event_class, type) and issubclass(event_class, FlextDomainEvent)):
            raise FlextError(f"{event_class!r} is not a FlextDomainEvent subclass")
        name = message_type_name(event_class)
        self._claim(self._classes, name, event_class)
        self._classes[name] = event_class
        self._owners.setdefault(name, owner)
        return event_class

    def register_aggregate(self, aggregate_class: AggregateT, *, owner: str | None = None) -> AggregateT:
        """Register an aggregate class (for snapshot upcasting) and every event class it handles."""
        if not (isinstance(aggregate_class, type) and issubclass(aggregate_class, FlextAggregateRoot)):
            raise FlextError(f"{aggregate_class!r} is not a FlextAggregateRoot subclass")
        name = aggregate_type_name(aggregate_class)
        self._claim(self._aggregates, name, aggregate_class)
        for event_class in aggregate_class.handled_event_types():
            if event_class is not FlextDomainEvent:
                self.register(event_class, owner=owner)
        self._aggregates[name] = aggregate_class
        self._owners.setdefault(f"aggregate:{name}", owner)
        return aggregate_class

    @staticmethod
    def _claim(registry: dict[str, Any], name: str, cls: type) -> None:
        existing = registry.get(name)
        if existing is not None and existing is not cls:
            raise FlextError(
                f"type name {name!r} is already registered to {existing.__module__}.{existing.__qualname__}",
                ALREADY_REGISTERED,
            )

    def unregister(self, item: type[FlextDomainEvent] | type[FlextAggregateRoot] | str) -> bool:
        """Forget an event class, aggregate class or event type name; return True if it was known."""
        if isinstance(item, type) and issubclass(item, FlextAggregateRoot):
            return self._forget(f"aggregate:{aggregate_type_name(item)}")
        return self._forget(item if isinstance(item, str) else message_type_name(item))

    def remove_owner(self, owner: str) -> int:
        """Forget every class and upcaster registered with ``owner``; return how many classes.

        What unplugging a plugin calls (``flext_contributions_removed``), so
        that the plugin's next version can register its own classes under the
        same names.
        """
        doomed = [name for name, registered_by in list(self._owners.items()) if registered_by == owner]
        for name in doomed:
            self._forget(name)
        self.upcasters.remove_owner(owner)
        return len(doomed)

    def remove_modules(self, modules: Collection[str]) -> int:
        """Forget the event and aggregate classes defined in ``modules``, whoever registered them.

        For code that is being unloaded (a plugin hot-reloaded): a class
        registered without an owner (a projection runner registers the classes
        its projections handle that way) would otherwise keep its type name
        from the class that replaces it. Returns how many classes were forgotten.
        """
        wanted = set(modules)
        # list() copies in one step: another thread may register while this runs.
        aggregates, classes = list(self._aggregates.items()), list(self._classes.items())
        doomed = [f"aggregate:{name}" for name, cls in aggregates if cls.__module__ in wanted]
        doomed += [name for name, cls in classes if cls.__module__ in wanted]
        for name in doomed:
            self._forget(name)
        for cls in [cls for cls in list(self._names) if cls.__module__ in wanted]:
            self._names.pop(cls, None)  # encoded without being registered
        return len(doomed)

    def _forget(self, key: str) -> bool:
        """Drop one registration (``aggregate:NAME`` for an aggregate class); True if it was there."""
        self._owners.pop(key, None)
        if key.startswith("aggregate:"):
            return self._aggregates.pop(key.removeprefix("aggregate:"), None) is not None
        cls = self._classes.pop(key, None)
        if cls is None:
            return False
        self._names.pop(cls, None)  # the cache would keep an unloaded class alive
        return True

    def names(self) -> list[str]:
        """Return the registered event type names, sorted."""
        return sorted(self._classes)

    def event_class(self, type_name: str) -> type[FlextDomainEvent] | None:
        """Return the event class registered under ``type_name``, or None."""
        return self._classes.get(type_name)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._classes
        if isinstance(item, type) and issubclass(item, FlextDomainEvent):
            return self._classes.get(message_type_name(item)) is item
        if isinstance(item, type) and issubclass(item, FlextAggregateRoot):
            return self._aggregates.get(aggregate_type_name(item)) is item
        return False

    # Events.

    def prepare(self, stream_id: object, events: Sequence[object]) -> FlextResult[PendingAppend]:
        """Check a batch for ``append`` and encode it; ``VALIDATION_ERROR`` says what is wrong."""
        if not isinstance(stream_id, str) or not stream_id:
            return _invalid(f"stream_id must be a non-empty string, not {stream_id!r}")
        ids: list[UUID] = []
        for index, event in enumerate(events):
            if not isinstance(event, FlextDomainEvent):
                return _invalid(f"event #{index} is a {type(event).__name__}, not a FlextDomainEvent")
            if event.aggregate_id != stream_id:
                return _invalid(
                    f"event #{index} ({type(event).__name__}) belongs to aggregate "
                    f"{event.aggregate_id!r}, not to stream {stream_id!r}"
                )
            ids.append(event.event_id)
        if len(ids) > 1 and len(set(ids)) != len(ids):
            twice = next(event_id for event_id in ids if ids.count(event_id) > 1)
            return _invalid(f"event id {twice} appears twice in one append")
        return Success(PendingAppend(self, stream_id, events))  # type: ignore[arg-type]  # checked above

    def type_of(self, event: FlextDomainEvent) -> tuple[str, int]:
        """Return the (type name, schema version) an event is stored under."""
        if isinstance(event, UnknownEvent):
            return event.event_type, event.stored_schema_version
        cls = type(event)
        name = self._names.get(cls)
        if name is None:
            name = self._names[cls] = message_type_name(cls)
        return name, cls.schema_version

    def encode(self, event: FlextDomainEvent) -> StoredEvent:
        """Return the row of ``event`` at its own ``version`` (position 0: not stored yet)."""
        event_type, schema_version = self.type_of(event)
        data = _data(event)
        return StoredEvent(
            event.aggregate_id, event.version, _id_text(event, data), event_type, schema_version, data
        )

    def decode(self, row: StoredEvent) -> RecordedEvent:
        """Turn a stored row into a ``RecordedEvent``; never fails (see ``UnknownEvent``)."""
        cls = self._classes.get(row.event_type)
        event: FlextDomainEvent
        if cls is None:
            event = _unknown(
                row, f"no event class is registered for {row.event_type!r}", UNKNOWN_MESSAGE_TYPE
            )
        elif row.schema_version == cls.schema_version:
            try:
                event = cls.model_validate_json(row.data)
            except ValidationError as exc:
                event = _unknown(row, _misfit(row.event_type, exc), DESERIALIZATION_ERROR)
        else:
            event = self._decode_old(row, cls)
        return RecordedEvent(
            row.position, row.stream_id, row.version, row.event_type, row.schema_version, row.data, event
        )

    def decode_all(self, rows: Iterable[StoredEvent]) -> list[RecordedEvent]:
        """``decode`` every row, in order (the read and replay hot path)."""
        classes, decode = self._classes, self.decode
        recorded: list[RecordedEvent] = []
        append = recorded.append
        for row in rows:
            stream_id, version, _, event_type, schema_version, data, position = row
            cls = classes.get(event_type)
            if cls is None or schema_version != cls.schema_version:
                append(decode(row))  # unknown or old: the general path
                continue
            try:
                # What model_validate_json does with its defaults, minus its Python wrapper.
                event = cls.__pydantic_validator__.validate_json(data)
            except ValidationError:
                append(decode(row))  # reports the misfit as an UnknownEvent
                continue
            append(RecordedEvent(position, stream_id, version, event_type, schema_version, data, event))
        return recorded

    def _decode_old(self, row: StoredEvent, cls: type[FlextDomainEvent]) -> FlextDomainEvent:
        try:
            payload = json.loads(row.data)
        except ValueError as exc:
            return _unknown(row, f"stored data of {row.event_type} is not JSON: {exc}", DESERIALIZATION_ERROR)
        upcast = self.upcasters.upcast(row.event_type, row.schema_version, payload, cls.schema_version)
        if not upcast.is_success:
            return _unknown(row, upcast.error or "", upcast.error_code or DESERIALIZATION_ERROR)
        try:
            return cls.model_validate_json(json.dumps(upcast.value, allow_nan=True))
        except ValidationError as exc:
            return _unknown(row, _misfit(row.event_type, exc), DESERIALIZATION_ERROR)

    # Snapshots.

    def encode_snapshot(self, snapshot: Snapshot) -> StoredSnapshot:
        """Return the row of ``snapshot``."""
        return StoredSnapshot(
            snapshot.stream_id,
            snapshot.version,
            snapshot.aggregate_type,
            snapshot.schema_version,
            json.dumps(snapshot.state, separators=(",", ":"), allow_nan=True),
            snapshot.taken_at.astimezone(UTC).isoformat(),
        )

    def decode_snapshot(self, row: StoredSnapshot) -> FlextResult[Snapshot]:
        """Turn a stored row into a ``Snapshot``, upcast if its aggregate class is registered.

        Fails with ``DESERIALIZATION_ERROR`` when the state is not JSON or an
        upcaster is missing.
        """
        try:
            state = json.loads(row.state)
        except ValueError as exc:
            return Failure(
                f"stored snapshot of {row.stream_id!r} is not JSON: {exc}",
                DESERIALIZATION_ERROR,
                {"stream_id": row.stream_id},
            )
        schema_version = row.schema_version
        cls = self._aggregates.get(row.aggregate_type)
        if cls is not None and schema_version != cls.schema_version:
            upcast = self.upcasters.upcast(row.aggregate_type, schema_version, state, cls.schema_version)
            if not upcast.is_success:
                return upcast  # type: ignore[return-value]  # a failure carries no value
            state, schema_version = upcast.value, cls.schema_version
        taken_at = datetime.fromisoformat(row.taken_at)
        return Success(
            Snapshot(row.stream_id, row.version, row.aggregate_type, schema_version, state, taken_at)
        )


class PendingAppend:
    """A checked batch of events, encoded once, placed in the stream only when its version is known.

    Backends get one from ``EventStoreBase`` inside their write transaction:
    ``rows(after_version)`` returns the rows numbered from ``after_version + 1``,
    re-encoding only the events whose ``version`` field was not already right.
    """

    __slots__ = ("_codec", "_data", "_event_ids", "events", "stream_id")

    def __init__(self, codec: EventCodec, stream_id: str, events: Sequence[FlextDomainEvent]) -> None:
        self._codec = codec
        self.stream_id = stream_id
        """The stream the batch goes to."""
        self.events = tuple(events)
        """The events, in order."""
        self._data: list[str | None] = [None] * len(self.events)
        self._event_ids: list[str] | None = None

    def __len__(self) -> int:
        return len(self.events)

    @property
    def event_ids(self) -> list[str]:
        """Their ids as text, in order, as the rows hold them (asked for only to look them up)."""
        if self._event_ids is None:
            self._event_ids = [str(event.event_id) for event in self.events]
        return self._event_ids

    def rows(self, after_version: int) -> list[StoredEvent]:
        """Return the rows of the batch placed right after ``after_version``."""
        # The append hot path: what _data_at and type_of do, inlined, with the type of each class
        # looked up once per batch (an UnknownEvent carries its own type, so it is asked each time).
        stream_id, cached = self.stream_id, self._data
        type_of = self._codec.type_of
        types: dict[type[FlextDomainEvent], tuple[str, int]] = {}
        rows: list[StoredEvent] = []
        append = rows.append
        version = after_version
        for index, event in enumerate(self.events):
            version += 1
            cls = type(event)
            stored_as = types.get(cls)
            if stored_as is None:
                stored_as = type_of(event)
                if not issubclass(cls, UnknownEvent):
                    types[cls] = stored_as
            if event.version == version:
                data = cached[index]
                if data is None:
                    data = cached[index] = _data(event)
            else:
                data = _data(event.model_copy(update={"version": version}))
            event_id = _id_text(event, data)
            append(StoredEvent(stream_id, version, event_id, stored_as[0], stored_as[1], data))
        return rows

    def matches(self, index: int, stored: StoredEvent) -> bool:
        """True if event ``index`` of the batch is the event ``stored`` (same stream, type and content)."""
        event_type, schema_version = self._codec.type_of(self.events[index])
        return (
            stored.stream_id == self.stream_id
            and stored.event_type == event_type
            and stored.schema_version == schema_version
            and stored.data == self._data_at(index, stored.version)
        )

    def _data_at(self, index: int, version: int) -> str:
        event = self.events[index]
        if event.version == version:
            cached = self._data[index]
            if cached is None:
                cached = self._data[index] = _data(event)
            return cached
        return _data(event.model_copy(update={"version": version}))


_ID_OPENING = '{"event_id":"'
_ID_START = len(_ID_OPENING)
_ID_END = _ID_START + 36  # the standard text of a UUID, then the closing quote


def _id_text(event: FlextDomainEvent, data: str) -> str:
    """The event's id as rows hold it, ``str(event.event_id)``, cut from the event's JSON ``data``.

    pydantic writes ``event_id`` first (the first field of ``FlextDomainEvent``)
    in the standard 36-character form, the same text ``str()`` gives, and
    ``UUID.__str__``, in Python, took about a tenth of an append of 100
    events. An ``UnknownEvent``'s JSON is its raw payload, written by
    somebody else, so its id goes through ``str()``, as does any JSON that
    does not start so.
    """
    if data.startswith(_ID_OPENING) and not isinstance(event, UnknownEvent):
        return data[_ID_START:_ID_END]
    return str(event.event_id)


def _data(event: FlextDomainEvent) -> str:
    if isinstance(event, UnknownEvent):
        payload = {**event.payload, "version": event.version}
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
    # model_dump_json() with its defaults, minus the keyword plumbing of its Python wrapper.
    return event.__pydantic_serializer__.to_json(event).decode()


def _invalid(message: str) -> FlextResult[Any]:
    return Failure(message, VALIDATION_ERROR)


def _misfit(event_type: str, exc: ValidationError) -> str:
    return f"stored {event_type} does not fit its class: {summarize_errors(field_errors(exc))}"


def _unknown(row: StoredEvent, reason: str, error_code: str) -> UnknownEvent:
    try:
        loaded = json.loads(row.data)
    except ValueError:
        loaded = None
    payload: dict[str, Any] = loaded if isinstance(loaded, dict) else {"raw": row.data}
    fields: dict[str, Any] = {
        "event_id": row.event_id,
        "aggregate_id": row.stream_id,
        "version": row.version,
        "event_type": row.event_type,
        "stored_schema_version": row.schema_version,
        "payload": payload,
        "reason": reason,
        "error_code": error_code,
    }
    carried = {name: payload[name] for name in _CARRIED_FIELDS if name in payload}
    try:
        return UnknownEvent.model_validate({**fields, **carried})
    except ValidationError:
        # The envelope fields of a malformed payload are not worth losing the event for.
        try:
            return UnknownEvent.model_validate(fields)
        except ValidationError:
            fields["payload"] = {"raw": row.data}
            return UnknownEvent.model_validate(fields)
