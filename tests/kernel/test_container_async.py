"""FlextContainer under asyncio: async factories, scopes per task, async disposal, async races."""

from __future__ import annotations

import asyncio

import pytest

from flext_kernel.container import FlextContainer
from flext_kernel.errors import ASYNC_REQUIRED, NOT_FOUND, SCOPE_ERROR, FlextContainerError


class Pool:
    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


class Repo:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool


class Session:
    pass


class Handler:
    def __init__(self, session: Session, repo: Repo) -> None:
        self.session = session
        self.repo = repo


async def make_pool() -> Pool:
    await asyncio.sleep(0)
    return Pool()


def test_async_factories_are_awaited_and_sync_ones_work_too() -> None:
    async def main() -> None:
        container = FlextContainer()
        container.register_singleton(Pool, make_pool)
        container.register_factory(Repo)
        repo = await container.aresolve(Repo)
        assert isinstance(repo.pool, Pool)
        assert (await container.aresolve(Repo)).pool is repo.pool
        assert await container.aresolve(Pool) is repo.pool
        result = await container.aget(Repo)
        assert result.value.pool is repo.pool

    asyncio.run(main())


def test_sync_resolve_of_scoped_with_async_dependency_names_the_chain() -> None:
    container = FlextContainer()
    container.register_factory(Pool, make_pool)
    container.register_factory(Repo)
    container.register_scoped(Session)
    container.register_scoped(Handler)
    with container.scope():
        result = container.get(Handler)
    assert result.error_code == ASYNC_REQUIRED
    assert result.error == (
        "Pool has an async factory (needed by Handler -> Repo -> Pool); use await container.aresolve(Handler)"
    )


def test_async_transient_builds_new_each_time() -> None:
    async def make_session() -> Session:
        await asyncio.sleep(0)
        return Session()

    async def main() -> None:
        container = FlextContainer()
        container.register_factory(Session, make_session)
        first, second = await container.aresolve(Session), await container.aresolve(Session)
        assert isinstance(first, Session)
        assert first is not second

    asyncio.run(main())


def test_aresolve_of_fully_sync_graph() -> None:
    async def main() -> None:
        container = FlextContainer()
        container.register("name", "flext")
        container.register_factory(Pool)
        container.register_factory(Repo)
        assert await container.aresolve("name") == "flext"
        assert isinstance((await container.aresolve(Repo)).pool, Pool)
        assert (await container.aget(Session)).error_code == NOT_FOUND

    asyncio.run(main())


def test_sync_resolve_of_async_service_is_a_clear_error() -> None:
    container = FlextContainer()
    container.register_factory(Pool, make_pool)
    container.register_factory(Repo)
    with pytest.raises(FlextContainerError) as caught:
        container.resolve(Pool)
    assert "Pool has an async factory; use await container.aresolve(Pool)" in str(caught.value)
    result = container.get(Repo)
    assert result.error_code == ASYNC_REQUIRED
    assert (
        result.error
        == "Pool has an async factory (needed by Repo -> Pool); use await container.aresolve(Repo)"
    )


def test_async_singleton_needs_aresolve_once_then_sync_resolve_works() -> None:
    container = FlextContainer()
    container.register_singleton(Pool, make_pool)
    container.register_factory(Repo)
    result = container.get(Repo)
    assert result.error_code == ASYNC_REQUIRED
    assert (
        result.error
        == "Pool has an async factory (needed by Repo -> Pool); use await container.aresolve(Repo)"
    )
    pool = asyncio.run(container.aresolve(Pool))
    assert container.resolve(Pool) is pool
    assert container.resolve(Repo).pool is pool


def test_async_singleton_is_created_once_by_racing_tasks() -> None:
    calls: list[int] = []

    async def slow_pool() -> Pool:
        calls.append(1)
        await asyncio.sleep(0.01)
        return Pool()

    async def main() -> None:
        container = FlextContainer()
        container.register_singleton(Pool, slow_pool)
        container.register_factory(Repo)
        results = await asyncio.gather(*(container.aresolve(Repo) for _ in range(20)))
        assert len({id(repo.pool) for repo in results}) == 1
        assert calls == [1]

    asyncio.run(main())


def test_failed_async_singleton_is_not_cached_and_waiters_retry() -> None:
    attempts: list[int] = []

    async def flaky() -> Pool:
        attempts.append(1)
        await asyncio.sleep(0.01)
        if len(attempts) == 1:
            raise ConnectionError("not yet")
        return Pool()

    async def main() -> None:
        container = FlextContainer()
        container.register_singleton(Pool, flaky)
        results = await asyncio.gather(*(container.aresolve(Pool) for _ in range(5)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        pools = {id(r) for r in results if isinstance(r, Pool)}
        assert len(errors) == 1
        assert isinstance(errors[0], ConnectionError)
        assert len(pools) == 1
        assert len(attempts) == 2

    asyncio.run(main())


def test_concurrent_tasks_each_get_their_own_scope() -> None:
    async def work(
        container: FlextContainer, started: asyncio.Event, other: asyncio.Event
    ) -> tuple[object, ...]:
        with container.scope():
            first = container.resolve(Session)
            started.set()
            await other.wait()  # both scopes are open at the same time here
            second = await container.aresolve(Session)
            handler = container.resolve(Handler)
            return first, second, handler.session

    async def main() -> None:
        container = FlextContainer()
        container.register_scoped(Session)
        container.register_factory(Pool)
        container.register_factory(Repo)
        container.register_factory(Handler)
        one, two = asyncio.Event(), asyncio.Event()
        a, b = await asyncio.gather(work(container, one, two), work(container, two, one))
        assert a[0] is a[1] is a[2]
        assert b[0] is b[1] is b[2]
        assert a[0] is not b[0]
        assert (await container.aget(Session)).error_code == SCOPE_ERROR

    asyncio.run(main())


def test_async_scoped_is_shared_by_sibling_tasks_in_one_scope() -> None:
    calls: list[int] = []

    async def make_session() -> Session:
        calls.append(1)
        await asyncio.sleep(0.01)
        return Session()

    async def main() -> None:
        container = FlextContainer()
        container.register_scoped(Session, make_session)
        async with container.scope():
            sessions = await asyncio.gather(*(container.aresolve(Session) for _ in range(5)))
        assert len({id(s) for s in sessions}) == 1
        assert calls == [1]
        with pytest.raises(FlextContainerError, match="no scope is active"):
            await container.aresolve(Session)

    asyncio.run(main())


def test_async_with_scope_acloses_and_sync_with_refuses_aclose_only() -> None:
    async def main() -> None:
        container = FlextContainer()
        container.register_scoped(Pool)
        async with container.scope():
            pool = container.resolve(Pool)
        assert pool.closed
        with pytest.raises(FlextContainerError) as caught, container.scope():  # raised on leaving the scope
            other = container.resolve(Pool)
        assert "scoped Pool can only be closed with aclose(); use `async with container.scope():`" in str(
            caught.value
        )
        assert not other.closed

    asyncio.run(main())


def test_aclose_closes_sync_and_async_objects_in_reverse_creation_order() -> None:
    log: list[str] = []

    class SyncThing:
        def close(self) -> None:
            log.append("sync")

    class AsyncThing:
        async def aclose(self) -> None:
            log.append("async")

    class Both:
        def close(self) -> None:
            log.append("both-sync")

        async def aclose(self) -> None:
            log.append("both-async")

    class CoroutineClose:
        async def close(self) -> None:
            log.append("coroutine-close")

    async def main() -> None:
        async with FlextContainer() as container:
            container.register_singleton(SyncThing)
            container.register_singleton(AsyncThing)
            container.register_singleton(Both)
            container.register_singleton(CoroutineClose)
            for key in (SyncThing, AsyncThing, Both, CoroutineClose):
                await container.aresolve(key)
        assert log == ["coroutine-close", "both-async", "async", "sync"]

    asyncio.run(main())


def test_aclose_after_sync_close_refused_finishes_the_job() -> None:
    container = FlextContainer()
    container.register_singleton(Pool)
    pool = container.resolve(Pool)
    with pytest.raises(FlextContainerError, match="aclose"):
        container.close()
    assert not pool.closed
    asyncio.run(container.aclose())
    assert pool.closed


def test_remove_owner_leaves_aclose_only_objects_for_aremove_owner_or_aclose() -> None:
    container = FlextContainer()
    container.register_singleton(Pool, owner="pg")
    pool = container.resolve(Pool)
    assert container.remove_owner("pg") == 1
    assert not pool.closed
    assert container.get(Pool).error_code == NOT_FOUND
    asyncio.run(container.aclose())
    assert pool.closed

    container.register_singleton(Pool, owner="pg")
    pool = container.resolve(Pool)
    assert asyncio.run(container.aremove_owner("pg")) == 1
    assert pool.closed
