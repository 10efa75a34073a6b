"""InflightTracker: each plugin's running bus pipelines, for hot reload (docs/kernel/plugin-host.md)."""

from __future__ import annotations

import sys
import time
from collections.abc import Collection
from types import CodeType, FrameType
from typing import Any, Final, final

from flext_kernel._dispatch import AsyncNext, Next
from flext_kernel.result import FlextResult

__all__ = ["InflightTracker"]

_POLL_SECONDS: Final = 0.001


@final
class _Owner:
    """The running calls of one owner, and the token its current pipelines were compiled with."""

    __slots__ = ("running", "token")

    def __init__(self) -> None:
        self.running: list[bool] = []
        """One entry per call running now; only its length matters."""
        self.token = object()
        """Replaced by ``retire``; a pipeline compiled with an older token is retired."""


def _tracked(state: _Owner, pipeline: Next, reroute: Next) -> Next:
    append, pop, token = state.running.append, state.running.pop, state.token

    def tracked(message: Any) -> FlextResult[Any]:
        # The hot path of every owned dispatch. Counting before checking the
        # token means that whoever retires this pipeline and then waits for
        # idleness either sees this call or makes it reroute; never neither.
        append(True)
        try:
            if state.token is token or _inside((state,), sys._getframe(1)):
                return pipeline(message)
        finally:
            pop()
        return reroute(message)

    return tracked


def _tracked_async(state: _Owner, pipeline: AsyncNext, reroute: AsyncNext) -> AsyncNext:
    append, pop, token = state.running.append, state.running.pop, state.token

    async def tracked(message: Any) -> FlextResult[Any]:
        append(True)
        try:
            if state.token is token or _inside((state,), sys._getframe(1)):
                return await pipeline(message)
        finally:
            pop()
        return await reroute(message)

    return tracked


_TRACKED_CODES: Final = frozenset(
    code
    for factory in (_tracked, _tracked_async)
    for code in factory.__code__.co_consts
    if isinstance(code, CodeType)
)
"""The code of the ``tracked`` functions the factories make: what ``_inside`` looks for on the stack."""


def _inside(states: Collection[_Owner], frame: FrameType | None) -> bool:
    """True if ``frame`` or a caller of it is a tracked call of one of ``states`` (slow path only)."""
    while frame is not None:
        if frame.f_code in _TRACKED_CODES:
            found = frame.f_locals.get("state")
            if any(found is state for state in states):
                return True
        frame = frame.f_back
    return False


class InflightTracker:
    """Counts running bus pipelines per owner (plugin name); implements the buses' ``OwnerTracker``."""

    def __init__(self) -> None:
        self._owners: dict[str, _Owner] = {}

    def _owner(self, name: str) -> _Owner:
        # setdefault is one atomic dict operation: two threads asking at once get the same state.
        found = self._owners.get(name)
        return found if found is not None else self._owners.setdefault(name, _Owner())

    def track(self, owner: str, pipeline: Next, reroute: Next) -> Next:
        """Return ``pipeline`` wrapped so that its calls count as ``owner``'s.

        Once retired, it runs ``reroute`` instead, except for calls from inside ``owner``'s own.
        """
        return _tracked(self._owner(owner), pipeline, reroute)

    def track_async(self, owner: str, pipeline: AsyncNext, reroute: AsyncNext) -> AsyncNext:
        """Like ``track``, for the async paths."""
        return _tracked_async(self._owner(owner), pipeline, reroute)

    def running(self, owner: str) -> int:
        """Return how many of ``owner``'s pipelines are running now."""
        state = self._owners.get(owner)
        return 0 if state is None else len(state.running)

    def running_here(self, owners: Collection[str]) -> bool:
        """Return True if the caller is running inside a pipeline of one of ``owners`` (walks the stack)."""
        return _inside([self._owner(owner) for owner in owners], sys._getframe(1))

    def retire(self, owners: Collection[str]) -> None:
        """Retire the pipelines compiled so far for ``owners``: calls through them are rerouted."""
        for owner in owners:
            self._owner(owner).token = object()

    def wait_idle(self, owners: Collection[str], timeout: float) -> bool:
        """Wait until no pipeline of ``owners`` runs; False if that takes longer than ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        states = [self._owner(owner) for owner in owners]
        while any(state.running for state in states):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)
        return True
