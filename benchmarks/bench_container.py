"""FlextContainer against a dict lookup, hand-written constructors and peer containers.

Targets (container issue): resolving a created singleton at most 5x a plain
dict lookup ``d[key]``; building the 6-object transient graph
``A(B(C(), D()), E(F()))`` at most 1.5x the same constructor calls written by
hand, and faster than dependency-injector. dishka, svcs and punq are measured
for information. Every operation is timed through a lambda, baselines too, so
the call overhead of the timing loop is the same on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict

from _timing import Row, ns_per_op

from flext_kernel.container import FlextContainer


class Settings:
    pass


class C:
    pass


class D:
    pass


class F:
    pass


class B:
    def __init__(self, c: C, d: D) -> None:
        self.c = c
        self.d = d


class E:
    def __init__(self, f: F) -> None:
        self.f = f


class A:
    def __init__(self, b: B, e: E) -> None:
        self.b = b
        self.e = e


GRAPH = (A, B, C, D, E, F)


def _flext() -> FlextContainer:
    container = FlextContainer()
    container.register_singleton(Settings)
    for cls in GRAPH:
        container.register_factory(cls)
    container.resolve(Settings)
    return container


def _dependency_injector() -> tuple[Callable[[], object], Callable[[], object]]:
    from dependency_injector import containers, providers

    class Container(containers.DeclarativeContainer):
        settings = providers.Singleton(Settings)
        a = providers.Factory(
            A,
            providers.Factory(B, providers.Factory(C), providers.Factory(D)),
            providers.Factory(E, providers.Factory(F)),
        )

    container = Container()
    container.settings()
    return (lambda: container.settings()), (lambda: container.a())


def _dishka() -> tuple[Callable[[], object], Callable[[], object]]:
    from dishka import Provider, Scope, make_container

    provider = Provider(scope=Scope.APP)
    provider.provide(Settings)
    for cls in GRAPH:
        provider.provide(cls, cache=False)
    container = make_container(provider)
    container.get(Settings)
    return (lambda: container.get(Settings)), (lambda: container.get(A))


def _svcs() -> tuple[Callable[[], object], Callable[[], object]]:
    import svcs

    registry = svcs.Registry()
    registry.register_factory(Settings, Settings)
    registry.register_factory(C, C)
    registry.register_factory(D, D)
    registry.register_factory(F, F)

    def make_b(svcs_container: svcs.Container) -> B:
        return B(svcs_container.get(C), svcs_container.get(D))

    def make_e(svcs_container: svcs.Container) -> E:
        return E(svcs_container.get(F))

    def make_a(svcs_container: svcs.Container) -> A:
        return A(svcs_container.get(B), svcs_container.get(E))

    registry.register_factory(B, make_b)
    registry.register_factory(E, make_e)
    registry.register_factory(A, make_a)
    container = svcs.Container(registry)
    container.get(Settings)
    # svcs caches every object per container: a fresh container per graph is its transient.
    return (lambda: container.get(Settings)), (lambda: svcs.Container(registry).get(A))


def _punq() -> tuple[Callable[[], object], Callable[[], object]]:
    import punq

    container = punq.Container()
    container.register(Settings, scope=punq.Scope.singleton)
    for cls in GRAPH:
        container.register(cls)
    container.resolve(Settings)
    return (lambda: container.resolve(Settings)), (lambda: container.resolve(A))


PEERS = {"dependency-injector": _dependency_injector, "dishka": _dishka, "svcs": _svcs, "punq": _punq}
SLOW = {"punq": 5_000}


def run() -> list[Row]:
    """Measure singleton lookup and transient graph construction for FlextContainer and its peers."""
    settings = Settings()
    table = {Settings: settings}
    dict_ns = ns_per_op(lambda: table[Settings])
    hand_ns = ns_per_op(lambda: A(B(C(), D()), E(F())), number=50_000)
    container = _flext()
    singleton, graph = (lambda: container.resolve(Settings)), (lambda: container.resolve(A))
    built = graph()
    if not (isinstance(built, A) and isinstance(built.b.c, C) and isinstance(built.e.f, F)):
        raise RuntimeError(f"the container built the wrong graph: {built!r}")
    singleton_row = Row(
        "container", "FlextContainer singleton", ns_per_op(singleton), "dict lookup", dict_ns, 5.0
    )
    graph_row = Row(
        "container",
        "FlextContainer 6-object graph",
        ns_per_op(graph, number=50_000),
        "hand-written",
        hand_ns,
        1.5,
    )
    rows = [singleton_row, graph_row]
    rows.append(
        Row(
            "container",
            "FlextContainer.get singleton (FlextResult)",
            ns_per_op(lambda: container.get(Settings)),
            "dict lookup",
            dict_ns,
        )
    )
    peer_graph: dict[str, float] = {}
    for name, setup in PEERS.items():
        try:
            peer_singleton, peer_build = setup()
        except ImportError:
            continue
        number = SLOW.get(name, 50_000)
        rows.append(
            Row(
                "container",
                f"{name} singleton",
                ns_per_op(peer_singleton, number=number),
                "dict lookup",
                dict_ns,
            )
        )
        peer_graph[name] = ns_per_op(peer_build, number=number)
        rows.append(Row("container", f"{name} 6-object graph", peer_graph[name], "hand-written", hand_ns))
    if "dependency-injector" in peer_graph:
        faster = graph_row.ns < peer_graph["dependency-injector"]
        graph_row.notes.append(f"faster than dependency-injector: {faster}")
    return rows


if __name__ == "__main__":
    print(json.dumps([asdict(row) | {"ratio": row.ratio, "met": row.met} for row in run()], indent=2))
