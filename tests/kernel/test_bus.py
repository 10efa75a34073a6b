"""Command and query buses: registration, dispatch, owners, async, the compiled pipelines."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import pytest

from flext_kernel.bus import FlextCommandBus, FlextQueryBus, Next
from flext_kernel.errors import NO_HANDLER, FlextBusError
from flext_kernel.messages import FlextCommand, FlextQuery, message_type_name
from flext_kernel.result import FlextResult


class CreateUser(FlextCommand):
    name: str


class CreateAdmin(CreateUser):
    pass


class DeleteUser(FlextCommand):
    name: str


class GetUser(FlextQuery):
    name: str


def create_user(command: CreateUser) -> FlextResult[str]:
    return FlextResult.ok(f"created {command.name}")


def other_create_user(command: CreateUser) -> FlextResult[str]:
    return FlextResult.ok("other")


async def create_user_async(command: CreateUser) -> FlextResult[str]:
    await asyncio.sleep(0)
    return FlextResult.ok(f"async {command.name}")


class CreateUserHandler:
    def __init__(self) -> None:
        self.seen: list[CreateUser] = []

    def handle(self, command: CreateUser) -> FlextResult[int]:
        self.seen.append(command)
        return FlextResult.ok(len(self.seen))


class Recorder:
    """A behaviour that records the order it ran in."""

    def __init__(self, log: list[str], tag: str) -> None:
        self.log = log
        self.tag = tag

    def handle(self, message: Any, next: Next) -> FlextResult[Any]:
        self.log.append(self.tag)
        return next(message)


def test_dispatch_calls_the_registered_function() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user)
    assert bus.dispatch(CreateUser(name="ada")) == FlextResult.ok("created ada")
    assert bus.has_handler(CreateUser)


def test_dispatch_calls_handle_of_a_handler_object() -> None:
    bus = FlextCommandBus()
    handler = CreateUserHandler()
    bus.register(CreateUser, handler)
    assert bus.dispatch(CreateUser(name="a")).value == 1
    assert bus.dispatch(CreateUser(name="b")).value == 2
    assert [c.name for c in handler.seen] == ["a", "b"]


def test_handler_may_be_a_lambda_or_partial() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, functools.partial(lambda prefix, c: FlextResult.ok(prefix + c.name), "hi "))
    assert bus.dispatch(CreateUser(name="ada")).value == "hi ada"


def test_dispatch_without_handler_is_a_no_handler_failure_naming_the_type() -> None:
    result = FlextCommandBus().dispatch(CreateUser(name="ada"))
    assert result.is_failure
    assert result.error_code == NO_HANDLER
    assert message_type_name(CreateUser) in (result.error or "")
    assert result.error_data == {"message_type": message_type_name(CreateUser)}


def test_handlers_match_the_exact_class_only() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user)
    assert bus.dispatch(CreateAdmin(name="root")).error_code == NO_HANDLER


def test_second_registration_raises_naming_both_handlers() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user, owner="users")
    with pytest.raises(FlextBusError) as caught:
        bus.register(CreateUser, other_create_user, owner="admin")
    message = str(caught.value)
    assert "create_user" in message
    assert "other_create_user" in message
    assert "'users'" in message
    assert "'admin'" in message
    assert "ALREADY_REGISTERED" in message
    assert bus.dispatch(CreateUser(name="x")).value == "created x"


def test_register_rejects_wrong_kinds() -> None:
    bus = FlextCommandBus()
    with pytest.raises(FlextBusError, match="not a FlextCommand"):
        bus.register(GetUser, create_user)  # type: ignore[type-var,arg-type]
    with pytest.raises(FlextBusError, match="is a class"):
        bus.register(CreateUser, CreateUserHandler)  # type: ignore[arg-type]
    with pytest.raises(FlextBusError, match="neither callable"):
        bus.register(CreateUser, 42)  # type: ignore[arg-type]


def test_handler_exceptions_propagate() -> None:
    bus = FlextCommandBus()

    def broken(command: CreateUser) -> FlextResult[None]:
        raise KeyError("bug")

    bus.register(CreateUser, broken)
    with pytest.raises(KeyError, match="bug"):
        bus.dispatch(CreateUser(name="x"))


def test_handler_failures_are_returned_unchanged() -> None:
    bus = FlextCommandBus()
    failure: FlextResult[Any] = FlextResult.fail("taken", error_code="CONFLICT", error_data={"name": "x"})
    bus.register(CreateUser, lambda command: failure)
    assert bus.dispatch(CreateUser(name="x")) is failure


def test_unregister_removes_the_handler() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user)
    assert bus.dispatch(CreateUser(name="x")).is_success
    assert bus.unregister(CreateUser) is True
    assert bus.unregister(CreateUser) is False
    assert bus.dispatch(CreateUser(name="x")).error_code == NO_HANDLER
    bus.register(CreateUser, other_create_user)
    assert bus.dispatch(CreateUser(name="x")).value == "other"


def test_remove_owner_removes_only_that_owners_handlers_and_behaviours() -> None:
    bus = FlextCommandBus()
    log: list[str] = []
    bus.register(CreateUser, create_user, owner="users")
    bus.register(DeleteUser, lambda c: FlextResult.ok("deleted"), owner="admin")
    bus.use(Recorder(log, "users-behaviour"), owner="users")
    bus.use(Recorder(log, "kept"))
    assert bus.remove_owner("users") == 2
    assert bus.remove_owner("users") == 0
    assert bus.dispatch(CreateUser(name="x")).error_code == NO_HANDLER
    assert bus.dispatch(DeleteUser(name="x")).value == "deleted"
    assert log == ["kept"]


def test_query_bus_executes_queries() -> None:
    bus = FlextQueryBus()
    bus.register(GetUser, lambda query: FlextResult.ok({"name": query.name}), owner="users")
    assert bus.execute(GetUser(name="ada")).value == {"name": "ada"}
    missing = FlextQueryBus().execute(GetUser(name="ada"))
    assert missing.error_code == NO_HANDLER
    assert "query" in (missing.error or "")
    with pytest.raises(FlextBusError, match="ALREADY_REGISTERED"):
        bus.register(GetUser, lambda query: FlextResult.ok(None))
    with pytest.raises(FlextBusError, match="not a FlextQuery"):
        bus.register(CreateUser, create_user)  # type: ignore[type-var]
    assert bus.remove_owner("users") == 1
    assert bus.execute(GetUser(name="ada")).error_code == NO_HANDLER


def test_query_bus_async() -> None:
    bus = FlextQueryBus()

    async def get_user(query: GetUser) -> FlextResult[str]:
        return FlextResult.ok(query.name)

    bus.register(GetUser, get_user)
    assert asyncio.run(bus.execute_async(GetUser(name="ada"))).value == "ada"
    with pytest.raises(FlextBusError, match="execute_async"):
        bus.execute(GetUser(name="ada"))
    assert asyncio.run(FlextQueryBus().execute_async(GetUser(name="x"))).error_code == NO_HANDLER


def test_dispatch_async_awaits_async_handlers_and_calls_sync_ones() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user_async)
    bus.register(DeleteUser, lambda c: FlextResult.ok("sync"))
    assert asyncio.run(bus.dispatch_async(CreateUser(name="ada"))).value == "async ada"
    assert asyncio.run(bus.dispatch_async(DeleteUser(name="ada"))).value == "sync"
    assert asyncio.run(FlextCommandBus().dispatch_async(CreateUser(name="x"))).error_code == NO_HANDLER


def test_async_handler_object_and_async_callable_are_detected() -> None:
    class AsyncHandler:
        async def handle(self, command: CreateUser) -> FlextResult[str]:
            return FlextResult.ok("object")

    class AsyncCallable:
        async def __call__(self, command: DeleteUser) -> FlextResult[str]:
            return FlextResult.ok("callable")

    bus = FlextCommandBus()
    bus.register(CreateUser, AsyncHandler())
    bus.register(DeleteUser, AsyncCallable())
    assert asyncio.run(bus.dispatch_async(CreateUser(name="x"))).value == "object"
    assert asyncio.run(bus.dispatch_async(DeleteUser(name="x"))).value == "callable"
    with pytest.raises(FlextBusError, match="is async"):
        bus.dispatch(DeleteUser(name="x"))


def test_sync_dispatch_of_an_async_handler_raises() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user_async)
    with pytest.raises(FlextBusError, match="dispatch_async"):
        bus.dispatch(CreateUser(name="x"))


def test_async_handler_exceptions_propagate() -> None:
    bus = FlextCommandBus()

    async def broken(command: CreateUser) -> FlextResult[None]:
        raise ValueError("bug")

    bus.register(CreateUser, broken)
    with pytest.raises(ValueError, match="bug"):
        asyncio.run(bus.dispatch_async(CreateUser(name="x")))


def test_pipeline_is_compiled_once_per_type_and_rebuilt_on_change() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user)
    command = CreateUser(name="x")
    bus.dispatch(command)
    compiled = bus._pipelines[CreateUser]
    for _ in range(10):
        bus.dispatch(command)
    assert bus._pipelines[CreateUser] is compiled
    assert list(bus._pipelines) == [CreateUser]

    log: list[str] = []
    bus.use(Recorder(log, "added"))
    assert CreateUser not in bus._pipelines
    bus.dispatch(command)
    assert bus._pipelines[CreateUser] is not compiled
    assert log == ["added"]

    bus.register(DeleteUser, lambda c: FlextResult.ok(None))
    assert dict(bus._pipelines) == {}


def test_without_behaviours_the_pipeline_is_the_handler_itself() -> None:
    bus = FlextCommandBus()
    handler = CreateUserHandler()
    bus.register(CreateUser, handler)
    bus.dispatch(CreateUser(name="x"))
    assert bus._pipelines[CreateUser] == handler.handle


def test_buses_are_independent() -> None:
    first, second = FlextCommandBus(), FlextCommandBus()
    first.register(CreateUser, create_user)
    assert second.dispatch(CreateUser(name="x")).error_code == NO_HANDLER


def test_dispatch_from_many_threads_while_registrations_change() -> None:
    bus = FlextCommandBus()
    bus.register(CreateUser, create_user)
    errors: list[BaseException] = []
    stop = threading.Event()

    def dispatcher() -> None:
        try:
            while not stop.is_set():
                assert bus.dispatch(CreateUser(name="x")).value == "created x"
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for index in range(200):
        bus.register(DeleteUser, create_user, owner=f"o{index}")
        bus.use(Recorder([], "t"), owner=f"o{index}")
        bus.remove_owner(f"o{index}")
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
