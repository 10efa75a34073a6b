"""Reading hostile YAML: every input ends in a document or one clear VALIDATION_ERROR, at bounded cost."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_sdk.yaml_files import parse_yaml, read_yaml

MiB = 1024 * 1024


def _laughs(levels: int) -> str:
    """The billion laughs: each level is a list of nine aliases of the level before."""
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
    return text


@pytest.mark.parametrize("levels", [6, 10])
def test_an_alias_bomb_is_refused_without_expanding_it(levels: int) -> None:
    tracemalloc.start()
    try:
        result = parse_yaml(_laughs(levels), "bomb.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error_code == "VALIDATION_ERROR"
    assert "bomb.yaml:" in (result.error or "")
    assert "aliases are expanded" in (result.error or "")
    assert peak < 5 * MiB  # the 10-level file expands to ~3.5e9 values; refusing it costs its size


def test_aliases_within_the_budget_still_work() -> None:
    document = parse_yaml("base: &b {retries: 3}\nprod:\n  <<: *b\n  retries: 5\nlist: [*b, *b]\n").unwrap()
    assert document.data == {"base": {"retries": 3}, "prod": {"retries": 5}, "list": [{"retries": 3}] * 2}


def test_a_recursive_alias_is_named_with_its_line() -> None:
    result = parse_yaml("ok: 1\nloop: &x\n  - *x\n", "rec.yaml")
    assert result.error_code == "VALIDATION_ERROR"
    assert result.error is not None
    assert result.error.startswith("rec.yaml:2: ")
    assert "recursive alias" in result.error


def test_a_duplicate_key_is_refused_with_both_lines() -> None:
    result = parse_yaml("name: p1\ntap: t\nname: p2\n", "dup.yaml")
    assert result.error == "dup.yaml:3: duplicate key 'name' (also at line 1); keep one"
    assert result.error_data == {"file": "dup.yaml", "line": 3}
    assert parse_yaml("{a: 1, a: 2}").error_code == "VALIDATION_ERROR"
    assert parse_yaml("1: x\n'1': y\n").is_success  # an int and a string are two keys


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: p1\nowner: Jos\xe9\n".encode("latin-1"))
    result = read_yaml(path)
    assert result.error == f"{path}:2: byte 0xe9 is not UTF-8; save the file as UTF-8"


def test_a_large_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("x: " + "y" * 2000 + "\n")
    result = read_yaml(path, max_bytes=1000)
    assert result.error_code == "VALIDATION_ERROR"
    assert "larger than 1000 bytes" in (result.error or "")


def test_missing_files_and_directories_say_so(tmp_path: Path) -> None:
    assert read_yaml(tmp_path / "nope.yaml").error_code == "NOT_FOUND"
    assert "is a directory" in (read_yaml(tmp_path).error or "")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    result = parse_yaml("[" * 20000 + "]" * 20000)
    assert result.error_code == "VALIDATION_ERROR"
    # libyaml's own limit, or the guard around the pure-Python parser
    assert "nesting depth" in (result.error or "") or "nested too deeply" in (result.error or "")


def test_line_of_points_at_the_value_or_its_nearest_parent() -> None:
    document = parse_yaml("load:\n  streams:\n    - name: a\n    - name: b\n").unwrap()
    assert document.line_of(["load", "streams", 1, "name"]) == 4
    assert document.line_of(["load", "missing"]) == 2  # where the value of load begins


def test_json_is_yaml() -> None:
    assert parse_yaml('{"name": "p", "n": [1, 2]}').unwrap().data == {"name": "p", "n": [1, 2]}


yaml_like = st.text(alphabet=st.sampled_from(list("ab:-&*[]{},'\"\n #!|>@`%1.\t\\")), max_size=200)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(yaml_like, st.text(max_size=200)))
def test_any_text_gives_a_document_or_one_validation_error(text: str) -> None:
    result = parse_yaml(text, "fuzz.yaml")
    if result.is_failure:
        assert result.error_code == "VALIDATION_ERROR"
        assert result.error is not None
        assert result.error.startswith("fuzz.yaml")
        assert "\n" not in result.error
    else:
        assert result.value.data == yaml.load(text, Loader=yaml.CSafeLoader)  # read as PyYAML reads it


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_document_or_one_clear_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    result = read_yaml(path)
    assert result.is_success or result.error_code == "VALIDATION_ERROR"
