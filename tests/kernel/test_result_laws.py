"""Property tests: FlextResult obeys the functor and monad laws, and equality is sound."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flext_kernel.result import Failure, FlextResult, Success

values = st.integers() | st.text(max_size=5) | st.none() | st.tuples(st.integers(), st.booleans())
codes = st.none() | st.sampled_from(["NOT_FOUND", "VALIDATION_ERROR", "X"])
data = st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


@st.composite
def results(draw: st.DrawFn) -> FlextResult[object]:
    if draw(st.booleans()):
        return FlextResult.ok(draw(values))
    return FlextResult.fail(draw(st.text(max_size=8)), error_code=draw(codes), error_data=draw(data))


def _wrap(tag: str) -> Callable[[object], object]:
    return lambda value: (tag, value)


def _kleisli(tag: str, fail_on: int) -> Callable[[object], FlextResult[object]]:
    def step(value: object) -> FlextResult[object]:
        if hash(repr(value)) % 3 == fail_on:
            return FlextResult.fail(f"{tag} rejected {value!r}", error_code=tag)
        return FlextResult.ok((tag, value))

    return step


@given(results())
def test_functor_identity(result: FlextResult[object]) -> None:
    assert result.map(lambda v: v) == result


@given(results())
def test_functor_composition(result: FlextResult[object]) -> None:
    f, g = _wrap("f"), _wrap("g")
    assert result.map(f).map(g) == result.map(lambda v: g(f(v)))


@given(values, st.integers(0, 2))
def test_monad_left_identity(value: object, fail_on: int) -> None:
    f = _kleisli("f", fail_on)
    assert FlextResult.ok(value).flat_map(f) == f(value)


@given(results())
def test_monad_right_identity(result: FlextResult[object]) -> None:
    assert result.flat_map(FlextResult.ok) == result


@given(results(), st.integers(0, 2), st.integers(0, 2))
def test_monad_associativity(result: FlextResult[object], fail_f: int, fail_g: int) -> None:
    f, g = _kleisli("f", fail_f), _kleisli("g", fail_g)
    assert result.flat_map(f).flat_map(g) == result.flat_map(lambda v: f(v).flat_map(g))


@given(st.lists(results(), max_size=8))
def test_sequence_is_all_values_or_first_failure(items: list[FlextResult[object]]) -> None:
    sequenced = FlextResult.sequence(items)
    failures = [r for r in items if r.is_failure]
    if failures:
        assert sequenced is failures[0]
    else:
        assert sequenced == FlextResult.ok([r.value for r in items])


@given(st.lists(st.integers(), max_size=10), st.integers(1, 5))
def test_traverse_equals_sequence_of_map(items: list[int], modulus: int) -> None:
    def check(v: int) -> FlextResult[int]:
        return FlextResult.ok(v * 2) if v % modulus else FlextResult.fail(f"{v} divisible")

    assert FlextResult.traverse(items, check) == FlextResult.sequence([check(v) for v in items])


@given(st.lists(results(), max_size=8))
def test_collect_errors_reports_every_failure_in_order(items: list[FlextResult[object]]) -> None:
    collected = FlextResult.collect_errors(items)
    failures = [(i, r) for i, r in enumerate(items) if r.is_failure]
    if not failures:
        assert collected == FlextResult.ok([r.value for r in items])
        return
    reported = collected.error_data["errors"]
    assert isinstance(reported, list)
    assert [entry["index"] for entry in reported] == [i for i, _ in failures]
    assert [entry["error"] for entry in reported] == [r.error for _, r in failures]


@given(results(), results())
def test_equality_implies_equal_hash(a: FlextResult[object], b: FlextResult[object]) -> None:
    if a == b:
        assert hash(a) == hash(b)
    assert (a == b) == (b == a)


@given(results())
def test_equal_to_a_rebuilt_copy(result: FlextResult[object]) -> None:
    if result.is_success:
        copy = FlextResult.ok(result.value)
    else:
        copy = FlextResult.fail(
            result.error or "", error_code=result.error_code, error_data=result.error_data
        )
    assert copy == result
    assert hash(copy) == hash(result)
    assert len({copy, result}) == 1


# `ok`, `fail` and `map` build results by another route than the Success and
# Failure constructors; both routes must give the same results.


@given(values)
def test_ok_and_map_build_what_the_success_constructor_builds(value: object) -> None:
    for built in (FlextResult.ok(value), FlextResult.ok(None).map(lambda _: value)):
        assert type(built) is Success
        assert built == Success(value)
        assert hash(built) == hash(Success(value))
        assert repr(built) == repr(Success(value))


@given(st.text(max_size=8), codes, data)
def test_fail_builds_what_the_failure_constructor_builds(
    error: str, code: str | None, details: dict[str, int]
) -> None:
    built = FlextResult.fail(error, error_code=code, error_data=details)
    assert type(built) is Failure
    assert built == Failure(error, code, details)
    assert hash(built) == hash(Failure(error, code, details))
    assert repr(built) == repr(Failure(error, code, details))
    assert built.error_data == details
    assert built.error_data is not details


@given(results(), names)
def test_no_attribute_of_a_result_can_be_set_or_deleted(result: FlextResult[object], name: str) -> None:
    with pytest.raises(AttributeError, match="immutable"):
        setattr(result, name, 1)
    with pytest.raises(AttributeError, match="immutable"):
        delattr(result, name)
