"""Static checks of the dependency graph: missing services, cycles, lifetime mismatches.

Run before a resolver is compiled (which raises the first problem) and by ``validate``
(every problem); nothing is built, the graph is read from the autowiring data.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, final

from flext_kernel._container_wiring import Param, describe_chain, describe_key
from flext_kernel.errors import CIRCULAR_DEPENDENCY, NOT_FOUND, VALIDATION_ERROR, FlextContainerError

__all__ = ["Lifetime", "Node", "analyze"]


class Lifetime(enum.Enum):
    """How long an object built by the container lives."""

    INSTANCE = "instance"
    """Given to ``register``: not built, not owned."""
    TRANSIENT = "transient"
    """Built anew on every resolve."""
    SINGLETON = "singleton"
    """Built once, on first resolve, and kept until the container closes."""
    SCOPED = "scoped"
    """Built once per ``container.scope()`` and closed with it."""


@final
@dataclass(frozen=True, slots=True)
class Node:
    """What the analysis needs to know about one registration."""

    lifetime: Lifetime
    """The registration's lifetime."""
    params: tuple[Param, ...] = ()
    """The factory's parameters (empty for instances)."""
    wiring_error: str | None = None
    """Why the factory cannot be autowired, if it cannot."""


_GRAY: Final = 1
_BLACK: Final = 2


def analyze(roots: Iterable[object], lookup: Callable[[object], Node | None]) -> list[FlextContainerError]:
    """Walk the graph from ``roots`` depth first and return its problems, each reported once.

    ``lookup(key)`` returns a key's node, or None. Each problem is an error with its code and chain.
    """
    walk = _Walk(lookup)
    for root in roots:
        if root not in walk.state:
            walk.root(root)
    return walk.problems


class _Walk:
    """Depth-first search with gray/black colouring; gray nodes form the current path."""

    def __init__(self, lookup: Callable[[object], Node | None]) -> None:
        self.lookup = lookup
        self.problems: list[FlextContainerError] = []
        self.state: dict[object, int] = {}
        self.path: list[object] = []
        # For a transient node: its chain through transients to a scoped service, if any
        # (a singleton reaching one would keep one scope's object forever).
        self.captures: dict[object, tuple[object, ...] | None] = {}

    def add(self, code: str, message: str, key: object, chain: tuple[object, ...], **extra: object) -> None:
        """Record one problem: its ``error_data`` names ``key`` and the ``chain`` that reached it."""
        data = {"key": describe_key(key), "chain": [describe_key(item) for item in chain], **extra}
        self.problems.append(FlextContainerError(message, code, data))

    def missing(self, key: object, chain: tuple[object, ...]) -> None:
        needed_by = f" (needed by {describe_chain(chain)})" if len(chain) > 1 else ""
        message = (
            f"no service registered for {describe_key(key)}{needed_by}; "
            f"register it with container.register_singleton({describe_key(key)}, ...)"
        )
        self.add(NOT_FOUND, message, key, chain)

    def root(self, key: object) -> None:
        node = self.lookup(key)
        if node is None:
            self.state[key] = _BLACK
            self.missing(key, (key,))
            return
        self.visit(key, node)

    def visit(self, key: object, node: Node) -> None:
        self.state[key] = _GRAY
        self.path.append(key)
        if node.wiring_error is not None:
            chain = tuple(self.path)
            self.add(VALIDATION_ERROR, f"{node.wiring_error} ({describe_chain(chain)})", key, chain)
        capture: tuple[object, ...] | None = None
        for param in node.params:
            found = self.edge(param)
            if found is not None and capture is None:
                capture = (key, *found)
        if node.lifetime is Lifetime.SINGLETON and capture is not None:
            self.captive(key, capture)
        self.captures[key] = capture if node.lifetime is Lifetime.TRANSIENT else None
        self.path.pop()
        self.state[key] = _BLACK

    def edge(self, param: Param) -> tuple[object, ...] | None:
        """Follow one parameter; return the chain to a scoped service it reaches through transients."""
        dep = param.key
        if dep is None:
            return None
        node = self.lookup(dep)
        if node is None:
            if not (param.has_default or param.optional):
                self.missing(dep, (*self.path, dep))
            return None
        state = self.state.get(dep)
        if state == _GRAY:
            self.cycle(dep)
            return None
        if state is None:
            self.visit(dep, node)
        if node.lifetime is Lifetime.SCOPED:
            return (dep,)
        return self.captures.get(dep)

    def cycle(self, dep: object) -> None:
        start = self.path.index(dep)
        cycle = (*self.path[start:], dep)
        chain = (*self.path, dep)
        reached = f" (reached from {describe_chain(self.path[: start + 1])})" if start else ""
        message = f"circular dependency: {describe_chain(cycle)}{reached}"
        self.add(CIRCULAR_DEPENDENCY, message, dep, chain, cycle=[describe_key(key) for key in cycle])

    def captive(self, key: object, capture: tuple[object, ...]) -> None:
        chain = (*self.path[:-1], *capture)
        message = (
            f"singleton {describe_key(key)} depends on scoped {describe_key(capture[-1])} "
            f"({describe_chain(capture)}): it would keep one scope's object forever; "
            f"make {describe_key(key)} scoped or transient"
        )
        self.add(VALIDATION_ERROR, message, key, chain)
