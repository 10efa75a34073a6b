"""FlextResult: the railway type every kernel call returns for expected failures.

A result is a ``Success`` holding a value or a ``Failure`` holding an error
message, an optional UPPER_SNAKE code and structured data. Exceptions raised by
the functions handed to ``map``, ``flat_map``, ``tap`` and friends are bugs and
propagate; ``safe`` and ``from_exception`` turn expected ones into failures.
Design and typing notes: docs/kernel/result.md.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, Never, NoReturn, ParamSpec, TypeVar, overload

from flext_kernel.correlation import current_correlation_id
from flext_kernel.errors import MULTIPLE_ERRORS, OPERATION_ERROR, FlextResultError

__all__ = ["MULTIPLE_ERRORS", "Failure", "FlextResult", "Success", "safe"]

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")

_NO_DATA: Final[Mapping[str, object]] = MappingProxyType({})


class FlextResult(Generic[T_co]):
    """Either a success with a value or a failure with an error; immutable.

    Build one with ``FlextResult.ok(value)`` or ``FlextResult.fail(message,
    error_code=..., error_data=...)``; match on ``Success(value)`` and
    ``Failure(error, error_code, error_data)``.
    """

    __slots__ = ()

    is_success: ClassVar[bool]
    """True for a success."""
    is_failure: ClassVar[bool]
    """True for a failure."""

    # Accessors and the two chaining steps. Success and Failure override each with a slot, a class
    # attribute or their own method; these give them a type and a doc (help(), autospec).

    @property
    def value(self) -> T_co:
        """The success value; raises ``FlextResultError`` on a failure."""
        raise NotImplementedError  # always overridden

    @property
    def error(self) -> str | None:
        """The failure message, or None on a success."""
        raise NotImplementedError  # always overridden

    @property
    def error_code(self) -> str | None:
        """The failure's error code, or None."""
        raise NotImplementedError  # always overridden

    @property
    def error_data(self) -> Mapping[str, object]:
        """The failure's structured details (read-only; empty on a success)."""
        raise NotImplementedError  # always overridden

    @property
    def correlation_id(self) -> str | None:
        """The correlation id in force when the failure was made (None on a success); not part of equality."""
        raise NotImplementedError  # always overridden

    def map(self, fn: Callable[[T_co], U]) -> FlextResult[U]:
        """Apply ``fn`` to the value; a failure passes through unchanged."""
        raise NotImplementedError  # always overridden

    def flat_map(self, fn: Callable[[T_co], FlextResult[U]]) -> FlextResult[U]:
        """Chain a result-returning step; a failure passes through unchanged."""
        raise NotImplementedError  # always overridden

    bind = flat_map

    @staticmethod
    def ok(value: T) -> FlextResult[T]:
        """Return a success holding ``value``."""
        # Without the compiled storage: filled as a writable _WritableSuccess, then given its
        # public class (see there). With it, ``ok`` is the class Success itself (end of module).
        # `building` is Any while it is written: mypy sees `value` as read-only.
        building: Any = _WritableSuccess()
        building.value = value
        building.__class__ = Success
        done: FlextResult[T] = building
        return done

    @staticmethod
    def fail(
        error: str, error_code: str | None = None, error_data: Mapping[str, object] | None = None
    ) -> Failure:
        """Return a failure with a message, an optional code and details."""
        building: Any = _FailureSlots()
        building.error = error
        building.error_code = error_code
        building.error_data = _NO_DATA if not error_data else MappingProxyType(dict(error_data))
        building.correlation_id = _correlation_id()
        building.__class__ = Failure
        done: Failure = building
        return done

    # Extraction.

    def unwrap(self) -> T_co:
        """Return the value, or raise ``FlextResultError`` for a failure."""
        return self.value

    def unwrap_or(self, default: U) -> T_co | U:
        """Return the value, or ``default`` for a failure."""
        return default if isinstance(self, Failure) else self.value

    def unwrap_or_else(self, fn: Callable[[str], U]) -> T_co | U:
        """Return the value, or ``fn(error)`` for a failure."""
        return fn(self.error) if isinstance(self, Failure) else self.value

    def to_exception(self) -> FlextResultError | None:
        """Return the failure as an exception (not raised), or None on a success."""
        if isinstance(self, Failure):
            return FlextResultError(self.error, self.error_code, self.error_data)
        return None

    # Transformations: a failure passes itself on, which its type allows (it is a FlextResult of any type).

    def map_error(self, fn: Callable[[str], str]) -> FlextResult[T_co]:
        """Rewrite the failure message (code and data are kept)."""
        if isinstance(self, Failure):
            rewritten = _fail(fn(self.error), self.error_code, self.error_data)
            _set_correlation_id(rewritten, self.correlation_id)  # still the action that failed
            return rewritten
        return self

    def recover(self, fn: Callable[[str], U]) -> FlextResult[T_co | U]:
        """Turn a failure into a success with ``fn(error)``."""
        if isinstance(self, Failure):
            return _ok(fn(self.error))
        return self

    def or_else(self, other: FlextResult[U] | Callable[[str], FlextResult[U]]) -> FlextResult[T_co | U]:
        """Return self on success, else ``other`` (or ``other(error)`` if callable)."""
        if not isinstance(self, Failure):
            return self
        if isinstance(other, FlextResult):
            return other
        return other(self.error)

    def tap(self, fn: Callable[[T_co], object]) -> FlextResult[T_co]:
        """Call ``fn(value)`` for its side effect and return self."""
        if not isinstance(self, Failure):
            fn(self.value)
        return self

    def tap_error(self, fn: Callable[[str], object]) -> FlextResult[T_co]:
        """Call ``fn(error)`` on a failure for its side effect and return self."""
        if isinstance(self, Failure):
            fn(self.error)
        return self

    def filter(
        self, predicate: Callable[[T_co], bool], error: str, error_code: str | None = None
    ) -> FlextResult[T_co]:
        """Keep a success only if ``predicate(value)`` holds, else fail with ``error``."""
        if not isinstance(self, Failure) and not predicate(self.value):
            return _fail(error, error_code)
        return self

    def zip_with(self, other: FlextResult[U], fn: Callable[[T_co, U], V]) -> FlextResult[V]:
        """Combine two successes with ``fn``; the first failure wins."""
        if isinstance(self, Failure):
            return self
        if isinstance(other, Failure):
            return other
        return _ok(fn(self.value, other.value))

    # Async forms: the same tracks, for coroutine functions.

    async def map_async(self, fn: Callable[[T_co], Awaitable[U]]) -> FlextResult[U]:
        """Like ``map`` with an async ``fn``."""
        if isinstance(self, Failure):
            return self
        return _ok(await fn(self.value))

    async def flat_map_async(self, fn: Callable[[T_co], Awaitable[FlextResult[U]]]) -> FlextResult[U]:
        """Like ``flat_map`` with an async ``fn``."""
        if isinstance(self, Failure):
            return self
        return await fn(self.value)

    bind_async = flat_map_async

    async def tap_async(self, fn: Callable[[T_co], Awaitable[object]]) -> FlextResult[T_co]:
        """Like ``tap`` with an async ``fn``."""
        if not isinstance(self, Failure):
            await fn(self.value)
        return self

    async def tap_error_async(self, fn: Callable[[str], Awaitable[object]]) -> FlextResult[T_co]:
        """Like ``tap_error`` with an async ``fn``."""
        if isinstance(self, Failure):
            await fn(self.error)
        return self

    async def recover_async(self, fn: Callable[[str], Awaitable[U]]) -> FlextResult[T_co | U]:
        """Like ``recover`` with an async ``fn``."""
        if isinstance(self, Failure):
            return _ok(await fn(self.error))
        return self

    # Constructors and combinators over many results.

    @staticmethod
    def from_exception(exc: BaseException, error_code: str = OPERATION_ERROR) -> Failure:
        """Return a failure describing ``exc`` (its type goes into ``error_data``)."""
        message = str(exc) or type(exc).__name__
        return _fail(message, error_code, {"exception_type": type(exc).__name__})

    @staticmethod
    def combine(*results: FlextResult[T]) -> FlextResult[list[T]]:
        """Return all values as a list, or the first failure."""
        return FlextResult.sequence(results)

    @staticmethod
    def sequence(results: Iterable[FlextResult[T]]) -> FlextResult[list[T]]:
        """Return all values as a list, or the first failure (stops there)."""
        values: list[T] = []
        for result in results:
            if isinstance(result, Failure):
                return result
            values.append(result.value)
        return _ok(values)

    @staticmethod
    def traverse(items: Iterable[U], fn: Callable[[U], FlextResult[T]]) -> FlextResult[list[T]]:
        """Apply ``fn`` to each item; all values, or the first failure (stops there)."""
        return FlextResult.sequence(fn(item) for item in items)

    @staticmethod
    async def traverse_async(
        items: Iterable[U], fn: Callable[[U], Awaitable[FlextResult[T]]]
    ) -> FlextResult[list[T]]:
        """Like ``traverse`` with an async ``fn``, one item after the other."""
        values: list[T] = []
        for item in items:
            result = await fn(item)
            if isinstance(result, Failure):
                return result
            values.append(result.value)
        return _ok(values)

    @staticmethod
    def collect_errors(results: Iterable[FlextResult[T]]) -> FlextResult[list[T]]:
        """Return all values, or one failure that keeps every failure.

        The failure's ``error_data["errors"]`` lists each failure with its
        position, message, code and data; its code is the failures' common
        code, or ``MULTIPLE_ERRORS`` when they differ.
        """
        results = list(results)
        failed = [(index, result) for index, result in enumerate(results) if isinstance(result, Failure)]
        if not failed:
            return _ok([result.value for result in results])
        errors: list[dict[str, object]] = [
            {
                "index": index,
                "error": failure.error,
                "error_code": failure.error_code,
                "error_data": dict(failure.error_data),
            }
            for index, failure in failed
        ]
        codes = {failure.error_code for _, failure in failed}
        code = codes.pop() if len(codes) == 1 else MULTIPLE_ERRORS
        return _fail("; ".join(failure.error for _, failure in failed), code, {"errors": errors})


# A success's storage is compiled when flext_kernel._speedups is built (a C type whose
# constructor stores the value and which refuses every later write: no Python frame per
# success), and pure Python otherwise. The pure storage guards its slot with __setattr__, so
# `ok` and `map` fill a writable twin of the same layout, then give it its public class: a
# store through the guard costs more than the rest of the construction. Failures are pure
# Python either way (docs/kernel/result.md, "Design notes" and "Compiled storage").


class _PureSuccessStorage:
    """A success's storage without the compiled module: one slot, written once, then guarded."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        _set_value(self, value)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"FlextResult is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"FlextResult is immutable; cannot delete {name!r}")


class _WritableSuccess:
    """The pure storage's layout without its guard: what ``ok`` and ``map`` fill first."""

    __slots__ = ("value",)


class _FailureSlots(FlextResult[Never]):
    """The storage of a failure while it is built; never seen outside this module."""

    __slots__ = ("correlation_id", "error", "error_code", "error_data")


def _compiled_storage() -> type | None:
    """The compiled success storage, or None: not built, or ``FLEXT_KERNEL_PURE_PYTHON`` set."""
    if os.environ.get("FLEXT_KERNEL_PURE_PYTHON", "").strip().lower() not in ("", "0", "false", "no"):
        return None
    try:
        from flext_kernel._speedups import SuccessStorage
    except ImportError:
        return None
    return SuccessStorage


if TYPE_CHECKING:
    _SuccessStorage = _PureSuccessStorage
else:
    _SuccessStorage = _compiled_storage() or _PureSuccessStorage

COMPILED: Final = _SuccessStorage is not _PureSuccessStorage
"""True when successes use the compiled storage (``flext_kernel._speedups``)."""

# The raw slot writers, which bypass the guard in ``__setattr__``: how the pure storage and
# ``Failure(...)`` fill themselves (faster than ``object.__setattr__``).
_set_value: Callable[[object, object], None] = _PureSuccessStorage.__dict__["value"].__set__
_set_error: Callable[[object, object], None] = _FailureSlots.__dict__["error"].__set__
_set_error_code: Callable[[object, object], None] = _FailureSlots.__dict__["error_code"].__set__
_set_error_data: Callable[[object, object], None] = _FailureSlots.__dict__["error_data"].__set__
_set_correlation_id: Callable[[object, object], None] = _FailureSlots.__dict__["correlation_id"].__set__
_correlation_id: Final = current_correlation_id  # a module global: one lookup in ``fail``


class Success(_SuccessStorage, FlextResult[T_co]):
    """The success track: holds ``value``. Build it with ``FlextResult.ok``."""

    __slots__ = ()
    __match_args__ = ("value",)

    is_success = True
    is_failure = False
    error = None
    error_code = None
    error_data = _NO_DATA
    correlation_id = None

    if TYPE_CHECKING:

        def __init__(self, value: T_co) -> None: ...

    # map and flat_map are the hot path of every railway chain: on this track they skip the
    # failure check, and map builds its result inline, saving a Python call per step.

    if COMPILED:

        def map(self, fn: Callable[[T_co], U]) -> FlextResult[U]:
            """Apply ``fn`` to the value."""
            return Success(fn(self.value))

    else:

        def map(self, fn: Callable[[T_co], U]) -> FlextResult[U]:
            """Apply ``fn`` to the value."""
            building: Any = _WritableSuccess()
            building.value = fn(self.value)
            building.__class__ = Success
            mapped: FlextResult[U] = building
            return mapped

    def flat_map(self, fn: Callable[[T_co], FlextResult[U]]) -> FlextResult[U]:
        """Chain a result-returning step."""
        return fn(self.value)

    bind = flat_map

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return type(other) is Success and self.value == other.value

    def __hash__(self) -> int:
        return hash((Success, self.value))

    def __repr__(self) -> str:
        return f"FlextResult.ok({self.value!r})"


class Failure(_FailureSlots):
    """The failure track: holds ``error``, ``error_code`` and ``error_data``.

    A ``FlextResult[Never]``: it can be returned wherever any ``FlextResult``
    is expected.
    """

    __slots__ = ()
    __match_args__ = ("error", "error_code", "error_data")

    is_success = False
    is_failure = True

    if TYPE_CHECKING:

        @property
        def error(self) -> str:
            """The failure message."""

    def __init__(
        self, error: str, error_code: str | None = None, error_data: Mapping[str, object] | None = None
    ) -> None:
        _set_error(self, error)
        _set_error_code(self, error_code)
        _set_error_data(self, _NO_DATA if not error_data else MappingProxyType(dict(error_data)))
        _set_correlation_id(self, _correlation_id())

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"FlextResult is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"FlextResult is immutable; cannot delete {name!r}")

    def map(self, fn: Callable[[Never], object]) -> Failure:
        """Return the failure itself: there is no value to map."""
        return self

    def flat_map(self, fn: Callable[[Never], object]) -> Failure:
        """Return the failure itself: there is no value to chain."""
        return self

    bind = flat_map

    @property
    def value(self) -> NoReturn:
        """A failure has no value: reading it raises ``FlextResultError``."""
        raise FlextResultError(
            f"cannot read the value of a failed result: {self.error}", self.error_code, self.error_data
        )

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Failure
            and self.error == other.error
            and self.error_code == other.error_code
            and self.error_data == other.error_data
        )

    def __hash__(self) -> int:
        # error_data may hold unhashable values; equal failures still hash alike.
        return hash((Failure, self.error, self.error_code))

    def __repr__(self) -> str:
        parts = [repr(self.error)]
        if self.error_code is not None:
            parts.append(f"error_code={self.error_code!r}")
        if self.error_data:
            parts.append(f"error_data={dict(self.error_data)!r}")
        return f"FlextResult.fail({', '.join(parts)})"


if not TYPE_CHECKING and COMPILED:
    # The compiled storage builds a success without a Python frame: the class is the constructor.
    FlextResult.ok = Success

# The constructors under short names, for the methods above (one global lookup, not two).
_ok = FlextResult.ok
_fail = FlextResult.fail


@overload
def safe(  # type: ignore[overload-overlap]  # a coroutine function is also a callable; the first match wins
    fn: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[FlextResult[T]]]: ...
@overload
def safe(fn: Callable[P, T]) -> Callable[P, FlextResult[T]]: ...
def safe(fn: Callable[P, Any]) -> Callable[P, Any]:
    """Decorate ``fn`` so that it returns a result instead of raising.

    A returned value becomes ``FlextResult.ok(value)``; an ``Exception`` becomes
    ``FlextResult.from_exception(exc)``. Coroutine functions are wrapped in a
    coroutine function. ``BaseException`` (KeyboardInterrupt, SystemExit,
    cancellation) is not caught.
    """
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> FlextResult[Any]:
            try:
                return _ok(await fn(*args, **kwargs))
            except Exception as exc:
                return FlextResult.from_exception(exc)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> FlextResult[Any]:
        try:
            return _ok(fn(*args, **kwargs))
        except Exception as exc:
            return FlextResult.from_exception(exc)

    return wrapper
