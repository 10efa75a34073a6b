"""FlextAggregateRoot: state that changes only by applying domain events.

An aggregate is a pydantic model whose fields are its state. Its command
methods check rules and *raise* events (``raise_event``); each event is applied
at once through the ``@when(EventType)`` method that handles it and kept as
*uncommitted* until a repository appends it to the event store. Loading an
aggregate replays its stored events through the same ``@when`` methods, so the
one place that changes state is the same for new and for past events::

    class Account(FlextAggregateRoot):
        balance: int = 0

        def deposit(self, amount: int) -> None:
            if amount <= 0:
                raise ValueError("deposit a positive amount")
            self.raise_event(Deposited, amount=amount)

        @when(Deposited)
        def _deposited(self, event: Deposited) -> None:
            self.balance += event.amount

Because the state is a pydantic model, a snapshot is just ``model_dump`` and
restoring one is validation; raise ``schema_version`` when the state's shape
changes and register a snapshot upcaster (``flext_eventsourcing.upcasting``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar, overload
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from flext_kernel.errors import NO_HANDLER, VALIDATION_ERROR, FlextError
from flext_kernel.messages import FlextDomainEvent

__all__ = ["FlextAggregateRoot", "aggregate_type_name", "when"]

E = TypeVar("E", bound=FlextDomainEvent)
A = TypeVar("A", bound="FlextAggregateRoot")
F = TypeVar("F", bound=Callable[..., None])

_WHEN_ATTRIBUTE = "__flext_when__"


def when(*event_types: type[FlextDomainEvent]) -> Callable[[F], F]:
    """Mark an aggregate method as the one that applies ``event_types`` to the state.

    The method takes the event and mutates ``self``; it must not raise for an
    event that was already accepted (replay calls it for every stored event).
    An event class is handled by the method for its own class, else by the
    method for its nearest base class.
    """
    if not event_types or not all(
        isinstance(t, type) and issubclass(t, FlextDomainEvent) for t in event_types
    ):
        raise FlextError("@when needs one or more FlextDomainEvent subclasses")

    def mark(method: F) -> F:
        setattr(method, _WHEN_ATTRIBUTE, (*getattr(method, _WHEN_ATTRIBUTE, ()), *event_types))
        return method

    return mark


def _private(aggregate: FlextAggregateRoot) -> dict[str, Any]:
    # Hot paths read and write the private attributes through pydantic's own dict of them:
    # attribute access would go through BaseModel.__getattr__/__setattr__ every time.
    return aggregate.__pydantic_private__  # type: ignore[return-value]  # a dict: the class has private attributes


def aggregate_type_name(aggregate_class: type[FlextAggregateRoot]) -> str:
    """Return an aggregate class's stable type name: its own ``aggregate_type``, else ``module.Qualname``."""
    own = aggregate_class.__dict__.get("aggregate_type")
    if isinstance(own, str) and own:
        return own
    return f"{aggregate_class.__module__}.{aggregate_class.__qualname__}"


class FlextAggregateRoot(BaseModel):
    """An event-sourced entity: an ``id``, a ``version`` and state changed only by events.

    Subclasses declare their state as pydantic fields (with defaults: a new
    aggregate starts empty and its first event fills it in), command methods
    that call ``raise_event``, and ``@when(EventType)`` methods that apply each
    event. ``version`` is the version of the last event applied, committed or
    not; a brand-new aggregate is at version 0.
    """

    model_config = ConfigDict(extra="forbid")

    aggregate_type: ClassVar[str | None] = None
    """Stable type name stored with events and snapshots; None means ``module.QualifiedName``."""
    schema_version: ClassVar[int] = 1
    """Version of the state's shape, stored with snapshots; raise it with a snapshot upcaster."""
    snapshot_every: ClassVar[int | None] = None
    """Snapshot every this many events, overriding the repository's setting; None: use the repository's."""

    id: str = Field(min_length=1)
    """Identity of the aggregate; also the id of its event stream. UUIDs are stored as text."""

    _version: int = PrivateAttr(default=0)
    _uncommitted: list[FlextDomainEvent] = PrivateAttr(default_factory=list)

    _appliers: ClassVar[dict[type[FlextDomainEvent], Callable[[Any, Any], None]]] = {}
    _type_name: ClassVar[str] = "flext_eventsourcing.aggregate.FlextAggregateRoot"

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, UUID) else value

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        appliers = dict(cls._appliers)  # inherited handlers first, own ones override them
        for value in cls.__dict__.values():
            for event_type in getattr(value, _WHEN_ATTRIBUTE, ()):
                appliers[event_type] = value
        cls._appliers = appliers
        cls._type_name = aggregate_type_name(cls)

    # State.

    def __eq__(self, other: object) -> bool:
        # Same class, same state, same version; uncommitted events do not make a difference.
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, FlextAggregateRoot)
        return self.__dict__ == other.__dict__ and self.version == other.version

    __hash__ = None  # type: ignore[assignment]  # mutable state: not hashable, like any mutable model

    @property
    def version(self) -> int:
        """Version of the last event applied (0 before the first one)."""
        version: int = _private(self)["_version"]
        return version

    @property
    def uncommitted_events(self) -> tuple[FlextDomainEvent, ...]:
        """Events raised since the aggregate was loaded or last saved, oldest first."""
        return tuple(_private(self)["_uncommitted"])

    @property
    def committed_version(self) -> int:
        """The version the event store holds: ``version`` minus the uncommitted events."""
        private = _private(self)
        version: int = private["_version"] - len(private["_uncommitted"])
        return version

    def mark_committed(self) -> None:
        """Forget the uncommitted events; a repository calls this after appending them."""
        _private(self)["_uncommitted"].clear()

    @classmethod
    def handled_event_types(cls) -> tuple[type[FlextDomainEvent], ...]:
        """The event classes this aggregate has ``@when`` methods for."""
        return tuple(cls._appliers)

    # Changing state.

    @overload
    def raise_event(self, event: E, /) -> E: ...
    @overload
    def raise_event(self, event: type[E], /, **fields: Any) -> E: ...
    def raise_event(self, event: E | type[E], /, **fields: Any) -> E:
        """Record a new event: fill in its stream fields, apply it, and keep it as uncommitted.

        Pass either an event class and its payload fields
        (``self.raise_event(Deposited, amount=5)``) or a built event. The event
        gets this aggregate's ``id`` and type and the next ``version``. If the
        ``@when`` method raises, nothing is recorded.

        Raises:
            FlextError: a built event names another aggregate (``VALIDATION_ERROR``),
                or no ``@when`` method handles its class (``NO_HANDLER``).

        """
        private = _private(self)
        cls = type(self)
        if isinstance(event, type):
            built: E = event(
                aggregate_id=self.id, aggregate_type=cls._type_name, version=private["_version"] + 1, **fields
            )
        else:
            if fields:
                raise FlextError("pass either a built event or an event class with fields, not both")
            if event.aggregate_id != self.id:
                raise FlextError(
                    f"event {type(event).__name__} is for aggregate {event.aggregate_id!r}, not {self.id!r}",
                    VALIDATION_ERROR,
                )
            update: dict[str, Any] = {"version": private["_version"] + 1}
            if event.aggregate_type is None:
                update["aggregate_type"] = cls._type_name
            built = event.model_copy(update=update)
        (cls._appliers.get(type(built)) or cls._applier_for(type(built)))(self, built)
        private["_version"] = built.version
        private["_uncommitted"].append(built)
        return built

    def apply(self, event: FlextDomainEvent) -> None:
        """Apply a stored event: call its ``@when`` method and move ``version`` to the event's.

        Raises:
            FlextError: the event does not directly follow ``version``
                (``VALIDATION_ERROR``), or no ``@when`` method handles it (``NO_HANDLER``).

        """
        version = self.version
        if event.version != version + 1:
            raise FlextError(
                f"{type(self).__name__} {self.id!r} is at version {version}; "
                f"cannot apply an event with version {event.version}",
                VALIDATION_ERROR,
                {"version": version, "event_version": event.version},
            )
        self._applier_for(type(event))(self, event)
        _private(self)["_version"] = event.version

    def apply_all(self, events: Iterable[FlextDomainEvent]) -> None:
        """Apply stored events in order (see ``apply``)."""
        private = _private(self)
        version: int = private["_version"]
        appliers = type(self)._appliers
        try:
            for event in events:
                # The replay loop: one dict lookup per event, version checked inline.
                if event.version != version + 1:
                    private["_version"] = version
                    self.apply(event)  # raises with the full message
                applier = appliers.get(type(event)) or self._applier_for(type(event))
                applier(self, event)
                version = event.version
        finally:
            private["_version"] = version

    @classmethod
    def _applier_for(cls, event_type: type[FlextDomainEvent]) -> Callable[[Any, Any], None]:
        applier = cls._appliers.get(event_type)
        if applier is not None:
            return applier
        for base in event_type.__mro__[1:]:
            applier = cls._appliers.get(base)
            if applier is not None:
                cls._appliers[event_type] = applier  # cache the subclass -> base handler match
                return applier
        raise FlextError(
            f"{cls.__name__} has no @when method for {event_type.__name__}",
            NO_HANDLER,
            {"aggregate": cls.__name__, "event_type": event_type.__name__},
        )

    # Snapshots.

    def snapshot_state(self) -> dict[str, Any]:
        """Return the state as JSON-compatible data (what a snapshot stores)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_snapshot_state(cls: type[A], state_json: str, version: int) -> A:
        """Rebuild an aggregate from stored snapshot state (JSON text) at ``version``."""
        aggregate = cls.model_validate_json(state_json)
        _private(aggregate)["_version"] = version
        return aggregate
