"""FlextContainer under threads: singletons built exactly once, registrations from any thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from flext_kernel.container import FlextContainer

THREADS = 16


def _race(fn: Callable[[], object], threads: int = THREADS) -> list[object]:
    """Run ``fn`` in many threads released at the same instant; return the results."""
    barrier = threading.Barrier(threads)

    def start() -> object:
        barrier.wait()
        return fn()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda _: start(), range(threads)))


class Engine:
    built = 0
    lock = threading.Lock()

    def __init__(self) -> None:
        with Engine.lock:
            Engine.built += 1
        time.sleep(0.02)  # wide window for a second thread to slip in


class Car:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine


def test_racing_threads_build_a_singleton_exactly_once() -> None:
    Engine.built = 0
    container = FlextContainer()
    container.register_singleton(Engine)
    results = _race(lambda: container.resolve(Engine))
    assert Engine.built == 1
    assert len({id(result) for result in results}) == 1


def test_racing_threads_through_a_transient_share_one_singleton_dependency() -> None:
    Engine.built = 0
    container = FlextContainer()
    container.register_singleton(Engine)
    container.register_factory(Car)
    cars = _race(lambda: container.resolve(Car))
    assert Engine.built == 1
    assert len({id(car) for car in cars}) == THREADS
    assert len({id(car.engine) for car in cars}) == 1  # type: ignore[attr-defined]


def test_slow_singleton_does_not_block_other_keys() -> None:
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "slow"

    container = FlextContainer()
    container.register_singleton("slow", slow)
    container.register_singleton("fast", lambda: "fast")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(container.resolve, "slow")
        assert started.wait(5)
        assert container.resolve("fast") == "fast"  # would deadlock behind one global lock
        release.set()
        assert pending.result(5) == "slow"


def test_registrations_from_many_threads_all_land() -> None:
    container = FlextContainer()

    def register(index: int) -> None:
        container.register_singleton(f"service-{index}", lambda: index, owner=f"plugin-{index % 4}")
        assert container.resolve(f"service-{index}") == index

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(register, range(200)))
    assert all(container.resolve(f"service-{i}") == i for i in range(200))
    assert container.validate().is_success
    assert container.remove_owner("plugin-1") == 50


def test_each_thread_has_its_own_scope() -> None:
    container = FlextContainer()
    container.register_scoped("session", object)

    def work() -> tuple[object, object]:
        with container.scope():
            first = container.resolve("session")
            time.sleep(0.005)
            return first, container.resolve("session")

    pairs = [result for result in _race(work, threads=8) if isinstance(result, tuple)]
    assert len(pairs) == 8
    assert all(first is second for first, second in pairs)
    assert len({id(first) for first, _ in pairs}) == 8


def test_resolving_while_another_thread_replaces_never_breaks() -> None:
    container = FlextContainer()
    container.register("config", 0)

    def derive(config: Annotated[int, "config"]) -> tuple[str, int]:
        return "derived", config

    container.register_singleton("derived", derive)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                value = container.resolve("derived")
                assert value[0] == "derived"
        except BaseException as error:  # report anything, including assertion errors, to the main thread
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for version in range(1, 200):
        container.register("config", version, replace=True)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert container.resolve("derived") == ("derived", 199)


def test_singleton_built_while_its_dependency_changed_is_not_cached() -> None:
    started, release = threading.Event(), threading.Event()

    def derive(config: Annotated[int, "config"]) -> int:
        started.set()
        release.wait(5)
        return config

    container = FlextContainer()
    container.register("config", 0)
    container.register_singleton("derived", derive)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(container.resolve, "derived")
        assert started.wait(5)
        container.register("config", 1, replace=True)  # while "derived" is being built from 0
        release.set()
        assert pending.result(5) == 0  # the caller gets what was built...
    assert container.resolve("derived") == 1  # ...but the stale object was not kept
