"""Handler decorators and register_handlers: inference, collection, owners, all-or-nothing."""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Any

import pytest

from flext_kernel.bus import FlextCommandBus, FlextEventBus, FlextQueryBus
from flext_kernel.errors import NO_HANDLER, FlextBusError
from flext_kernel.handlers import (
    HandlerSpec,
    command_handler,
    event_handler,
    handler_specs,
    query_handler,
    register_handlers,
)
from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextQuery
from flext_kernel.result import FlextResult


class CreateUser(FlextCommand):
    name: str


class DeleteUser(FlextCommand):
    name: str


class GetUser(FlextQuery):
    name: str


class UserCreated(FlextDomainEvent):
    pass


class UserDeleted(FlextDomainEvent):
    pass


@command_handler
def create_user(command: CreateUser) -> FlextResult[str]:
    return FlextResult.ok(f"created {command.name}")


@command_handler(DeleteUser)
def delete_user(command):  # type: ignore[no-untyped-def]  # the explicit form needs no annotation
    return FlextResult.ok(f"deleted {command.name}")


@query_handler()
def get_user(query: GetUser) -> FlextResult[dict[str, str]]:
    return FlextResult.ok({"name": query.name})


@event_handler
def on_any_user_event(event: UserCreated | UserDeleted) -> None:
    SEEN.append(("any", type(event).__name__))


SEEN: list[tuple[str, str]] = []


@pytest.fixture(autouse=True)
def _clear_seen() -> Iterator[None]:
    SEEN.clear()
    yield
    SEEN.clear()


def buses() -> dict[str, Any]:
    return {"command_bus": FlextCommandBus(), "query_bus": FlextQueryBus(), "event_bus": FlextEventBus()}


def test_decorators_only_mark_and_return_the_target() -> None:
    assert handler_specs(create_user) == (HandlerSpec("command", None),)
    assert handler_specs(delete_user) == (HandlerSpec("command", DeleteUser),)
    assert handler_specs(get_user) == (HandlerSpec("query", None),)
    assert create_user(CreateUser(name="x")).value == "created x"


def test_register_functions_with_inferred_and_explicit_types() -> None:
    wiring = buses()
    count = register_handlers([create_user, delete_user, get_user, on_any_user_event], **wiring)
    assert count == 5  # the union annotation subscribes to two event classes
    assert wiring["command_bus"].dispatch(CreateUser(name="a")).value == "created a"
    assert wiring["command_bus"].dispatch(DeleteUser(name="a")).value == "deleted a"
    assert wiring["query_bus"].execute(GetUser(name="a")).value == {"name": "a"}
    wiring["event_bus"].publish(UserCreated(aggregate_id="u"))
    wiring["event_bus"].publish(UserDeleted(aggregate_id="u"))
    assert SEEN == [("any", "UserCreated"), ("any", "UserDeleted")]


def test_classes_are_instantiated_and_methods_of_instances_are_bound() -> None:
    @command_handler
    class CreateUserHandler:
        def handle(self, command: CreateUser) -> FlextResult[str]:
            return FlextResult.ok("by class")

    class Projection:
        def __init__(self) -> None:
            self.names: list[str] = []

        @event_handler
        def on_created(self, event: UserCreated) -> None:
            self.names.append("created")

        @event_handler(UserDeleted)
        @event_handler(UserCreated)
        def on_any(self, event: FlextDomainEvent) -> None:
            self.names.append("any")

        def not_a_handler(self, event: UserCreated) -> None:
            raise AssertionError("unmarked methods are not subscribed")

    projection = Projection()
    wiring = buses()
    assert register_handlers([CreateUserHandler, projection], **wiring) == 4
    assert wiring["command_bus"].dispatch(CreateUser(name="a")).value == "by class"
    wiring["event_bus"].publish(UserCreated(aggregate_id="u"))
    wiring["event_bus"].publish(UserDeleted(aggregate_id="u"))
    assert sorted(projection.names) == ["any", "any", "created"]


def test_factory_builds_marked_classes() -> None:
    @query_handler(GetUser)
    class GetUserHandler:
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix

        def handle(self, query: GetUser) -> FlextResult[str]:
            return FlextResult.ok(self.prefix + query.name)

    wiring = buses()
    register_handlers(GetUserHandler, factory=lambda cls: cls("hi "), **wiring)
    assert wiring["query_bus"].execute(GetUser(name="ada")).value == "hi ada"


MODULE_SOURCE = """
from flext_kernel.handlers import command_handler, event_handler
from flext_kernel.result import FlextResult
from fake_plugin_messages import CreateUser, UserCreated, create_user as imported_handler

@command_handler
def create(command: CreateUser) -> FlextResult[str]:
    return FlextResult.ok("from module")

@event_handler
class Audit:
    def handle(self, event: UserCreated) -> None:
        AUDITED.append(event.aggregate_id)

AUDITED = []

def helper(command: CreateUser) -> None:
    raise AssertionError("unmarked functions are not registered")
"""


@pytest.fixture
def plugin_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    shared = types.ModuleType("fake_plugin_messages")
    shared.__dict__.update({"CreateUser": CreateUser, "UserCreated": UserCreated, "create_user": create_user})
    module = types.ModuleType("fake_plugin_handlers")
    monkeypatch.setitem(sys.modules, shared.__name__, shared)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(textwrap.dedent(MODULE_SOURCE), module.__dict__)
    return module


def test_register_a_module_skips_imported_and_unmarked_objects(plugin_module: types.ModuleType) -> None:
    wiring = buses()
    assert register_handlers(plugin_module, owner="fake", **wiring) == 2
    assert wiring["command_bus"].dispatch(CreateUser(name="a")).value == "from module"
    wiring["event_bus"].publish(UserCreated(aggregate_id="u-9"))
    assert plugin_module.AUDITED == ["u-9"]
    assert wiring["command_bus"].remove_owner("fake") == 1
    assert wiring["event_bus"].remove_owner("fake") == 1
    assert wiring["command_bus"].dispatch(CreateUser(name="a")).error_code == NO_HANDLER


def test_missing_bus_raises_before_registering_anything() -> None:
    commands = FlextCommandBus()
    with pytest.raises(FlextBusError, match="no query_bus"):
        register_handlers([create_user, get_user], command_bus=commands)
    assert not commands.has_handler(CreateUser)


def test_a_conflict_rolls_back_everything_registered_by_the_call() -> None:
    wiring = buses()
    wiring["command_bus"].register(DeleteUser, lambda c: FlextResult.ok("existing"))
    with pytest.raises(FlextBusError, match="ALREADY_REGISTERED"):
        register_handlers([create_user, on_any_user_event, delete_user], **wiring)
    assert not wiring["command_bus"].has_handler(CreateUser)
    assert wiring["event_bus"].subscribers(UserCreated) == []
    assert wiring["command_bus"].dispatch(DeleteUser(name="x")).value == "existing"


def test_inference_errors_are_clear() -> None:
    @command_handler
    def unannotated(command):  # type: ignore[no-untyped-def]
        return FlextResult.ok(None)

    @command_handler
    def wrong_kind(query: GetUser) -> FlextResult[None]:
        return FlextResult.ok(None)

    @event_handler
    def unresolvable(event: NoSuchEvent) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    @command_handler
    class NoHandle:
        pass

    with pytest.raises(FlextBusError, match="no annotated first parameter"):
        register_handlers(unannotated, **buses())
    with pytest.raises(FlextBusError, match="not a FlextCommand subclass"):
        register_handlers(wrong_kind, **buses())
    with pytest.raises(FlextBusError, match="cannot read the annotations"):
        register_handlers(unresolvable, **buses())
    with pytest.raises(FlextBusError, match="no handle method"):
        register_handlers(NoHandle, **buses())


def test_a_subclass_does_not_inherit_its_bases_mark() -> None:
    @command_handler
    class Base:
        def handle(self, command: CreateUser) -> FlextResult[str]:
            return FlextResult.ok("base")

    class Child(Base):
        pass

    assert handler_specs(Base) == (HandlerSpec("command", None),)
    assert handler_specs(Child) == ()
    assert register_handlers(Child, **buses()) == 0


def test_unmarked_objects_register_nothing() -> None:
    assert register_handlers([object(), len, "text"], **buses()) == 0
