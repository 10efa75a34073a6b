"""Pipeline definitions: validation errors name the file, line and field; ${VAR} filling."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from flext_plugin_pipeline.definition import RetryPolicy, interpolate, parse_definition
from hypothesis import given
from hypothesis import strategies as st

GOOD = """\
name: people
extract:
  name: tap-ldif
  config:
    files: [a.ldif]
  select: ["users.*"]
load:
  name: target-sqlite
  config:
    database: out.db
"""


def test_a_good_definition_validates():
    definition = parse_definition(GOOD, "people.yaml").unwrap()
    assert definition.extract.name == "tap-ldif"
    assert definition.extract.select == ["users.*"]
    assert definition.retry.attempts == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("  name: target-sqlite\n", ""), "people.yaml:8: load.name: Field required"),
        (GOOD.replace("name: people", "name: People Pipeline"), "people.yaml:1: name: String should match"),
        (
            GOOD + "retry:\n  attempts: 0\n",
            "people.yaml:12: retry.attempts: Input should be greater than or equal to 1",
        ),
        (GOOD + "surprise: 1\n", "people.yaml:11: surprise: Extra inputs are not permitted"),
        (
            GOOD.replace('  select: ["users.*"]', "  select: users"),
            "people.yaml:6: extract.select: Input should be a valid list",
        ),
        ("name: [unclosed\n", "people.yaml:2: not valid YAML"),
        ("- a list\n", "people.yaml:1: a pipeline definition is a mapping"),
    ],
)
def test_errors_name_the_file_line_and_field(text, expected):
    result = parse_definition(text, "people.yaml")
    assert result.is_failure
    assert result.error_code == "VALIDATION_ERROR"
    assert (result.error or "").startswith(expected), result.error


def test_interpolation_fills_variables_and_reports_them_as_secrets():
    value, secrets = interpolate(
        {"url": "postgresql://u:${PW}@h/db", "list": ["${A:-fallback}", 3], "plain": "x"}, {"PW": "s3cret"}
    )
    assert value == {"url": "postgresql://u:s3cret@h/db", "list": ["fallback", 3], "plain": "x"}
    assert secrets == {"s3cret", "fallback"}


def test_a_missing_variable_names_itself():
    with pytest.raises(KeyError, match="NOPE"):
        interpolate({"a": "${NOPE}"}, {})


@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=50))
def test_text_without_references_is_left_alone(text):
    assert interpolate({"k": text}, {}) == ({"k": text}, set())


@given(st.integers(min_value=1, max_value=30))
def test_backoff_grows_and_is_capped(failures):
    policy = RetryPolicy(attempts=5, backoff=2, multiplier=3, max_backoff=100)
    assert policy.delay(failures) == min(2 * 3 ** (failures - 1), 100)
    assert policy.delay(failures) <= policy.delay(failures + 1)


GOOD_JSON = """\
{
  "name": "people",
  "extract": {"name": "tap-ldif", "config": {"files": ["a.ldif"]}},
  "load": {
    "name": "target-sqlite",
    "config": {"database": "out.db"}%s
  }
}
"""


def test_a_json_definition_validates_and_its_errors_still_name_the_line():
    good = parse_definition(GOOD_JSON % "", "people.yaml").unwrap()
    assert good.load.config == {"database": "out.db"}
    bad = parse_definition(GOOD_JSON % ',\n    "surprise": 1', "people.yaml")
    assert (bad.error or "").startswith("people.yaml:7: load.surprise: Extra inputs are not permitted")
    broken = parse_definition('{"name": "people",\n "extract": [1, }\n', "people.yaml")
    assert (broken.error or "").startswith("people.yaml:2: not valid YAML")


def test_reading_a_json_definition_does_not_import_yaml():
    code = (
        "import sys\n"
        "from flext_plugin_pipeline.definition import parse_definition\n"
        f"parse_definition({GOOD_JSON % ''!r}, 'p.yaml').unwrap()\n"
        "assert 'yaml' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_a_registered_copy_is_json_and_reads_back_the_same(tmp_path, monkeypatch):
    from flext_plugin_pipeline import project

    (tmp_path / "flext.yaml").write_text("# project\n")
    (tmp_path / "src").mkdir()
    source = tmp_path / "src" / "people.yaml"
    source.write_text(GOOD + "retry:\n  attempts: 3\n")
    monkeypatch.chdir(tmp_path)
    registered = project.register(source).unwrap()
    stored = tmp_path / "pipelines" / "people.yaml"
    assert json.loads(stored.read_text())["retry"] == {"attempts": 3}
    assert project.find("people").unwrap() == registered
    assert registered.base_dir == str(source.parent)
