"""UpcasterRegistry: bring stored payloads written by older code up to today's shape.

A stored event or snapshot keeps the ``schema_version`` its class had when it
was written. When a class changes shape incompatibly, its author raises the
class's ``schema_version`` and registers one *upcaster* per old version: a
function from a payload of version ``n`` to one of version ``n + 1``. Reading
then applies the chain ``v1 -> v2 -> v3`` until the payload fits the class.
Stored data is never rewritten; upcasting happens on every read.

Upcasters are keyed by a *type name*: an event class's ``message_type_name``
or an aggregate class's ``aggregate_type_name`` (for snapshots). Passing the
class instead of the name does the lookup for you.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flext_kernel.errors import ALREADY_REGISTERED, DESERIALIZATION_ERROR, FlextError
from flext_kernel.result import Failure, FlextResult, Success
from flext_kernel.serialization import Upcaster

__all__ = ["UpcasterRegistry"]

F = TypeVar("F", bound=Callable[[dict[str, Any]], dict[str, Any]])


def type_name_of(item: type | str) -> str:
    """Return the type name of an event class, an aggregate class, or a name given as text."""
    if isinstance(item, str):
        return item
    from flext_eventsourcing.aggregate import FlextAggregateRoot, aggregate_type_name
    from flext_kernel.messages import FlextMessage, message_type_name

    if issubclass(item, FlextMessage):
        return message_type_name(item)
    if issubclass(item, FlextAggregateRoot):
        return aggregate_type_name(item)
    raise FlextError(f"{item!r} is neither a message class nor an aggregate class")


class UpcasterRegistry:
    """Upcasters by (type name, version they read); applied one version at a time."""

    __slots__ = ("_owners", "_upcasters")

    def __init__(self) -> None:
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._owners: dict[tuple[str, int], str | None] = {}

    def add(
        self, type_: type | str, from_version: int, upcaster: Upcaster, *, owner: str | None = None
    ) -> None:
        """Register ``upcaster`` to turn version ``from_version`` payloads of ``type_`` into the next version.

        Raises:
            FlextError: ``from_version`` is below 1, or an upcaster for that
                type and version is already registered (``ALREADY_REGISTERED``).

        """
        if from_version < 1:
            raise FlextError(f"from_version must be 1 or more, not {from_version}")
        key = (type_name_of(type_), from_version)
        existing = self._upcasters.get(key)
        if existing is not None and existing is not upcaster:
            raise FlextError(
                f"an upcaster for {key[0]} from version {from_version} is already registered",
                ALREADY_REGISTERED,
            )
        self._upcasters[key] = upcaster
        self._owners[key] = owner

    def register(self, type_: type | str, from_version: int, *, owner: str | None = None) -> Callable[[F], F]:
        """Decorator form of ``add``: ``@upcasters.register(Renamed, 1)``."""

        def decorate(upcaster: F) -> F:
            self.add(type_, from_version, upcaster, owner=owner)
            return upcaster

        return decorate

    def remove_owner(self, owner: str) -> int:
        """Forget every upcaster registered with ``owner``; return how many."""
        doomed = [key for key, registered_by in self._owners.items() if registered_by == owner]
        for key in doomed:
            del self._upcasters[key]
            del self._owners[key]
        return len(doomed)

    def versions(self, type_: type | str) -> list[int]:
        """Return the versions that have an upcaster for ``type_``, sorted."""
        name = type_name_of(type_)
        return sorted(version for (key, version) in self._upcasters if key == name)

    def upcast(
        self, type_name: str, version: int, payload: dict[str, Any], target_version: int
    ) -> FlextResult[dict[str, Any]]:
        """Apply upcasters to ``payload`` from ``version`` until it reaches ``target_version``.

        Fails with ``DESERIALIZATION_ERROR`` when the payload is newer than the
        code (a downgrade) or a step of the chain has no upcaster. Exceptions
        raised by an upcaster are bugs and propagate.
        """
        if version > target_version:
            return Failure(
                f"{type_name} was stored with schema_version {version}, "
                f"newer than this code's {target_version}",
                DESERIALIZATION_ERROR,
                {"type": type_name, "schema_version": version, "target_version": target_version},
            )
        while version < target_version:
            upcaster = self._upcasters.get((type_name, version))
            if upcaster is None:
                return Failure(
                    f"no upcaster for {type_name} from schema_version {version} to {version + 1}",
                    DESERIALIZATION_ERROR,
                    {"type": type_name, "schema_version": version, "target_version": target_version},
                )
            payload = upcaster(payload)
            version += 1
        return Success(payload)
