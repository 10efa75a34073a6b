"""Behaviour of FlextResult: construction, accessors, each combinator on both tracks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flext_kernel import result as result_module
from flext_kernel.errors import OPERATION_ERROR, FlextResultError
from flext_kernel.result import MULTIPLE_ERRORS, Failure, FlextResult, Success, safe


def test_ok_exposes_value_and_no_error() -> None:
    result = FlextResult.ok(42)
    assert result.is_success
    assert not result.is_failure
    assert result.value == 42
    assert result.error is None
    assert result.error_code is None
    assert dict(result.error_data) == {}
    assert bool(result) is True
    assert isinstance(result, FlextResult)
    assert isinstance(result, Success)


def test_fail_exposes_error_code_and_data() -> None:
    result: FlextResult[int] = FlextResult.fail("disk full", error_code="IO", error_data={"path": "/x"})
    assert result.is_failure
    assert not result.is_success
    assert result.error == "disk full"
    assert result.error_code == "IO"
    assert result.error_data == {"path": "/x"}
    assert bool(result) is False
    assert isinstance(result, Failure)


def test_reading_value_of_failure_raises_with_details() -> None:
    result: FlextResult[int] = FlextResult.fail("nope", error_code="NOT_FOUND", error_data={"k": 1})
    with pytest.raises(FlextResultError) as caught:
        _ = result.value
    assert "nope" in str(caught.value)
    assert "NOT_FOUND" in str(caught.value)
    assert caught.value.error_code == "NOT_FOUND"
    assert caught.value.error_data == {"k": 1}
    with pytest.raises(FlextResultError):
        result.unwrap()


def test_results_are_immutable() -> None:
    ok = FlextResult.ok(1)
    fail = FlextResult.fail("x")
    with pytest.raises(AttributeError, match="immutable"):
        ok.value = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        fail.error = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del ok.value
    with pytest.raises(AttributeError):
        ok.extra = 1  # type: ignore[attr-defined]


def _built_every_way() -> list[FlextResult[object]]:
    """One result from each way the module builds one (some fill a writable copy first)."""
    failure: FlextResult[object] = FlextResult.fail("bad", error_code="C", error_data={"k": 1})
    return [
        FlextResult.ok(1),
        Success(1),
        FlextResult.ok(1).map(str),
        failure.recover(len),
        FlextResult.ok(1).zip_with(FlextResult.ok(2), lambda a, b: a + b),
        FlextResult.sequence([FlextResult.ok(1)]),
        FlextResult.collect_errors([FlextResult.ok(1)]),
        safe(int)("1"),
        failure,
        Failure("bad", "C", {"k": 1}),
        failure.map_error(str.upper),
        FlextResult.ok(1).filter(lambda _: False, "rejected"),
        FlextResult.from_exception(ValueError("x")),
        FlextResult.collect_errors([failure]),
    ]


@pytest.mark.parametrize("result", _built_every_way(), ids=repr)
def test_every_construction_gives_the_public_class_and_is_immutable(result: FlextResult[object]) -> None:
    assert type(result) in (Success, Failure)
    for name in ("value", "error", "error_code", "error_data", "__class__", "other"):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(result, name, 2)
        with pytest.raises(AttributeError, match="immutable"):
            delattr(result, name)
    assert type(result) in (Success, Failure)


def test_failures_pass_on_as_results_of_any_type() -> None:
    def parse(text: str) -> FlextResult[int]:
        return FlextResult.ok(int(text)) if text.isdigit() else FlextResult.fail("nan", error_code="C")

    def address(text: str) -> FlextResult[str]:
        port = parse(text)
        if isinstance(port, Failure):
            return port
        return FlextResult.ok(f"127.0.0.1:{port.value}")

    assert address("80").value == "127.0.0.1:80"
    failed = parse("x")
    assert address("x") == failed
    assert isinstance(failed, Failure)
    assert failed.map(str) is failed
    assert failed.flat_map(lambda v: FlextResult.ok(str(v))) is failed


def test_fallbacks_may_have_another_type() -> None:
    fail: FlextResult[int] = FlextResult.fail("bad")
    ok = FlextResult.ok(1)
    assert fail.unwrap_or(None) is None
    assert fail.unwrap_or_else(lambda error: error) == "bad"
    assert fail.recover(lambda error: error) == FlextResult.ok("bad")
    assert fail.or_else(FlextResult.ok("other")) == FlextResult.ok("other")
    assert ok.unwrap_or(None) == 1
    assert ok.recover(lambda error: error) is ok


def test_error_data_is_a_read_only_copy() -> None:
    data: dict[str, object] = {"a": 1}
    result = FlextResult.fail("x", error_data=data)
    data["a"] = 2
    assert result.error_data["a"] == 1
    with pytest.raises(TypeError):
        result.error_data["a"] = 3  # type: ignore[index]


def test_unwrap_family() -> None:
    ok = FlextResult.ok(1)
    fail: FlextResult[int] = FlextResult.fail("bad")
    assert ok.unwrap() == 1
    assert ok.unwrap_or(5) == 1
    assert fail.unwrap_or(5) == 5
    assert ok.unwrap_or_else(len) == 1
    assert fail.unwrap_or_else(len) == 3


def test_map_and_flat_map_on_both_tracks() -> None:
    ok = FlextResult.ok(2)
    fail: FlextResult[int] = FlextResult.fail("bad", error_code="C")
    assert ok.map(lambda v: v * 10) == FlextResult.ok(20)
    assert fail.map(lambda v: v * 10) is fail
    assert ok.flat_map(lambda v: FlextResult.ok(str(v))) == FlextResult.ok("2")
    assert ok.flat_map(lambda v: FlextResult.fail("inner")) == FlextResult.fail("inner")
    assert fail.flat_map(lambda v: FlextResult.ok(v)) is fail
    assert ok.bind(lambda v: FlextResult.ok(v + 1)) == FlextResult.ok(3)


def test_exceptions_inside_map_propagate() -> None:
    def boom(_: int) -> int:
        raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError):
        FlextResult.ok(1).map(boom)
    with pytest.raises(ZeroDivisionError):
        FlextResult.ok(1).flat_map(lambda v: FlextResult.ok(boom(v)))
    with pytest.raises(ZeroDivisionError):
        FlextResult.ok(1).tap(boom)


def test_map_error_keeps_code_and_data() -> None:
    fail: FlextResult[int] = FlextResult.fail("bad", error_code="C", error_data={"x": 1})
    mapped = fail.map_error(str.upper)
    assert mapped == FlextResult.fail("BAD", error_code="C", error_data={"x": 1})
    ok = FlextResult.ok(1)
    assert ok.map_error(str.upper) is ok


def test_recover_and_or_else() -> None:
    fail: FlextResult[int] = FlextResult.fail("bad")
    ok = FlextResult.ok(1)
    assert fail.recover(len) == FlextResult.ok(3)
    assert ok.recover(len) is ok
    fallback = FlextResult.ok(9)
    assert fail.or_else(fallback) is fallback
    assert ok.or_else(fallback) is ok
    assert fail.or_else(lambda error: FlextResult.ok(len(error))) == FlextResult.ok(3)


def test_tap_and_tap_error_run_only_on_their_track() -> None:
    seen: list[Any] = []
    ok = FlextResult.ok(1)
    fail: FlextResult[int] = FlextResult.fail("bad")
    assert ok.tap(seen.append) is ok
    assert fail.tap(seen.append) is fail
    assert ok.tap_error(seen.append) is ok
    assert fail.tap_error(seen.append) is fail
    assert seen == [1, "bad"]


def test_filter() -> None:
    ok = FlextResult.ok(5)
    assert ok.filter(lambda v: v > 3, "too small") is ok
    rejected = ok.filter(lambda v: v > 10, "too small", error_code="VALIDATION_ERROR")
    assert rejected == FlextResult.fail("too small", error_code="VALIDATION_ERROR")
    fail: FlextResult[int] = FlextResult.fail("bad")
    assert fail.filter(lambda v: True, "x") is fail


def test_zip_with_first_failure_wins() -> None:
    a = FlextResult.ok(2)
    b = FlextResult.ok(3)
    first: FlextResult[int] = FlextResult.fail("first")
    second: FlextResult[int] = FlextResult.fail("second")
    assert a.zip_with(b, lambda x, y: x * y) == FlextResult.ok(6)
    assert first.zip_with(second, lambda x, y: x + y) is first
    assert a.zip_with(second, lambda x, y: x + y) is second


def test_to_exception_and_from_exception() -> None:
    assert FlextResult.ok(1).to_exception() is None
    exc = FlextResult.fail("bad", error_code="C", error_data={"a": 1}).to_exception()
    assert isinstance(exc, FlextResultError)
    assert exc.message == "bad"
    assert exc.error_code == "C"
    assert exc.error_data == {"a": 1}

    converted = FlextResult.from_exception(ValueError("broken input"))
    assert converted.error == "broken input"
    assert converted.error_code == OPERATION_ERROR
    assert converted.error_data == {"exception_type": "ValueError"}
    # An exception without a message still yields a useful one.
    assert FlextResult.from_exception(KeyError()).error == "KeyError"


def test_combine_sequence_traverse_stop_at_first_failure() -> None:
    assert FlextResult.combine(FlextResult.ok(1), FlextResult.ok(2)) == FlextResult.ok([1, 2])
    calls: list[int] = []

    def check(v: int) -> FlextResult[int]:
        calls.append(v)
        return FlextResult.ok(v) if v < 2 else FlextResult.fail(f"bad {v}")

    assert FlextResult.traverse([0, 1, 2, 3], check) == FlextResult.fail("bad 2")
    assert calls == [0, 1, 2]
    assert FlextResult.sequence([]) == FlextResult.ok([])


def test_collect_errors_keeps_every_failure() -> None:
    results: list[FlextResult[int]] = [
        FlextResult.ok(1),
        FlextResult.fail("a", error_code="X"),
        FlextResult.fail("b", error_code="X", error_data={"f": 1}),
    ]
    collected = FlextResult.collect_errors(results)
    assert collected.error == "a; b"
    assert collected.error_code == "X"
    errors = collected.error_data["errors"]
    assert errors == [
        {"index": 1, "error": "a", "error_code": "X", "error_data": {}},
        {"index": 2, "error": "b", "error_code": "X", "error_data": {"f": 1}},
    ]
    mixed = FlextResult.collect_errors([FlextResult.fail("a", error_code="X"), FlextResult.fail("b")])
    assert mixed.error_code == MULTIPLE_ERRORS
    assert FlextResult.collect_errors([FlextResult.ok(1), FlextResult.ok(2)]) == FlextResult.ok([1, 2])


def test_safe_turns_exceptions_into_failures() -> None:
    @safe
    def parse(text: str) -> int:
        return int(text)

    assert parse("12") == FlextResult.ok(12)
    failed = parse("x")
    assert failed.is_failure
    assert failed.error_data == {"exception_type": "ValueError"}
    assert parse.__name__ == "parse"


def test_safe_does_not_catch_base_exceptions() -> None:
    @safe
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()


def test_safe_wraps_coroutine_functions() -> None:
    @safe
    async def divide(a: int, b: int) -> float:
        await asyncio.sleep(0)
        return a / b

    assert asyncio.run(divide(1, 2)) == FlextResult.ok(0.5)
    failed = asyncio.run(divide(1, 0))
    assert failed.error_data == {"exception_type": "ZeroDivisionError"}


def test_async_forms() -> None:
    async def double(v: int) -> int:
        return v * 2

    async def half(v: int) -> FlextResult[float]:
        return FlextResult.ok(v / 2) if v else FlextResult.fail("zero")

    async def length(error: str) -> int:
        return len(error)

    seen: list[object] = []

    async def record(item: object) -> None:
        seen.append(item)

    async def scenario() -> None:
        ok = FlextResult.ok(4)
        fail: FlextResult[int] = FlextResult.fail("bad")
        assert await ok.map_async(double) == FlextResult.ok(8)
        assert await fail.map_async(double) is fail
        assert await ok.flat_map_async(half) == FlextResult.ok(2.0)
        assert await FlextResult.ok(0).bind_async(half) == FlextResult.fail("zero")
        assert await ok.tap_async(record) is ok
        assert await fail.tap_error_async(record) is fail
        assert await fail.recover_async(length) == FlextResult.ok(3)
        assert await ok.recover_async(length) is ok
        assert await FlextResult.traverse_async([2, 4], half) == FlextResult.ok([1.0, 2.0])
        assert await FlextResult.traverse_async([2, 0, 4], half) == FlextResult.fail("zero")

    asyncio.run(scenario())
    assert seen == [4, "bad"]


def describe(result: FlextResult[int]) -> str:
    match result:
        case Success(value):
            return f"ok {value}"
        case Failure(error, "NOT_FOUND"):
            return f"missing: {error}"
        case Failure(error):
            return f"failed: {error}"
    return "unreachable"


def test_match_on_classes() -> None:
    assert describe(FlextResult.ok(1)) == "ok 1"
    assert describe(FlextResult.fail("user 7", error_code="NOT_FOUND")) == "missing: user 7"
    assert describe(FlextResult.fail("boom")) == "failed: boom"


def test_match_on_keywords_of_the_base_class() -> None:
    def kind(result: FlextResult[int]) -> str:
        match result:
            case FlextResult(is_success=True):
                return "ok"
            case FlextResult(error_code="NOT_FOUND", error=error):
                return f"missing {error}"
        return "other"

    assert kind(FlextResult.ok(3)) == "ok"
    assert kind(FlextResult.fail("x", error_code="NOT_FOUND")) == "missing x"
    assert kind(FlextResult.fail("x")) == "other"


def test_repr_round_trips_the_constructor_call() -> None:
    assert repr(FlextResult.ok("a")) == "FlextResult.ok('a')"
    assert repr(FlextResult.fail("x")) == "FlextResult.fail('x')"
    assert (
        repr(FlextResult.fail("x", error_code="C", error_data={"a": 1}))
        == "FlextResult.fail('x', error_code='C', error_data={'a': 1})"
    )


def test_success_and_failure_never_compare_equal() -> None:
    assert FlextResult.ok(None) != FlextResult.fail("None")
    assert FlextResult.ok(1) != 1
    assert FlextResult.fail("x") != "x"
    assert FlextResult.fail("x", error_code="A") != FlextResult.fail("x", error_code="B")


def test_subscripted_class_builds_results() -> None:
    assert FlextResult[int].ok(3) == FlextResult.ok(3)
    assert FlextResult[int].fail("x") == FlextResult.fail("x")


def test_constructors_are_reachable_from_instances_too() -> None:
    assert FlextResult.ok(1).ok(2) == FlextResult.ok(2)
    assert FlextResult.fail("x").fail("y") == FlextResult.fail("y")
    # With the compiled storage the class Success is the constructor itself (result.py).
    assert FlextResult.ok is Success if result_module.COMPILED else FlextResult.ok.__name__ == "ok"
    assert FlextResult.fail.__qualname__ == "FlextResult.fail"
