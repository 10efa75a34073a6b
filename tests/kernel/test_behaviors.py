"""Pipeline behaviours: ordering and filtering, then each shipped behaviour."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from pydantic import Field, SecretStr

from flext_kernel.behaviors import LoggingBehavior, QueryCachingBehavior, TimingBehavior, ValidationBehavior
from flext_kernel.bus import AsyncNext, FlextCommandBus, FlextEventBus, FlextQueryBus, Next
from flext_kernel.errors import VALIDATION_ERROR, FlextBusError
from flext_kernel.messages import FlextCommand, FlextDomainEvent, FlextQuery, message_type_name
from flext_kernel.result import FlextResult


class CreateUser(FlextCommand):
    name: str = Field(min_length=1)
    age: int = Field(ge=0)


class CreateAdmin(CreateUser):
    pass


class Login(FlextCommand):
    user: str
    password: SecretStr
    token: str = Field(repr=False)


class GetUser(FlextQuery):
    name: str


class FindUsers(FlextQuery):
    names: list[str]


class RenameUser(FlextCommand):
    name: str


class RenameAdmin(RenameUser):
    pass


class UserRenamed(FlextDomainEvent):
    pass


def ok_handler(message: Any) -> FlextResult[str]:
    return FlextResult.ok("handled")


class Tag:
    """Records its tag before and after the rest of the pipeline."""

    def __init__(self, log: list[str], tag: str) -> None:
        self.log = log
        self.tag = tag

    def handle(self, message: Any, next: Next) -> FlextResult[Any]:
        self.log.append(f"{self.tag}>")
        result = next(message)
        self.log.append(f"<{self.tag}")
        return result

    async def handle_async(self, message: Any, next: AsyncNext) -> FlextResult[Any]:
        self.log.append(f"{self.tag}>")
        result = await next(message)
        self.log.append(f"<{self.tag}")
        return result


# Pipeline mechanics.


def test_behaviours_run_in_the_order_added_around_the_handler() -> None:
    log: list[str] = []
    bus = FlextCommandBus()
    bus.register(CreateUser, lambda c: log.append("handler") or FlextResult.ok(None))
    bus.use(Tag(log, "a"))
    bus.use(Tag(log, "b"))
    bus.use(Tag(log, "c"))
    assert bus.dispatch(CreateUser(name="x", age=1)).is_success
    assert log == ["a>", "b>", "c>", "handler", "<c", "<b", "<a"]
    log.clear()
    assert asyncio.run(bus.dispatch_async(CreateUser(name="x", age=1))).is_success
    assert log == ["a>", "b>", "c>", "handler", "<c", "<b", "<a"]


def test_message_types_limit_a_behaviour_by_isinstance() -> None:
    log: list[str] = []
    bus = FlextCommandBus()
    bus.register(CreateUser, ok_handler)
    bus.register(CreateAdmin, ok_handler)
    bus.register(RenameUser, ok_handler)
    bus.use(Tag(log, "users"), message_types=[CreateUser])
    bus.dispatch(CreateUser(name="x", age=1))
    bus.dispatch(CreateAdmin(name="x", age=1))
    bus.dispatch(RenameUser(name="x"))
    assert log == ["users>", "<users", "users>", "<users"]


def test_use_accepts_one_class_and_refuses_non_behaviours() -> None:
    log: list[str] = []
    bus = FlextCommandBus()
    bus.register(RenameUser, ok_handler)
    bus.register(CreateUser, ok_handler)
    bus.use(Tag(log, "renames"), message_types=RenameUser)
    bus.dispatch(CreateUser(name="x", age=1))
    bus.dispatch(RenameUser(name="x"))
    assert log == ["renames>", "<renames"]
    with pytest.raises(FlextBusError, match="no handle method"):
        bus.use(ok_handler)  # type: ignore[arg-type]


def test_a_behaviour_may_short_circuit() -> None:
    class Deny:
        def handle(self, message: Any, next: Next) -> FlextResult[Any]:
            return FlextResult.fail("denied", error_code="FORBIDDEN")

    handled: list[object] = []
    bus = FlextCommandBus()
    bus.register(RenameUser, lambda c: handled.append(c) or FlextResult.ok(None))
    bus.use(Deny())
    assert bus.dispatch(RenameUser(name="x")).error_code == "FORBIDDEN"
    assert handled == []


def test_a_behaviour_may_pass_on_a_replaced_message() -> None:
    class Upper:
        def handle(self, message: Any, next: Next) -> FlextResult[Any]:
            return next(message.model_copy(update={"name": message.name.upper()}))

    bus = FlextCommandBus()
    bus.register(RenameUser, lambda c: FlextResult.ok(c.name))
    bus.use(Upper())
    assert bus.dispatch(RenameUser(name="ada")).value == "ADA"


def test_sync_only_behaviour_in_an_async_pipeline_raises() -> None:
    class SyncOnly:
        def handle(self, message: Any, next: Next) -> FlextResult[Any]:
            return next(message)

    bus = FlextCommandBus()
    bus.register(RenameUser, ok_handler)
    bus.use(SyncOnly())
    assert bus.dispatch(RenameUser(name="x")).is_success
    with pytest.raises(FlextBusError, match="handle_async"):
        asyncio.run(bus.dispatch_async(RenameUser(name="x")))


def test_remove_behavior() -> None:
    log: list[str] = []
    tag = Tag(log, "t")
    bus = FlextCommandBus()
    bus.register(RenameUser, ok_handler)
    bus.use(tag)
    bus.dispatch(RenameUser(name="x"))
    assert bus.remove_behavior(tag) is True
    assert bus.remove_behavior(tag) is False
    bus.dispatch(RenameUser(name="x"))
    assert log == ["t>", "<t"]


# ValidationBehavior.


def validated_bus(*behaviour_args: Any) -> FlextCommandBus:
    bus = FlextCommandBus()
    bus.register(CreateUser, ok_handler)
    bus.register(CreateAdmin, ok_handler)
    bus.use(ValidationBehavior(*behaviour_args))
    return bus


def test_validation_passes_valid_messages() -> None:
    assert validated_bus().dispatch(CreateUser(name="ada", age=36)).value == "handled"


def test_validation_catches_model_construct() -> None:
    result = validated_bus().dispatch(CreateUser.model_construct(name="", age=-1))
    assert result.error_code == VALIDATION_ERROR
    errors: Any = result.error_data["errors"]
    assert [e["loc"] for e in errors] == [["name"], ["age"]]
    assert {e["type"] for e in errors} == {"string_too_short", "greater_than_equal"}
    assert result.error_data["message_type"] == message_type_name(CreateUser)
    assert "age:" in (result.error or "")


def test_validation_catches_missing_fields_and_mutation() -> None:
    bus = validated_bus()
    assert bus.dispatch(CreateUser.model_construct(name="ada")).error_code == VALIDATION_ERROR
    command = CreateUser(name="ada", age=1)
    object.__setattr__(command, "age", "not a number")
    result = bus.dispatch(command)
    assert result.error_code == VALIDATION_ERROR
    assert "not a number" not in repr(result.error_data), "input values stay out of errors"


def test_validation_runs_custom_validators_on_instances_and_subclasses() -> None:
    def adult(command: CreateUser) -> FlextResult[None]:
        if command.age < 18:
            return FlextResult.fail("must be an adult", error_data={"loc": ["age"]})
        return FlextResult.ok(None)

    def no_root(command: CreateUser) -> FlextResult[None]:
        return (
            FlextResult.fail("root is reserved", error_code="RESERVED")
            if command.name == "root"
            else (FlextResult.ok(None))
        )

    bus = validated_bus({CreateUser: [adult, no_root]})
    assert bus.dispatch(CreateUser(name="ada", age=36)).is_success
    result = bus.dispatch(CreateAdmin(name="root", age=3))
    assert result.error_code == VALIDATION_ERROR
    errors: Any = result.error_data["errors"]
    assert [(e["loc"], e["msg"], e["type"]) for e in errors] == [
        (["age"], "must be an adult", VALIDATION_ERROR),
        ([], "root is reserved", "RESERVED"),
    ]
    assert errors[0]["validator"].endswith("adult")


def test_validation_pydantic_failure_skips_custom_validators() -> None:
    called: list[object] = []
    behaviour = ValidationBehavior({CreateUser: lambda c: called.append(c) or FlextResult.ok(None)})
    assert behaviour.check(CreateUser.model_construct(name="x")).is_failure
    assert called == []
    assert behaviour.check(CreateUser(name="x", age=1)).is_success
    assert len(called) == 1


def test_validation_add_and_scalar_validator_mapping() -> None:
    behaviour = ValidationBehavior({RenameUser: lambda c: FlextResult.ok(None)})
    assert behaviour.check(RenameUser(name="x")).is_success
    behaviour.add(RenameUser, lambda c: FlextResult.fail("no"))
    assert behaviour.check(RenameUser(name="x")).error_code == VALIDATION_ERROR


def test_validation_async_path() -> None:
    bus = validated_bus()
    assert asyncio.run(bus.dispatch_async(CreateUser(name="a", age=1))).is_success
    invalid = CreateUser.model_construct(name="", age=1)
    assert asyncio.run(bus.dispatch_async(invalid)).error_code == VALIDATION_ERROR


def test_validation_skips_pydantic_for_non_models() -> None:
    assert ValidationBehavior().check(object()).is_success


# LoggingBehavior.


def logged_bus(logger: logging.Logger, **options: Any) -> FlextCommandBus:
    bus = FlextCommandBus()
    bus.register(Login, ok_handler)
    bus.register(RenameUser, lambda c: FlextResult.fail("taken", error_code="CONFLICT"))

    def broken(command: CreateUser) -> FlextResult[None]:
        raise RuntimeError("bug")

    bus.register(CreateUser, broken)
    bus.use(LoggingBehavior(logger, **options))
    return bus


def test_logging_records_type_outcome_and_duration(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.bus.logging")
    bus = logged_bus(logger)
    with caplog.at_level(logging.INFO, logger=logger.name):
        bus.dispatch(Login(user="ada", password=SecretStr("hunter2"), token="t0ken"))
        bus.dispatch(RenameUser(name="x"))
        with pytest.raises(RuntimeError):
            bus.dispatch(CreateUser(name="x", age=1))
    records = caplog.records
    assert [r.outcome for r in records] == ["ok", "failed", "raised"]  # type: ignore[attr-defined]
    assert [r.message_type for r in records] == [  # type: ignore[attr-defined]
        message_type_name(Login),
        message_type_name(RenameUser),
        message_type_name(CreateUser),
    ]
    assert records[1].error_code == "CONFLICT"  # type: ignore[attr-defined]
    assert all(r.duration_ms >= 0 for r in records)  # type: ignore[attr-defined]
    assert "failed (CONFLICT): taken" in records[1].getMessage()
    assert "raised RuntimeError" in records[2].getMessage()
    assert "ada" not in records[0].getMessage(), "fields are not logged by default"


def test_logging_fields_masks_secrets_and_repr_false_fields(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.bus.logging.fields")
    bus = logged_bus(logger, log_fields=True, level=logging.DEBUG)
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        bus.dispatch(Login(user="ada", password=SecretStr("hunter2"), token="t0ken"))
    text = caplog.records[0].getMessage()
    assert caplog.records[0].levelno == logging.DEBUG
    assert "user='ada'" in text
    assert "hunter2" not in text
    assert "**********" in text
    assert "t0ken" not in text


def test_logging_disabled_logger_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.bus.logging.quiet")
    bus = logged_bus(logger)
    with caplog.at_level(logging.WARNING, logger=logger.name):
        assert bus.dispatch(RenameUser(name="x")).error_code == "CONFLICT"
    assert caplog.records == []


def test_logging_async_path(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.bus.logging.async")
    bus = logged_bus(logger)
    with caplog.at_level(logging.INFO, logger=logger.name):
        asyncio.run(bus.dispatch_async(RenameUser(name="x")))
        with pytest.raises(RuntimeError):
            asyncio.run(bus.dispatch_async(CreateUser(name="x", age=1)))
    assert [r.outcome for r in caplog.records] == ["failed", "raised"]  # type: ignore[attr-defined]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=logger.name):
        asyncio.run(bus.dispatch_async(RenameUser(name="x")))
    assert caplog.records == []


# TimingBehavior.


def test_timing_counts_and_measures_per_message_type() -> None:
    timing = TimingBehavior()
    bus = FlextCommandBus()
    bus.register(RenameUser, ok_handler)

    def broken(command: CreateUser) -> FlextResult[None]:
        raise RuntimeError("bug")

    bus.register(CreateUser, broken)
    bus.use(timing)
    for _ in range(3):
        bus.dispatch(RenameUser(name="x"))
    with pytest.raises(RuntimeError):
        bus.dispatch(CreateUser(name="x", age=1))
    asyncio.run(bus.dispatch_async(RenameUser(name="x")))
    stats = timing.stats()
    renames = stats[message_type_name(RenameUser)]
    assert renames["count"] == 4
    assert 0 <= renames["min"] <= renames["mean"] <= renames["max"] <= renames["total"]
    assert renames["total"] == pytest.approx(renames["mean"] * 4)
    assert stats[message_type_name(CreateUser)]["count"] == 1, "a raising handler is timed too"
    timing.reset()
    assert timing.stats() == {}


def test_timing_one_instance_on_several_buses() -> None:
    timing = TimingBehavior()
    commands, events = FlextCommandBus(), FlextEventBus()
    commands.register(RenameUser, ok_handler)
    commands.use(timing)
    events.use(timing)
    commands.dispatch(RenameUser(name="x"))
    events.publish(UserRenamed(aggregate_id="u"))
    assert set(timing.stats()) == {message_type_name(RenameUser), message_type_name(UserRenamed)}


# QueryCachingBehavior.


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cached_buses(
    **options: Any,
) -> tuple[FlextQueryBus, FlextCommandBus, QueryCachingBehavior, list[str], FakeClock]:
    calls: list[str] = []
    clock = FakeClock()
    cache = QueryCachingBehavior(ttl=10.0, invalidated_by=[RenameUser], clock=clock, **options)
    queries, commands = FlextQueryBus(), FlextCommandBus()

    def get_user(query: GetUser) -> FlextResult[str]:
        calls.append(query.name)
        if query.name == "missing":
            return FlextResult.fail("no such user", error_code="NOT_FOUND")
        return FlextResult.ok(f"user {query.name} v{len(calls)}")

    queries.register(GetUser, get_user)
    queries.register(FindUsers, lambda q: calls.append("find") or FlextResult.ok(list(q.names)))
    commands.register(RenameUser, ok_handler)
    commands.register(RenameAdmin, ok_handler)
    commands.register(CreateUser, ok_handler)
    queries.use(cache)
    commands.use(cache.invalidator)
    return queries, commands, cache, calls, clock


def test_cache_answers_equal_queries_until_the_ttl_expires() -> None:
    queries, _, cache, calls, clock = cached_buses()
    first = queries.execute(GetUser(name="ada"))
    assert queries.execute(GetUser(name="ada")) is first
    assert queries.execute(GetUser(name="bob")).is_success
    assert calls == ["ada", "bob"]
    assert (cache.hits, cache.misses, len(cache)) == (1, 2, 2)
    clock.now += 10.5
    assert queries.execute(GetUser(name="ada")) != first
    assert calls == ["ada", "bob", "ada"]


def test_cache_does_not_keep_failures() -> None:
    queries, _, cache, calls, _ = cached_buses()
    queries.execute(GetUser(name="missing"))
    queries.execute(GetUser(name="missing"))
    assert calls == ["missing", "missing"]
    assert len(cache) == 0


def test_cache_is_invalidated_by_the_named_commands_and_their_subclasses() -> None:
    queries, commands, _, calls, _ = cached_buses()
    queries.execute(GetUser(name="ada"))
    commands.dispatch(CreateUser(name="x", age=1))  # not an invalidating command
    queries.execute(GetUser(name="ada"))
    assert calls == ["ada"]
    commands.dispatch(RenameUser(name="x"))
    queries.execute(GetUser(name="ada"))
    assert calls == ["ada", "ada"]
    asyncio.run(commands.dispatch_async(RenameAdmin(name="x")))
    queries.execute(GetUser(name="ada"))
    assert calls == ["ada", "ada", "ada"]


def test_cache_invalidates_even_when_the_command_raises() -> None:
    queries, commands, cache, _, _ = cached_buses()
    commands.unregister(RenameUser)

    def broken(command: RenameUser) -> FlextResult[None]:
        raise RuntimeError("bug")

    commands.register(RenameUser, broken)
    queries.execute(GetUser(name="ada"))
    with pytest.raises(RuntimeError):
        commands.dispatch(RenameUser(name="x"))
    assert len(cache) == 0


def test_cache_keys_unhashable_queries_by_value() -> None:
    queries, _, _, calls, _ = cached_buses()
    queries.execute(FindUsers(names=["a", "b"]))
    queries.execute(FindUsers(names=["a", "b"]))
    queries.execute(FindUsers(names=["b", "a"]))
    assert calls == ["find", "find"]


def test_cache_drops_the_oldest_entry_beyond_max_entries() -> None:
    queries, _, cache, calls, _ = cached_buses(max_entries=2)
    for name in ["a", "b", "c", "a"]:
        queries.execute(GetUser(name=name))
    assert calls == ["a", "b", "c", "a"]
    assert len(cache) == 2


def test_cache_does_not_store_a_result_computed_across_an_invalidation() -> None:
    cache = QueryCachingBehavior(ttl=10.0)

    def handler_that_sees_a_concurrent_write(query: GetUser) -> FlextResult[str]:
        cache.invalidate()  # a command lands while the query runs
        return FlextResult.ok("stale?")

    queries = FlextQueryBus()
    queries.register(GetUser, handler_that_sees_a_concurrent_write)
    queries.use(cache)
    queries.execute(GetUser(name="a"))
    assert len(cache) == 0


def test_cache_async_paths() -> None:
    queries, commands, cache, calls, _ = cached_buses()

    async def scenario() -> None:
        await queries.execute_async(GetUser(name="ada"))
        await queries.execute_async(GetUser(name="ada"))
        await commands.dispatch_async(RenameUser(name="x"))
        await queries.execute_async(GetUser(name="ada"))

    asyncio.run(scenario())
    assert calls == ["ada", "ada"]
    assert cache.hits == 1


def test_cache_invalidator_works_on_the_event_bus_too() -> None:
    cache = QueryCachingBehavior(ttl=10.0, invalidated_by=[UserRenamed])
    queries, events = FlextQueryBus(), FlextEventBus()
    queries.register(GetUser, lambda q: FlextResult.ok(q.name))
    queries.use(cache)
    events.use(cache.invalidator)
    queries.execute(GetUser(name="a"))
    assert len(cache) == 1
    events.publish(UserRenamed(aggregate_id="u"))
    assert len(cache) == 0


def test_cache_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="ttl"):
        QueryCachingBehavior(ttl=0)
    with pytest.raises(ValueError, match="max_entries"):
        QueryCachingBehavior(ttl=1, max_entries=0)
