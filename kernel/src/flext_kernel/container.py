"""FlextContainer: dependency injection with compiled resolvers, scopes and owners.

Plugins register services under a key (a type, or a string); consumers resolve
the key and never learn which plugin provided it. See docs/kernel/container.md.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import inspect
import itertools
import linecache
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar, final, overload

from flext_kernel._container_graph import Lifetime, Node, analyze
from flext_kernel._container_wiring import Param, WiringError, describe_chain, describe_key, introspect
from flext_kernel.errors import (
    ALREADY_REGISTERED,
    ASYNC_REQUIRED,
    CIRCULAR_DEPENDENCY,
    SCOPE_ERROR,
    FlextContainerError,
)
from flext_kernel.result import Failure, FlextResult, Success

if TYPE_CHECKING:
    import asyncio

__all__ = ["ContainerScope", "FlextContainer"]

T = TypeVar("T")

_MISSING: Final[Any] = object()
_INSTANCE_NODE: Final = Node(Lifetime.INSTANCE)

Factory = Callable[..., T] | Callable[..., Awaitable[T]]


@final
class _Registration:
    """One key's recipe: lifetime, instance or factory, owner; autowiring data filled lazily."""

    __slots__ = ("is_async", "key", "lifetime", "owner", "params", "partial", "provider")

    def __init__(self, key: object, lifetime: Lifetime, provider: Any, owner: str | None) -> None:
        self.key = key
        self.lifetime = lifetime
        self.provider = provider
        self.owner = owner
        self.is_async = lifetime is not Lifetime.INSTANCE and inspect.iscoroutinefunction(provider)
        self.params: tuple[Param, ...] | None = None
        # True while a string annotation names a type nobody registered: the params are
        # read again after each change, and its singleton depends on every key meanwhile.
        self.partial = False


class _Owned(NamedTuple):
    """A singleton the container built and must close: what, for which key, for which owner."""

    key: object
    instance: object
    owner: str | None


@final
class FlextContainer:
    """A registry of services and the objects built from it; closes what it built.

    Every ``register*`` takes ``owner=`` (the plugin's name, for ``remove_owner``) and
    ``replace=`` (without it, a second registration of a key raises ``ALREADY_REGISTERED``).
    """

    __slots__ = (
        "__weakref__",
        "_aresolvers",
        "_builders",
        "_creating",
        "_generation",
        "_instances",
        "_key_locks",
        "_lock",
        "_owned",
        "_pending",
        "_registrations",
        "_resolvers",
        "_scope_var",
    )

    def __init__(self) -> None:
        self._registrations: dict[object, _Registration] = {}
        # Registered instances and created singletons: the hot path looks here first.
        self._instances: dict[object, Any] = {}
        self._resolvers: dict[object, Callable[[], Any]] = {}
        self._aresolvers: dict[object, tuple[Callable[[], Any], bool]] = {}
        self._builders: dict[tuple[object, bool], tuple[Callable[[], Any], bool]] = {}
        self._owned: list[_Owned] = []
        # Bumped by every registration change: an object built from an older
        # generation is handed out but not cached (what it was built from changed).
        self._generation = 0
        self._pending: dict[object, concurrent.futures.Future[None]] = {}
        self._key_locks: dict[object, threading.RLock] = {}
        self._lock = threading.RLock()
        self._scope_var: contextvars.ContextVar[ContainerScope | None] = contextvars.ContextVar(
            f"flext_container_scope_{id(self):x}", default=None
        )
        # Singletons being built in this thread or task: a factory that resolves what is
        # being built makes a cycle the static checks cannot see.
        self._creating: contextvars.ContextVar[tuple[object, ...]] = contextvars.ContextVar(
            f"flext_container_creating_{id(self):x}", default=()
        )

    def __repr__(self) -> str:
        return f"<FlextContainer with {len(self._registrations)} registrations>"

    def __contains__(self, key: object) -> bool:
        return key in self._registrations

    # Registration.

    def register(
        self, key: type[T] | str, instance: T, *, owner: str | None = None, replace: bool = False
    ) -> None:
        """Register an object you built; ``resolve(key)`` returns it as is, and nothing here closes it."""
        self._add(_Registration(key, Lifetime.INSTANCE, instance, owner), replace)

    def register_factory(
        self,
        key: type[T] | str,
        factory: Factory[T] | None = None,
        *,
        owner: str | None = None,
        replace: bool = False,
    ) -> None:
        """Register a transient service: every resolve calls ``factory`` (default: ``key``); never closed."""
        self._add(_Registration(key, Lifetime.TRANSIENT, _factory(key, factory), owner), replace)

    def register_singleton(
        self,
        key: type[T] | str,
        factory: Factory[T] | None = None,
        *,
        owner: str | None = None,
        replace: bool = False,
    ) -> None:
        """Register a singleton: built on first resolve, exactly once even under threads, then kept."""
        self._add(_Registration(key, Lifetime.SINGLETON, _factory(key, factory), owner), replace)

    def register_scoped(
        self,
        key: type[T] | str,
        factory: Factory[T] | None = None,
        *,
        owner: str | None = None,
        replace: bool = False,
    ) -> None:
        """Register a scoped service: one object per ``container.scope()``, closed when it ends."""
        self._add(_Registration(key, Lifetime.SCOPED, _factory(key, factory), owner), replace)

    def remove_owner(self, name: str) -> int:
        """Remove every registration made with ``owner=name``; return how many.

        Closes the singletons built for them or on them, except ``aclose()``-only
        ones (``aremove_owner`` closes those too).
        """
        with self._lock:
            count, released = self._remove_owner(name, asynchronous=False)
        _close_in_reverse(released)
        return count

    async def aremove_owner(self, name: str) -> int:
        """Like ``remove_owner``, awaiting ``aclose()`` where objects have one."""
        with self._lock:
            count, released = self._remove_owner(name, asynchronous=True)
        await _aclose_in_reverse(released)
        return count

    @contextmanager
    def override(self, key: type[T] | str, instance: T) -> Iterator[T]:
        """Resolve ``key`` to ``instance`` inside the ``with`` block (for tests); restore it after.

        Singletons built on the old registration are set aside meanwhile and come back.
        """
        with self._lock:
            previous = self._registrations.get(key)
            stashed = self._evict(self._dependents([key]))
            current = _Registration(key, Lifetime.INSTANCE, instance, previous.owner if previous else None)
            self._set(key, current)
            self._invalidate()
        try:
            yield instance
        finally:
            with self._lock:
                self._evict(self._dependents([key]))
                if self._registrations.get(key) is current:
                    self._set(key, previous)
                for stashed_key, (registration, value) in stashed.items():
                    if self._registrations.get(stashed_key) is registration:
                        self._instances.setdefault(stashed_key, value)
                self._invalidate()

    # Resolution. `resolve` and `aresolve` are the hot path: one or two dict lookups and
    # one call of a compiled function. The overloads take `type[T] | str`: mypy refuses
    # an abstract class or a Protocol as a bare `type[T]`, and abstract keys are the point.
    @overload
    def resolve(self, key: str) -> Any: ...
    @overload
    def resolve(self, key: type[T] | str) -> T: ...
    def resolve(self, key: type[T] | str) -> T | Any:
        """Return the service for ``key``, or raise ``FlextContainerError`` naming the chain."""
        instances = self._instances
        if key in instances:
            try:
                return instances[key]
            except KeyError:  # dropped by another thread between the two lookups
                pass
        try:
            resolver = self._resolvers[key]
        except KeyError:
            resolver = self._compile(key, asynchronous=False)[0]
        return resolver()

    @overload
    def get(self, key: str) -> FlextResult[Any]: ...
    @overload
    def get(self, key: type[T] | str) -> FlextResult[T]: ...
    def get(self, key: type[T] | str) -> FlextResult[T] | FlextResult[Any]:
        """Return the service for ``key``, or a failure with its code; factories' own errors propagate."""
        try:
            return Success(self.resolve(key))
        except FlextContainerError as error:
            return Failure(error.message, error.error_code, error.error_data)

    @overload
    async def aresolve(self, key: str) -> Any: ...
    @overload
    async def aresolve(self, key: type[T] | str) -> T: ...
    async def aresolve(self, key: type[T] | str) -> T | Any:
        """Like ``resolve``, awaiting async factories anywhere in the graph."""
        instances = self._instances
        if key in instances:
            try:
                return instances[key]
            except KeyError:  # dropped by another thread between the two lookups
                pass
        try:
            resolver, is_coroutine = self._aresolvers[key]
        except KeyError:
            resolver, is_coroutine = self._compile(key, asynchronous=True)
        if is_coroutine:
            return await resolver()
        return resolver()

    @overload
    async def aget(self, key: str) -> FlextResult[Any]: ...
    @overload
    async def aget(self, key: type[T] | str) -> FlextResult[T]: ...
    async def aget(self, key: type[T] | str) -> FlextResult[T] | FlextResult[Any]:
        """Like ``get``, awaiting async factories anywhere in the graph."""
        try:
            return Success(await self.aresolve(key))
        except FlextContainerError as error:
            return Failure(error.message, error.error_code, error.error_data)

    def validate(self) -> FlextResult[None]:
        """Check every registration without building anything; ``error_data["errors"]`` lists each problem.

        Reports missing services, cycles, parameters that cannot be autowired and
        singletons that depend on scoped services, each with its code and chain.
        """
        with self._lock:
            errors = analyze(list(self._registrations), self._node)
        if not errors:
            return FlextResult.ok(None)
        failures: list[FlextResult[None]] = [Failure(e.message, e.error_code, e.error_data) for e in errors]
        return FlextResult.collect_errors(failures).map(lambda _: None)

    def scope(self) -> ContainerScope:
        """Return a new scope; enter it with ``with`` (or ``async with`` to ``aclose`` its objects)."""
        return ContainerScope(self)

    # Disposal.

    def close(self) -> None:
        """Close the singletons the container built, last created first; registrations stay.

        ``aclose()``-only objects stay open and are reported with ``ASYNC_REQUIRED``.
        """
        with self._lock:
            released = self._take_owned(lambda entry: _closes_synchronously(entry.instance))
            pending = [describe_key(entry.key) for entry in self._owned]
        _close_in_reverse(released)
        if pending:
            raise _aclose_required(pending, "use await container.aclose()")

    async def aclose(self) -> None:
        """Close the singletons the container built, awaiting ``aclose()`` where they have one."""
        with self._lock:
            released = self._take_owned(lambda entry: True)
        await _aclose_in_reverse(released)

    def __enter__(self) -> FlextContainer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> FlextContainer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # Internals. What touches the dicts runs under `_lock`, except the hot path's reads.

    def _add(self, registration: _Registration, replace: bool) -> None:
        key = registration.key
        with self._lock:
            previous = self._registrations.get(key)
            if previous is not None and not replace:
                raise FlextContainerError(
                    f"{describe_key(key)} is already registered (by {_describe_owner(previous.owner)}); "
                    "pass replace=True to replace it",
                    ALREADY_REGISTERED,
                    {"key": describe_key(key), "owner": previous.owner},
                )
            # Singletons built on the old state (or on a default because `key` was missing) are stale.
            released = self._release([key], None, asynchronous=False)
            self._set(key, registration)
            self._invalidate()
        _close_in_reverse(released)

    def _set(self, key: object, registration: _Registration | None) -> None:
        """Make ``registration`` the recipe for ``key`` (None: remove it), keeping the ready dict in step."""
        self._instances.pop(key, None)
        if registration is None:
            self._registrations.pop(key, None)
            return
        self._registrations[key] = registration
        if registration.lifetime is Lifetime.INSTANCE:
            self._instances[key] = registration.provider

    def _remove_owner(self, name: str, *, asynchronous: bool) -> tuple[int, list[object]]:
        keys = [key for key, registration in self._registrations.items() if registration.owner == name]
        released = self._release(keys, name, asynchronous=asynchronous)
        for key in keys:
            self._set(key, None)
        self._invalidate()
        return len(keys), released

    def _dependents(self, keys: Iterable[object]) -> set[object]:
        """Return ``keys`` and every registration that depends on one of them, transitively."""
        reverse: dict[object, list[object]] = {}
        for key, registration in self._registrations.items():
            for param in registration.params or ():
                reverse.setdefault(param.key, []).append(key)
        found = set(keys)
        found.update(key for key, registration in self._registrations.items() if registration.partial)
        todo = list(found)
        while todo:
            for dependent in reverse.get(todo.pop(), ()):
                if dependent not in found:
                    found.add(dependent)
                    todo.append(dependent)
        return found

    def _evict(self, keys: Iterable[object]) -> dict[object, tuple[_Registration, Any]]:
        """Drop the created singletons of ``keys`` from the ready dict; return them, with their recipes."""
        evicted: dict[object, tuple[_Registration, Any]] = {}
        for key in keys:
            registration = self._registrations.get(key)
            if (
                registration is not None
                and registration.lifetime is Lifetime.SINGLETON
                and key in self._instances
            ):
                evicted[key] = (registration, self._instances.pop(key))
        return evicted

    def _release(self, keys: Iterable[object], owner: str | None, *, asynchronous: bool) -> list[object]:
        """Evict the singletons built on ``keys``; take them, and all of ``owner``'s, out of the owned list.

        Returns them in creation order. Unless ``asynchronous``, ``aclose()``-only ones stay owned.
        """
        evicted_ids = {id(value) for _, value in self._evict(self._dependents(keys)).values()}

        def wanted(entry: _Owned) -> bool:
            mine = id(entry.instance) in evicted_ids or (owner is not None and entry.owner == owner)
            return mine and (asynchronous or _closes_synchronously(entry.instance))

        return self._take_owned(wanted)

    def _take_owned(self, wanted: Callable[[_Owned], bool]) -> list[object]:
        taken: list[object] = []
        kept: list[_Owned] = []
        for entry in self._owned:
            if wanted(entry):
                taken.append(entry.instance)
                if self._instances.get(entry.key, _MISSING) is entry.instance:
                    del self._instances[entry.key]
            else:
                kept.append(entry)
        self._owned[:] = kept
        return taken

    def _invalidate(self) -> None:
        self._generation += 1
        self._resolvers.clear()
        self._aresolvers.clear()
        self._builders.clear()
        for registration in self._registrations.values():
            if registration.partial:
                registration.params = None

    # Compilation: checks first, then code generation. Runs under `_lock`.

    def _node(self, key: object) -> Node | None:
        registration = self._registrations.get(key)
        if registration is None:
            return None
        if registration.lifetime is Lifetime.INSTANCE:
            return _INSTANCE_NODE
        try:
            return Node(registration.lifetime, self._params(registration))
        except WiringError as error:
            return Node(registration.lifetime, (), str(error))

    def _params(self, registration: _Registration) -> tuple[Param, ...]:
        params = registration.params
        if params is None:
            params, complete = introspect(registration.provider, self._type_names)
            registration.params, registration.partial = params, not complete
        return params

    def _type_names(self) -> dict[str, object]:
        return {key.__name__: key for key in self._registrations if isinstance(key, type)}

    def _check(self, key: object) -> None:
        errors = analyze([key], self._node)
        if errors:
            raise errors[0]

    def _compile(self, key: object, *, asynchronous: bool) -> tuple[Callable[[], Any], bool]:
        """Check ``key``'s graph, then compile and cache its resolver; return it and whether it awaits."""
        with self._lock:
            self._check(key)
            registration = self._registrations[key]
            entry: tuple[Callable[[], Any], bool]
            if registration.lifetime is Lifetime.INSTANCE:
                entry = (functools.partial(_identity, registration.provider), False)
            elif registration.lifetime is Lifetime.TRANSIENT:
                entry = self._builder(key, asynchronous=asynchronous)
            else:
                entry = self._getter(registration, (key,), asynchronous)
            if asynchronous:
                self._aresolvers[key] = entry
            else:
                self._resolvers[key] = entry[0]
            return entry

    def _getter(
        self, registration: _Registration, chain: tuple[object, ...], asynchronous: bool
    ) -> tuple[Callable[[], Any], bool]:
        """Return the function that finds or creates a singleton or scoped object, and whether it awaits."""
        key = registration.key
        needs_await = asynchronous and self._builder(key, asynchronous=True)[1]
        if registration.lifetime is Lifetime.SCOPED:
            return self._scoped_getter(key, chain, asynchronous=needs_await), needs_await
        if needs_await:
            return functools.partial(self._acreate_singleton, key), True
        return functools.partial(self._create_singleton, key, chain), False

    def _builder(self, key: object, *, asynchronous: bool) -> tuple[Callable[[], Any], bool]:
        """Return a function that builds a new object for ``key``, and whether it is a coroutine function.

        Without ``asynchronous`` it never is: an async factory in the graph raises ``ASYNC_REQUIRED``.
        """
        with self._lock:
            built = self._builders.get((key, asynchronous))
            if built is None:
                self._check(key)
                source = _SourceBuilder()
                expression = self._construct(self._registrations[key], source, asynchronous, (key,))
                built = (source.function(expression, label=describe_key(key)), source.awaits)
                self._builders[key, asynchronous] = built
            return built

    def _construct(
        self,
        registration: _Registration,
        source: _SourceBuilder,
        asynchronous: bool,
        chain: tuple[object, ...],
    ) -> str:
        """Return the source of the call that builds ``registration``'s object from its dependencies."""
        arguments = [
            (param, self._argument(param, source, asynchronous, chain))
            for param in self._params(registration)
        ]
        call = source.call(source.bind(registration.provider, describe_key(registration.key)), arguments)
        if not registration.is_async:
            return call
        if not asynchronous:
            raise _async_required(describe_key(registration.key), [describe_key(k) for k in chain])
        return source.awaited(call)

    def _sync_builder(self, key: object, chain: tuple[object, ...]) -> Callable[[], Any]:
        """Return ``key``'s sync builder; an ``ASYNC_REQUIRED`` error names the whole ``chain`` to it."""
        try:
            return self._builder(key, asynchronous=False)[0]
        except FlextContainerError as error:
            inner = error.error_data.get("chain")
            if error.error_code != ASYNC_REQUIRED or len(chain) < 2 or not isinstance(inner, list):
                raise
            outer = [describe_key(k) for k in chain[:-1]]
            raise _async_required(str(error.error_data["key"]), [*outer, *inner]) from None

    def _argument(
        self, param: Param, source: _SourceBuilder, asynchronous: bool, chain: tuple[object, ...]
    ) -> str | None:
        """Return the source of one argument, or None to let the parameter's default apply."""
        if param.key is None:
            return None
        registration = self._registrations.get(param.key)
        if registration is None:  # the checks passed, so the parameter has a default or is optional
            return None if param.has_default else "None"
        key = param.key
        lifetime = registration.lifetime
        if lifetime is Lifetime.INSTANCE:
            return source.bind(registration.provider, describe_key(key))
        if lifetime is Lifetime.TRANSIENT:
            return self._construct(registration, source, asynchronous, (*chain, key))
        getter, needs_await = self._getter(registration, (*chain, key), asynchronous)
        call = f"{source.bind(getter, lifetime.value)}()"
        if needs_await:
            call = source.awaited(call)
        if lifetime is Lifetime.SCOPED:
            return call
        # A created singleton is one dict lookup away; only the first call creates it.
        lookup, bound_key, missing = (
            source.bind(self._instances.get, "lookup"),
            source.bind(key, "key"),
            source.bind(_MISSING),
        )
        value = source.local()
        return f"({value} if ({value} := {lookup}({bound_key}, {missing})) is not {missing} else {call})"

    # Creation of singletons and scoped objects (the slow path, once per object).

    def _create_singleton(self, key: object, chain: tuple[object, ...]) -> Any:
        with self._lock:
            value = self._instances.get(key, _MISSING)
            if value is not _MISSING:
                return value
            build = self._sync_builder(key, chain)
            registration, generation = self._registrations[key], self._generation
            key_lock = self._key_locks.setdefault(key, threading.RLock())
        # A lock per key: a slow factory must not stall unrelated resolves, and
        # without cycles two keys never wait on each other.
        with key_lock:
            value = self._instances.get(key, _MISSING)
            if value is not _MISSING:
                return value
            with self._creation(key):
                value = build()
            self._keep(key, registration, generation, value)
            return value

    async def _acreate_singleton(self, key: object) -> Any:
        while True:
            with self._lock:
                value = self._instances.get(key, _MISSING)
                if value is not _MISSING:
                    return value
                build, is_coroutine = self._builder(key, asynchronous=True)
                if not is_coroutine:
                    return self._create_singleton(key, (key,))
                self._check_creation_cycle(key)
                registration, generation = self._registrations[key], self._generation
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = concurrent.futures.Future()
                    break
            # Another task or thread is building it: wait, then look again (a failed build
            # wakes us too, and then this task tries in turn).
            import asyncio  # here, not at the top: importing the container must not load asyncio (and ssl)

            await asyncio.shield(asyncio.wrap_future(pending))
        try:
            with self._creation(key):
                value = await build()
            self._keep(key, registration, generation, value)
            return value
        finally:
            with self._lock:
                if self._pending.get(key) is pending:
                    del self._pending[key]
            pending.set_result(None)

    def _keep(self, key: object, registration: _Registration, generation: int, value: Any) -> None:
        with self._lock:
            if generation == self._generation:  # nothing changed while it was built
                self._instances[key] = value
            self._owned.append(_Owned(key, value, registration.owner))

    @contextmanager
    def _creation(self, key: object) -> Iterator[None]:
        self._check_creation_cycle(key)
        token = self._creating.set((*self._creating.get(), key))
        try:
            yield
        finally:
            self._creating.reset(token)

    def _check_creation_cycle(self, key: object) -> None:
        creating = self._creating.get()
        if key in creating:
            cycle = (*creating[creating.index(key) :], key)
            raise FlextContainerError(
                f"circular dependency: {describe_chain(cycle)} (a factory resolves what is being built)",
                CIRCULAR_DEPENDENCY,
                {"key": describe_key(key), "cycle": [describe_key(k) for k in cycle]},
            )

    def _scoped_getter(
        self, key: object, chain: tuple[object, ...], *, asynchronous: bool
    ) -> Callable[[], Any]:
        """Return the function that finds ``key``'s object in the active scope, creating it once."""
        scope_var = self._scope_var

        def scoped() -> Any:
            scope = scope_var.get()
            if scope is None:
                raise _no_scope(key, chain)
            value = scope._instances.get(key, _MISSING)
            return scope._create(key, chain) if value is _MISSING else value

        async def ascoped() -> Any:
            scope = scope_var.get()
            if scope is None:
                raise _no_scope(key, chain)
            value = scope._instances.get(key, _MISSING)
            return await scope._acreate(key) if value is _MISSING else value

        return ascoped if asynchronous else scoped


@final
class ContainerScope:
    """One unit of work (a request, a pipeline run): scoped services live and die with it.

    Each thread and asyncio task sees its own active scope (a context variable); scopes
    do not nest. On exit, the objects it created are closed, last created first.
    """

    __slots__ = ("_container", "_instances", "_lock", "_owned", "_pending", "_token")

    def __init__(self, container: FlextContainer) -> None:
        self._container = container
        self._instances: dict[object, Any] = {}
        self._owned: list[tuple[object, object]] = []
        self._pending: dict[object, asyncio.Future[None]] = {}
        self._lock = threading.RLock()
        self._token: contextvars.Token[ContainerScope | None] | None = None

    def __enter__(self) -> ContainerScope:
        if self._token is not None:
            raise FlextContainerError("this scope is already active; get a new one from container.scope()")
        self._token = self._container._scope_var.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._leave()
        self.close()

    async def __aenter__(self) -> ContainerScope:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._leave()
        await self.aclose()

    def close(self) -> None:
        """Close the scoped objects, last created first; raise ``ASYNC_REQUIRED`` for ``aclose``-only ones."""
        owned, self._owned = self._owned, []
        self._instances.clear()
        _close_in_reverse([value for _, value in owned if _closes_synchronously(value)])
        pending = [describe_key(key) for key, value in owned if not _closes_synchronously(value)]
        if pending:
            raise _aclose_required(pending, "use `async with container.scope():`", "scoped ")

    async def aclose(self) -> None:
        """Close the scoped objects, last created first, awaiting ``aclose()`` where they have one."""
        owned, self._owned = self._owned, []
        self._instances.clear()
        await _aclose_in_reverse([value for _, value in owned])

    def _leave(self) -> None:
        if self._token is not None:
            self._container._scope_var.reset(self._token)
            self._token = None

    def _create(self, key: object, chain: tuple[object, ...]) -> Any:
        with self._lock:
            value = self._instances.get(key, _MISSING)
            if value is _MISSING:
                build = self._container._sync_builder(key, chain)
                value = self._keep(key, build())
            return value

    async def _acreate(self, key: object) -> Any:
        import asyncio  # here, not at the top: importing the container must not load asyncio (and ssl)

        while True:
            value = self._instances.get(key, _MISSING)
            if value is not _MISSING:
                return value
            build, is_coroutine = self._container._builder(key, asynchronous=True)
            if not is_coroutine:
                return self._create(key, (key,))
            pending = self._pending.get(key)
            if pending is None:
                break
            await asyncio.shield(pending)  # a sibling task is building it; then look again
        pending = self._pending[key] = asyncio.get_running_loop().create_future()
        try:
            return self._keep(key, await build())
        finally:
            del self._pending[key]
            pending.set_result(None)

    def _keep(self, key: object, value: Any) -> Any:
        self._instances[key] = value
        self._owned.append((key, value))
        return value


# Code generation: resolving should cost what the constructor calls cost when written
# by hand, so the container writes them (see "How it works inside" in the docs).

_NOT_IDENTIFIER: Final = re.compile(r"\W")
_POSITIONAL_ONLY: Final = inspect.Parameter.POSITIONAL_ONLY
_KEYWORD_ONLY: Final = inspect.Parameter.KEYWORD_ONLY
_counter: Final = itertools.count()


@final
class _SourceBuilder:
    """Collects the objects one generated function refers to, then builds it."""

    __slots__ = ("_names", "awaits", "namespace")

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        """The generated function's globals: every bound object by its name."""
        self.awaits = False
        """True once an ``await`` was emitted: the function must be a coroutine."""
        self._names: dict[int, str] = {}

    def bind(self, obj: object, hint: str = "obj") -> str:
        """Return the global name under which the generated code sees ``obj``."""
        name = self._names.get(id(obj))
        if name is None:
            name = f"_{_NOT_IDENTIFIER.sub('_', hint)}_{len(self.namespace)}"
            self.namespace[name] = obj  # also keeps obj alive, so its id stays unique
            self._names[id(obj)] = name
        return name

    def local(self) -> str:
        """Return a fresh local variable name (for ``:=`` in singleton lookups)."""
        return f"_v{len(self.namespace)}_{next(_counter)}"

    def awaited(self, call: str) -> str:
        """Return ``(await call)`` and remember that the function is a coroutine."""
        self.awaits = True
        return f"(await {call})"

    def call(self, function: str, arguments: Sequence[tuple[Param, str | None]]) -> str:
        """Return the source of a call, passing each argument the way its parameter takes it.

        An argument of None lets the default apply: later arguments then go by keyword
        (a positional-only parameter gets its default passed explicitly instead).
        """
        parts: list[str] = []
        by_keyword = False
        for param, expression in arguments:
            if expression is None:
                if param.kind is _POSITIONAL_ONLY:
                    parts.append(self.bind(param.default, "default"))
                else:
                    by_keyword = True
                continue
            if param.kind is _KEYWORD_ONLY or (by_keyword and param.kind is not _POSITIONAL_ONLY):
                parts.append(f"{param.name}={expression}")
            else:
                parts.append(expression)
        return f"{function}({', '.join(parts)})"

    def function(self, expression: str, *, label: str) -> Callable[[], Any]:
        """Compile ``return expression`` into a function (a coroutine function if it awaits)."""
        name = f"resolve_{_NOT_IDENTIFIER.sub('_', label)}"
        keyword = "async def" if self.awaits else "def"
        source = f"{keyword} {name}():\n    return {expression}\n"
        # In linecache so that a traceback through a factory shows the generated line;
        # one entry per key name, so recompiling replaces it.
        filename = f"<flext-container {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        exec(compile(source, filename, "exec"), self.namespace)  # our own generated source
        function: Callable[[], Any] = self.namespace[name]
        return function


# Helpers.


def _factory(key: object, factory: Callable[..., Any] | None) -> Callable[..., Any]:
    if factory is None:
        if not isinstance(key, type):
            raise TypeError(f"a factory is required for the key {describe_key(key)}")
        return key
    if not callable(factory):
        raise TypeError(f"the factory for {describe_key(key)} is not callable: {factory!r}")
    return factory


def _identity(value: T) -> T:
    return value


def _aclose_required(keys: list[str], use: str, kind: str = "") -> FlextContainerError:
    return FlextContainerError(
        f"{kind}{', '.join(keys)} can only be closed with aclose(); {use}", ASYNC_REQUIRED, {"keys": keys}
    )


def _async_required(key: str, chain: list[str]) -> FlextContainerError:
    needed_by = f" (needed by {' -> '.join(chain)})" if len(chain) > 1 else ""
    return FlextContainerError(
        f"{key} has an async factory{needed_by}; use await container.aresolve({chain[0]})",
        ASYNC_REQUIRED,
        {"key": key, "chain": chain},
    )


def _no_scope(key: object, chain: tuple[object, ...]) -> FlextContainerError:
    needed_by = f" (needed by {describe_chain(chain)})" if len(chain) > 1 else ""
    return FlextContainerError(
        f"{describe_key(key)} is scoped and no scope is active{needed_by}; "
        "resolve it inside `with container.scope():`",
        SCOPE_ERROR,
        {"key": describe_key(key), "chain": [describe_key(k) for k in chain]},
    )


def _describe_owner(owner: str | None) -> str:
    return "the application" if owner is None else f"plugin {owner!r}"


# Closing what the container built, last created first (as nested ``with`` blocks would).
# Every object is tried even when one fails; the errors are raised afterwards.


def _sync_closer(value: object) -> Callable[[], object] | None:
    close = getattr(value, "close", None)
    if callable(close) and not inspect.iscoroutinefunction(close):
        return close  # type: ignore[no-any-return]  # getattr on an arbitrary object
    return None


def _async_closer(value: object) -> Callable[[], Awaitable[object]] | None:
    for name in ("aclose", "close"):
        close = getattr(value, name, None)
        if callable(close) and inspect.iscoroutinefunction(close):
            return close  # type: ignore[no-any-return]  # getattr on an arbitrary object
    return None


def _closes_synchronously(value: object) -> bool:
    """Return True unless the object can only be closed by awaiting ``aclose()``."""
    return _sync_closer(value) is not None or _async_closer(value) is None


def _close_in_reverse(values: list[object]) -> None:
    """Call ``close()`` on each object that has one, last created first; raise what they raised after."""
    errors: list[Exception] = []
    for value in reversed(values):
        close = _sync_closer(value)
        if close is None:
            continue
        try:
            close()
        except Exception as error:  # one failing close must not leave the others open
            errors.append(error)
    _raise_all(errors)


async def _aclose_in_reverse(values: list[object]) -> None:
    """Like ``_close_in_reverse``, preferring an awaitable ``aclose()`` where there is one."""
    errors: list[Exception] = []
    for value in reversed(values):
        aclose = _async_closer(value)
        close = _sync_closer(value)
        try:
            if aclose is not None:
                await aclose()
            elif close is not None:
                close()
        except Exception as error:  # one failing close must not leave the others open
            errors.append(error)
    _raise_all(errors)


def _raise_all(errors: list[Exception]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup("closing services failed", errors)
