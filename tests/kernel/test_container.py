"""FlextContainer, synchronous side: lifetimes, errors and chains, owners, override, disposal, autowiring."""

from __future__ import annotations

import linecache
import traceback
from collections.abc import Callable
from typing import Annotated

import pytest

from flext_kernel.container import FlextContainer
from flext_kernel.errors import (
    ALREADY_REGISTERED,
    ASYNC_REQUIRED,
    CIRCULAR_DEPENDENCY,
    NOT_FOUND,
    SCOPE_ERROR,
    VALIDATION_ERROR,
    FlextContainerError,
)
from flext_kernel.result import MULTIPLE_ERRORS

# Services used across the tests. Module level, so string annotations resolve.


class Config:
    def __init__(self) -> None:
        self.url = "sqlite://"


class Database:
    created = 0

    def __init__(self, config: Config) -> None:
        Database.created += 1
        self.config = config
        self.closed = False

    def close(self) -> None:
        self.closed = True


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db


class UserService:
    def __init__(self, repo: UserRepository) -> None:
        self.repo = repo


class CycleA:
    def __init__(self, b: CycleB) -> None:
        self.b = b


class CycleB:
    def __init__(self, c: CycleC) -> None:
        self.c = c


class CycleC:
    def __init__(self, a: CycleA) -> None:
        self.a = a


class EntersCycle:
    def __init__(self, a: CycleA) -> None:
        self.a = a


class Closer:
    """Records its name in a shared log when closed."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def close(self) -> None:
        self.log.append(self.name)


def closer(name: str, log: list[str]) -> Callable[[], Closer]:
    return lambda: Closer(name, log)


def _wired() -> FlextContainer:
    container = FlextContainer()
    container.register_singleton(Config)
    container.register_singleton(Database)
    container.register_factory(UserRepository)
    container.register_factory(UserService)
    return container


# Lifetimes.


def test_register_instance_resolves_to_the_same_object() -> None:
    container = FlextContainer()
    config = Config()
    container.register(Config, config)
    assert container.resolve(Config) is config
    assert container.get(Config).value is config
    assert Config in container
    assert Database not in container


def test_factory_builds_a_new_object_each_time() -> None:
    container = FlextContainer()
    container.register_factory(Config)
    first, second = container.resolve(Config), container.resolve(Config)
    assert isinstance(first, Config)
    assert first is not second


def test_singleton_is_lazy_and_built_once() -> None:
    calls: list[int] = []

    def make_config() -> Config:
        calls.append(1)
        return Config()

    container = FlextContainer()
    container.register_singleton(Config, make_config)
    assert calls == []
    first = container.resolve(Config)
    assert container.resolve(Config) is first
    assert container.get(Config).value is first
    assert calls == [1]


def test_whole_graph_is_wired_with_lifetimes_respected() -> None:
    container = _wired()
    service = container.resolve(UserService)
    other = container.resolve(UserService)
    assert isinstance(service.repo.db.config, Config)
    assert service is not other
    assert service.repo is not other.repo
    assert service.repo.db is other.repo.db
    assert service.repo.db is container.resolve(Database)


def test_abstract_key_with_concrete_factory() -> None:
    class Clock:
        def now(self) -> int:
            raise NotImplementedError

    class FixedClock(Clock):
        def now(self) -> int:
            return 42

    container = FlextContainer()
    container.register_singleton(Clock, FixedClock)
    assert container.resolve(Clock).now() == 42


def test_string_keys_for_named_services() -> None:
    container = FlextContainer()
    container.register("db_url", "postgres://x")
    container.register_factory("greeting", lambda: "hello")
    assert container.resolve("db_url") == "postgres://x"
    assert container.get("greeting").value == "hello"


# Missing services and cycles: codes and chain messages.


def test_get_missing_is_not_found_failure() -> None:
    result = FlextContainer().get(Database)
    assert result.is_failure
    assert result.error_code == NOT_FOUND
    assert result.error == (
        "no service registered for Database; register it with container.register_singleton(Database, ...)"
    )
    assert result.error_data["chain"] == ["Database"]


def test_resolve_names_missing_key_and_who_asked() -> None:
    container = FlextContainer()
    container.register_factory(UserRepository)
    with pytest.raises(FlextContainerError) as caught:
        container.resolve(UserRepository)
    assert (
        "no service registered for Database (needed by UserRepository -> Database); "
        "register it with container.register_singleton(Database, ...)"
    ) in str(caught.value)


def test_missing_deep_in_graph_reports_whole_chain() -> None:
    container = FlextContainer()
    container.register_factory(UserService)
    container.register_factory(UserRepository)
    container.register_singleton(Database)
    result = container.get(UserService)
    assert result.error_code == NOT_FOUND
    assert "(needed by UserService -> UserRepository -> Database -> Config)" in (result.error or "")
    assert result.error_data["chain"] == ["UserService", "UserRepository", "Database", "Config"]
    assert result.error_data["key"] == "Config"


def test_missing_string_key_advice_quotes_it() -> None:
    def make(url: Annotated[str, "db_url"]) -> str:
        return url

    container = FlextContainer()
    container.register_factory("dsn", make)
    result = container.get("dsn")
    assert result.error == (
        "no service registered for 'db_url' (needed by 'dsn' -> 'db_url'); "
        "register it with container.register_singleton('db_url', ...)"
    )


def test_cycle_at_resolve_names_the_cycle() -> None:
    container = FlextContainer()
    for cls in (CycleA, CycleB, CycleC):
        container.register_factory(cls)
    result = container.get(CycleB)
    assert result.error_code == CIRCULAR_DEPENDENCY
    assert result.error == "circular dependency: CycleB -> CycleC -> CycleA -> CycleB"
    assert result.error_data["cycle"] == ["CycleB", "CycleC", "CycleA", "CycleB"]
    with pytest.raises(FlextContainerError, match="CycleA -> CycleB -> CycleC -> CycleA"):
        container.resolve(CycleA)


def test_cycle_reached_from_outside_names_the_path_in() -> None:
    container = FlextContainer()
    for cls in (EntersCycle, CycleA, CycleB, CycleC):
        container.register_singleton(cls)
    result = container.get(EntersCycle)
    assert result.error == (
        "circular dependency: CycleA -> CycleB -> CycleC -> CycleA (reached from EntersCycle -> CycleA)"
    )
    assert result.error_data["chain"] == ["EntersCycle", "CycleA", "CycleB", "CycleC", "CycleA"]


def test_self_dependency_is_a_cycle() -> None:
    class Node:
        def __init__(self, parent: Node) -> None:
            self.parent = parent

    container = FlextContainer()
    container.register_factory(Node)
    assert container.get(Node).error == "circular dependency: Node -> Node"


def test_cycle_hidden_in_a_hand_written_factory_is_caught_at_runtime() -> None:
    container = FlextContainer()
    container.register_singleton("a", lambda: ("a", container.resolve("b")))
    container.register_singleton("b", lambda: ("b", container.resolve("a")))
    result = container.get("a")
    assert result.error_code == CIRCULAR_DEPENDENCY
    assert "'a' -> 'b' -> 'a'" in (result.error or "")
    # Nothing half-built was kept: fixing "b" makes "a" resolvable.
    container.register_singleton("b", lambda: "b", replace=True)
    assert container.resolve("a") == ("a", "b")


def test_factory_exceptions_propagate_from_get() -> None:
    def broken() -> Config:
        raise RuntimeError("disk on fire")

    container = FlextContainer()
    container.register_singleton(Config, broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        container.get(Config)
    # Nothing was cached: a fixed factory works.
    container.register_singleton(Config, replace=True)
    assert isinstance(container.resolve(Config), Config)


def test_traceback_through_generated_code_shows_the_call() -> None:
    def broken(config: Config) -> Database:
        raise RuntimeError("boom")

    container = FlextContainer()
    container.register_factory(Config)
    container.register_factory(Database, broken)
    with pytest.raises(RuntimeError) as caught:
        container.resolve(Database)
    rendered = "".join(traceback.format_exception(caught.value))
    assert "resolve_Database" in rendered
    assert "_Database_" in rendered  # the generated line itself, from linecache
    assert any("flext-container" in name for name in linecache.cache)


# validate(): every problem, nothing built.


def test_validate_ok_for_a_complete_graph_builds_nothing() -> None:
    Database.created = 0
    assert _wired().validate().is_success
    assert Database.created == 0


def test_validate_reports_all_problems_without_instantiating() -> None:
    Database.created = 0
    container = FlextContainer()
    container.register_singleton(Database)  # Config is missing
    container.register_factory(UserService)
    container.register_factory(UserRepository)
    for cls in (CycleA, CycleB, CycleC):
        container.register_factory(cls)
    result = container.validate()
    assert result.is_failure
    assert result.error_code == MULTIPLE_ERRORS
    problems = result.error_data["errors"]
    assert isinstance(problems, list)
    by_code = {problem["error_code"]: problem for problem in problems}
    assert set(by_code) == {NOT_FOUND, CIRCULAR_DEPENDENCY}
    assert by_code[NOT_FOUND]["error_data"]["chain"] == ["Database", "Config"]
    assert by_code[CIRCULAR_DEPENDENCY]["error_data"]["cycle"] == ["CycleA", "CycleB", "CycleC", "CycleA"]
    assert len(problems) == 2  # each problem once, though UserService also reaches the missing Config
    assert "no service registered for Config (needed by Database -> Config)" in (result.error or "")
    assert Database.created == 0


def test_validate_reports_each_missing_edge_with_its_chain() -> None:
    container = FlextContainer()
    container.register_factory(UserService)
    container.register_factory(UserRepository)
    container.register_factory(EntersCycle)
    result = container.validate()
    problems = result.error_data["errors"]
    assert isinstance(problems, list)
    chains = [problem["error_data"]["chain"] for problem in problems]
    assert chains == [["UserService", "UserRepository", "Database"], ["EntersCycle", "CycleA"]]
    assert result.error_code == NOT_FOUND


def test_validate_reports_unwirable_parameter() -> None:
    def make(config) -> Database:  # type: ignore[no-untyped-def]
        return Database(config)

    container = FlextContainer()
    container.register_factory(Database, make)
    result = container.validate()
    assert result.error_code == VALIDATION_ERROR
    assert "parameter 'config'" in (result.error or "")
    assert "no type annotation and no default" in (result.error or "")
    assert container.get(Database).error_code == VALIDATION_ERROR


def test_validate_reports_singleton_depending_on_scoped() -> None:
    class Session:
        pass

    class Unit:
        def __init__(self, session: Session) -> None:
            self.session = session

    class Cache:
        def __init__(self, unit: Unit) -> None:
            self.unit = unit

    container = FlextContainer()
    container.register_scoped(Session)
    container.register_factory(Unit)
    container.register_singleton(Cache)
    result = container.validate()
    assert result.error_code == VALIDATION_ERROR
    assert "singleton Cache depends on scoped Session (Cache -> Unit -> Session)" in (result.error or "")
    with container.scope():
        assert container.get(Cache).error_code == VALIDATION_ERROR
        assert isinstance(container.resolve(Unit).session, Session)


# Registering twice, owners and remove_owner.


def test_registering_twice_is_already_registered_naming_previous_owner() -> None:
    container = FlextContainer()
    container.register_singleton(Database, owner="sqlite")
    with pytest.raises(FlextContainerError) as caught:
        container.register_singleton(Database, owner="postgres")
    message = str(caught.value)
    assert "Database is already registered (by plugin 'sqlite'); pass replace=True to replace it" in message
    assert ALREADY_REGISTERED in message
    assert getattr(caught.value, "error_code", None) == ALREADY_REGISTERED
    container.register("x", 1)
    with pytest.raises(FlextContainerError, match="by the application"):
        container.register("x", 2)


def test_replace_swaps_registration_and_closes_stale_singletons() -> None:
    container = _wired()
    old_db = container.resolve(Database)
    assert container.resolve(UserService).repo.db is old_db
    new_config = Config()
    container.register(Config, new_config, replace=True)
    assert old_db.closed  # built on the old Config: closed and dropped
    new_db = container.resolve(Database)
    assert new_db is not old_db
    assert new_db.config is new_config
    assert container.resolve(UserService).repo.db is new_db


class Clock:
    pass


class Scheduler:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock


def test_new_registration_rebuilds_singletons_that_took_a_default() -> None:
    container = FlextContainer()
    container.register_singleton(Scheduler)
    assert container.resolve(Scheduler).clock is None
    container.register_singleton(Clock)
    assert isinstance(container.resolve(Scheduler).clock, Clock)


def test_remove_owner_removes_registrations_and_closes_in_reverse_order() -> None:
    log: list[str] = []
    container = FlextContainer()
    container.register_singleton("first", closer("first", log), owner="ldap")
    container.register_singleton("second", closer("second", log), owner="ldap")
    container.register_singleton("other", closer("other", log), owner="oracle")
    given = Closer("given", log)
    container.register("given", given, owner="ldap")
    container.register_factory("transient", lambda: "t", owner="ldap")
    for key in ("second", "other", "first"):
        container.resolve(key)
    assert container.remove_owner("ldap") == 4
    assert log == ["first", "second"]  # last created first; the given instance is not ours to close
    for key in ("first", "second", "given", "transient"):
        assert container.get(key).error_code == NOT_FOUND
        assert key not in container
    assert container.resolve("other").name == "other"
    assert container.remove_owner("ldap") == 0


def test_remove_owner_closes_and_drops_dependents_of_other_owners() -> None:
    container = FlextContainer()
    container.register_singleton(Config, owner="core")
    container.register_singleton(Database, owner="sqlite")
    container.register_factory(UserRepository, owner="users")
    db = container.resolve(Database)
    container.resolve(UserRepository)  # compiled against the sqlite Database
    assert container.remove_owner("sqlite") == 1
    assert db.closed
    result = container.get(UserRepository)  # the compiled resolver was dropped
    assert result.error_code == NOT_FOUND
    assert result.error_data["chain"] == ["UserRepository", "Database"]
    container.register_singleton(Database, owner="postgres")  # hot reload
    assert container.resolve(UserRepository).db is not db


# override() for tests.


def test_override_swaps_and_restores_and_recompiles_dependents() -> None:
    container = _wired()
    real_db = container.resolve(Database)
    container.resolve(UserService)  # compile the graph first
    fake = Database(Config())
    with container.override(Database, fake) as given:
        assert given is fake
        assert container.resolve(Database) is fake
        assert container.resolve(UserService).repo.db is fake
    assert container.resolve(Database) is real_db
    assert container.resolve(UserService).repo.db is real_db
    assert not real_db.closed


def test_override_rebuilds_singleton_dependents_and_restores_originals() -> None:
    container = FlextContainer()
    container.register_singleton(Config)
    container.register_singleton(Database)
    real_db = container.resolve(Database)
    fake_config = Config()
    with container.override(Config, fake_config):
        during = container.resolve(Database)
        assert during is not real_db
        assert during.config is fake_config
    assert container.resolve(Database) is real_db
    log: list[str] = []
    during.close = lambda: log.append("during")  # type: ignore[method-assign]
    container.close()
    assert log == ["during"]  # built during the override: still the container's to close


def test_override_of_unregistered_key_is_removed_after() -> None:
    container = FlextContainer()
    with container.override(Config, Config()):
        assert isinstance(container.resolve(Config), Config)
    assert container.get(Config).error_code == NOT_FOUND


def test_override_restores_even_when_the_block_raises_and_nests() -> None:
    container = FlextContainer()
    container.register("name", "real")

    def nested_then_fail() -> None:
        with container.override("name", "outer"):
            with container.override("name", "inner"):
                assert container.resolve("name") == "inner"
            assert container.resolve("name") == "outer"
            raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        nested_then_fail()
    assert container.resolve("name") == "real"


# Scopes.


def test_scoped_outside_a_scope_is_a_clear_error() -> None:
    container = FlextContainer()
    container.register_scoped(Config)
    container.register_factory(Database)
    result = container.get(Config)
    assert result.error_code == SCOPE_ERROR
    assert (
        result.error == "Config is scoped and no scope is active; resolve it inside `with container.scope():`"
    )
    with pytest.raises(
        FlextContainerError, match=r"Config is scoped and no scope is active \(needed by Database"
    ):
        container.resolve(Database)


def test_scoped_is_one_per_scope_and_closed_in_reverse_at_exit() -> None:
    log: list[str] = []
    container = FlextContainer()
    container.register_scoped("session", closer("session", log))
    container.register_scoped("unit", closer("unit", log))
    with container.scope():
        first = container.resolve("session")
        assert container.resolve("session") is first
        container.resolve("unit")
        assert log == []
    assert log == ["unit", "session"]
    with container.scope():
        assert container.resolve("session") is not first
    assert container.get("session").error_code == SCOPE_ERROR


def test_scope_cannot_be_entered_twice() -> None:
    container = FlextContainer()
    scope = container.scope()
    with scope, pytest.raises(FlextContainerError, match="already active"):
        scope.__enter__()


def test_inner_scope_is_fresh_and_outer_comes_back() -> None:
    container = FlextContainer()
    container.register_scoped(Config)
    with container.scope():
        outer = container.resolve(Config)
        with container.scope():
            assert container.resolve(Config) is not outer
        assert container.resolve(Config) is outer


def test_scoped_depending_on_singleton_and_transient() -> None:
    container = FlextContainer()
    container.register_singleton(Config)
    container.register_scoped(Database)
    container.register_factory(UserRepository)
    with container.scope():
        repo1, repo2 = container.resolve(UserRepository), container.resolve(UserRepository)
        assert repo1 is not repo2
        assert repo1.db is repo2.db
        assert repo1.db.config is container.resolve(Config)
    assert repo1.db.closed


# Disposal.


def test_close_closes_created_singletons_in_reverse_creation_order() -> None:
    log: list[str] = []
    container = FlextContainer()
    for name in ("a", "b", "c"):
        container.register_singleton(name, closer(name, log))
    container.register("given", Closer("given", log))
    container.register_factory("transient", closer("transient", log))
    for name in ("b", "a", "transient", "c", "given"):
        container.resolve(name)
    container.close()
    assert log == ["c", "a", "b"]
    # Singletons are forgotten, registrations stay: the next resolve builds anew.
    assert container.resolve("a") is not None
    container.close()
    assert log == ["c", "a", "b", "a"]


def test_dependencies_close_after_their_dependents() -> None:
    log: list[str] = []

    class Pool(Closer):
        def __init__(self) -> None:
            super().__init__("pool", log)

    class Client(Closer):
        def __init__(self, pool: Pool) -> None:
            super().__init__("client", log)
            self.pool = pool

    container = FlextContainer()
    container.register_singleton(Pool)
    container.register_singleton(Client)
    with container:
        container.resolve(Client)
    assert log == ["client", "pool"]


def test_close_keeps_going_after_a_failing_close() -> None:
    log: list[str] = []

    class Bad:
        def close(self) -> None:
            raise OSError("stuck")

    container = FlextContainer()
    container.register_singleton("a", closer("a", log))
    container.register_singleton("bad", Bad)
    container.register_singleton("c", closer("c", log))
    for key in ("a", "bad", "c"):
        container.resolve(key)
    with pytest.raises(OSError, match="stuck"):
        container.close()
    assert log == ["c", "a"]

    container.register_singleton("bad2", Bad)
    container.resolve("bad")
    container.resolve("bad2")
    with pytest.raises(ExceptionGroup) as caught:
        container.close()
    assert len(caught.value.exceptions) == 2


def test_sync_close_refuses_aclose_only_objects_but_closes_the_rest() -> None:
    log: list[str] = []

    class AsyncOnly:
        async def aclose(self) -> None:
            log.append("async")

    container = FlextContainer()
    container.register_singleton("sync", closer("sync", log))
    container.register_singleton("async", AsyncOnly)
    container.resolve("sync")
    container.resolve("async")
    with pytest.raises(FlextContainerError) as caught:
        container.close()
    assert "'async' can only be closed with aclose(); use await container.aclose()" in str(caught.value)
    assert ASYNC_REQUIRED in str(caught.value)
    assert log == ["sync"]


# Autowiring details.


def test_defaults_apply_when_unregistered_and_registered_services_win() -> None:
    class Retry:
        pass

    class Client:
        def __init__(
            self, config: Config, retries: int = 3, retry: Retry | None = None, *, timeout: float = 1.5
        ):
            self.config, self.retries, self.retry, self.timeout = config, retries, retry, timeout

    container = FlextContainer()
    container.register_singleton(Config)
    container.register_factory(Client)
    client = container.resolve(Client)
    assert (client.retries, client.retry, client.timeout) == (3, None, 1.5)
    container.register(int, 5)
    container.register(float, 9.0)
    container.register_singleton(Retry)
    client = container.resolve(Client)
    assert (client.retries, client.timeout) == (5, 9.0)
    assert client.retry is container.resolve(Retry)


def test_optional_without_default_gets_none() -> None:
    class Tracer:
        pass

    def make(config: Config, tracer: Tracer | None) -> tuple[Config, Tracer | None]:
        return config, tracer

    container = FlextContainer()
    container.register_singleton(Config)
    container.register_factory("pair", make)
    assert container.resolve("pair")[1] is None


def test_annotated_string_keys_pick_named_services() -> None:
    class Replica:
        def __init__(
            self, primary: Annotated[str, "primary_url"], replica: Annotated[str, "replica_url"]
        ) -> None:
            self.urls = (primary, replica)

    container = FlextContainer()
    container.register("primary_url", "pg://a")
    container.register_factory("replica_url", lambda: "pg://b")
    container.register_factory(Replica)
    assert container.resolve(Replica).urls == ("pg://a", "pg://b")


def test_positional_only_and_keyword_only_parameters() -> None:
    def make(a: Config, b: int = 7, /, c: Database | None = None, *, d: UserRepository) -> tuple[object, ...]:
        return a, b, c, d

    container = FlextContainer()
    container.register_singleton(Config)
    container.register_singleton(Database)
    container.register_factory(UserRepository)
    container.register_factory("made", make)
    a, b, c, d = container.resolve("made")
    assert a is container.resolve(Config)
    assert b == 7
    assert c is container.resolve(Database)
    assert isinstance(d, UserRepository)


def test_skipped_positional_or_keyword_default_passes_later_ones_by_keyword() -> None:
    def make(config: Config, label: str = "x", db: Database | None = None) -> tuple[object, ...]:
        return config, label, db

    container = FlextContainer()
    container.register_singleton(Config)
    container.register_singleton(Database)
    container.register_factory("made", make)
    _, label, db = container.resolve("made")
    assert label == "x"
    assert db is container.resolve(Database)


def test_varargs_are_left_alone_and_builtins_take_nothing() -> None:
    def make(config: Config, *args: int, **kwargs: str) -> tuple[object, ...]:
        return config, args, kwargs

    container = FlextContainer()
    container.register_singleton(Config)
    container.register_factory("made", make)
    container.register_factory("table", dict)
    assert container.resolve("made")[1:] == ((), {})
    assert container.resolve("table") == {}


def test_forward_reference_to_a_local_class_resolves_when_registered() -> None:
    class Engine:
        def __init__(self, part: Part) -> None:
            self.part = part

    class Part:
        pass

    container = FlextContainer()
    container.register_factory(Engine)
    result = container.get(Engine)  # "Part" is only a name until Part is registered
    assert result.error_code == NOT_FOUND
    assert result.error_data["chain"] == ["Engine", "Part"]
    container.register_factory(Part)
    assert isinstance(container.resolve(Engine).part, Part)


class Planner:
    pass


def test_module_level_names_win_over_registered_names_in_annotations() -> None:
    class Job:
        def __init__(self, planner: Planner, step: Step) -> None:
            self.planner, self.step = planner, step

    class Step:
        pass

    impostor = type("Planner", (), {})  # another plugin's class with the same name
    container = FlextContainer()
    container.register_factory(Planner)
    container.register_factory(impostor)
    container.register_factory(Step)
    container.register_factory(Job)
    job = container.resolve(Job)
    assert type(job.planner) is Planner
    assert isinstance(job.step, Step)


def test_unregistered_local_class_with_default_takes_default_and_is_rebuilt_later() -> None:
    class Tracer:
        pass

    class Worker:
        def __init__(self, tracer: Tracer | None = None) -> None:
            self.tracer = tracer

    container = FlextContainer()
    container.register_singleton(Worker)
    assert container.validate().is_success
    first = container.resolve(Worker)
    assert first.tracer is None
    container.register_singleton(Tracer)
    assert isinstance(container.resolve(Worker).tracer, Tracer)


def test_bad_registration_arguments_are_type_errors() -> None:
    container = FlextContainer()
    with pytest.raises(TypeError, match="a factory is required"):
        container.register_singleton("name")
    with pytest.raises(TypeError, match="not callable"):
        container.register_factory(Config, 3)  # type: ignore[arg-type]


def test_registration_after_first_resolve_is_seen() -> None:
    container = FlextContainer()
    container.register_factory(UserRepository)
    assert container.get(UserRepository).error_code == NOT_FOUND
    container.register_singleton(Config)
    container.register_singleton(Database)
    assert isinstance(container.resolve(UserRepository).db, Database)


def test_public_surface_is_pinned() -> None:
    import flext_kernel.container as module

    assert set(module.__all__) == {"ContainerScope", "FlextContainer"}


def test_repr_counts_registrations() -> None:
    assert repr(_wired()) == "<FlextContainer with 4 registrations>"
