"""Property tests: random class graphs wire correctly; random cycles and gaps are reported exactly."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flext_kernel.container import FlextContainer
from flext_kernel.errors import CIRCULAR_DEPENDENCY, NOT_FOUND


@dataclass
class Graph:
    """Node i depends on the nodes in ``edges[i]``; ``classes[i]`` is node i's class."""

    edges: list[list[int]]
    singletons: set[int] = field(default_factory=set)
    classes: list[type[object]] = field(default_factory=list)
    built: list[object] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.classes = [self._make_class(i) for i in range(len(self.edges))]
        for i, deps in enumerate(self.edges):
            init = self.classes[i].__init__
            init.__annotations__ = {f"p{j}": self.classes[j] for j in deps}

    def _make_class(self, index: int) -> type[object]:
        params = "".join(f", p{j}" for j in self.edges[index])
        values = "".join(f"p{j}, " for j in self.edges[index])
        namespace: dict[str, object] = {"built": self.built}
        exec(f"def __init__(self{params}):\n    self.deps = ({values})\n    built.append(self)\n", namespace)
        return type(f"N{index}", (), {"__init__": namespace["__init__"]})

    def container(self, registered: set[int] | None = None) -> FlextContainer:
        container = FlextContainer()
        for i, cls in enumerate(self.classes):
            if registered is None or i in registered:
                if i in self.singletons:
                    container.register_singleton(cls)
                else:
                    container.register_factory(cls)
        return container


@st.composite
def dags(draw: st.DrawFn) -> Graph:
    """A random DAG: edges only go from a lower to a higher index."""
    n = draw(st.integers(1, 8))
    edges = [
        sorted(draw(st.sets(st.integers(i + 1, n - 1), max_size=3))) if i < n - 1 else [] for i in range(n)
    ]
    singletons = draw(st.sets(st.integers(0, n - 1)))
    return Graph(edges, singletons)


@st.composite
def cyclic_graphs(draw: st.DrawFn) -> tuple[Graph, list[int]]:
    """A random DAG plus one back edge closing a cycle along a forward path; returns the cycle too."""
    n = draw(st.integers(1, 8))
    path = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
    edges = [
        set(draw(st.sets(st.integers(i + 1, n - 1), max_size=2))) if i < n - 1 else set() for i in range(n)
    ]
    for a, b in itertools.pairwise(path):
        edges[a].add(b)
    edges[path[-1]].add(path[0])  # the back edge (a self-loop when the path is one node)
    singletons = draw(st.sets(st.integers(0, n - 1)))
    return Graph([sorted(deps) for deps in edges], singletons), [*path, path[0]]


def _check_structure(graph: Graph, obj: object, index: int) -> None:
    assert type(obj) is graph.classes[index]
    deps = obj.deps  # type: ignore[attr-defined]
    assert len(deps) == len(graph.edges[index])
    for dep, j in zip(deps, graph.edges[index], strict=True):
        _check_structure(graph, dep, j)


@settings(max_examples=60, deadline=None)
@given(dags())
def test_random_dags_resolve_with_lifetimes_respected(graph: Graph) -> None:
    container = graph.container()
    assert container.validate().is_success
    assert graph.built == []
    for index, cls in enumerate(graph.classes):
        first, second = container.resolve(cls), container.resolve(cls)
        _check_structure(graph, first, index)
        assert (first is second) == (index in graph.singletons)
    assert graph.built  # the classes really were constructed by the container
    for index in graph.singletons:
        # Every path to a singleton ends at the one instance.
        instance = container.resolve(graph.classes[index])
        for parent, deps in enumerate(graph.edges):
            if index in deps:
                position = deps.index(index)
                parent_obj: Any = container.resolve(graph.classes[parent])
                assert parent_obj.deps[position] is instance


@settings(max_examples=30, deadline=None)
@given(dags())
def test_random_dags_resolve_the_same_with_aresolve(graph: Graph) -> None:
    container = graph.container()

    async def resolve_all() -> list[object]:
        return [await container.aresolve(cls) for cls in graph.classes]

    for index, obj in enumerate(asyncio.run(resolve_all())):
        _check_structure(graph, obj, index)


def _is_cycle_in(graph: Graph, names: list[str]) -> bool:
    indexes = [int(name.removeprefix("N")) for name in names]
    edges_exist = all(b in graph.edges[a] for a, b in itertools.pairwise(indexes))
    return len(indexes) >= 2 and indexes[0] == indexes[-1] and edges_exist


@settings(max_examples=80, deadline=None)
@given(cyclic_graphs())
def test_random_cycles_are_reported_with_the_whole_cycle_and_nothing_built(
    case: tuple[Graph, list[int]],
) -> None:
    graph, cycle = case
    container = graph.container()
    result = container.validate()
    assert result.is_failure
    assert result.error_code == CIRCULAR_DEPENDENCY
    problems = result.error_data["errors"]
    assert isinstance(problems, list)
    for problem in problems:
        reported = problem["error_data"]["cycle"]
        assert _is_cycle_in(graph, reported)
        assert " -> ".join(reported) in problem["error"]
    # Resolving a node on the known cycle fails at once with a real cycle.
    start = container.get(graph.classes[cycle[0]])
    assert start.error_code == CIRCULAR_DEPENDENCY
    assert _is_cycle_in(graph, start.error_data["cycle"])  # type: ignore[arg-type]
    assert graph.built == []


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8))
def test_a_ring_is_reported_exactly_from_its_first_registration(n: int) -> None:
    graph = Graph([[(i + 1) % n] for i in range(n)])
    result = graph.container().validate()
    ring = " -> ".join(f"N{i}" for i in [*range(n), 0])
    assert result.error == f"circular dependency: {ring}"
    assert result.error_data["errors"][0]["error_data"]["cycle"] == ring.split(" -> ")  # type: ignore[index]


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_every_missing_edge_is_reported_once_with_its_chain(graph: Graph, data: st.DataObject) -> None:
    n = len(graph.edges)
    registered = data.draw(st.sets(st.integers(0, n - 1)))
    container = graph.container(registered)
    expected = {(f"N{a}", f"N{b}") for a in registered for b in graph.edges[a] if b not in registered}
    result = container.validate()
    if not expected:
        assert result.is_success
        return
    assert result.error_code == NOT_FOUND
    problems = result.error_data["errors"]
    assert isinstance(problems, list)
    edges = [tuple(problem["error_data"]["chain"][-2:]) for problem in problems]
    assert sorted(edges) == sorted(expected)
    for problem in problems:
        chain = [int(name.removeprefix("N")) for name in problem["error_data"]["chain"]]
        assert all(b in graph.edges[a] for a, b in itertools.pairwise(chain))
        assert chain[0] in registered
    assert graph.built == []
