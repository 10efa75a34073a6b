"""Pipeline definitions: validation errors name the file, line and field; ${VAR} filling."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from flext_plugin_pipeline.definition import RetryPolicy, interpolate, load_definition, parse_definition
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
        (GOOD.replace("  name: target-sqlite\n", ""), "people.yaml:7: load.name: Field required"),
        (GOOD.replace("name: people", "name: People Pipeline"), "people.yaml:1: name: String should match"),
        (
            GOOD + "retry:\n  attempts: 0\n",
            "people.yaml:12: retry.attempts: Input should be greater than or equal to 1",
        ),
        (
            GOOD + "surprise: 1\n",
            "people.yaml:11: surprise: unknown key (expected one of: name, description,",
        ),
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


TYPOS = """\
nmae: people
extract:
  name: tap-ldif
  config:
    files: [a.ldif]
load:
  name: target-sqlite
retyr:
  attempts: 2
mappers:
  - name: copy
    confg: {}
transform:
  project: transform
  comand: run
stop_timeout: 0
"""


def test_every_error_is_reported_by_line_and_an_unknown_key_names_the_nearest_known_one():
    result = parse_definition(TYPOS, "people.yaml")
    assert result.error_code == "VALIDATION_ERROR"
    expected = [
        (1, "name", "Field required"),
        (1, "nmae", "unknown key (did you mean 'name'?)"),
        (8, "retyr", "unknown key (did you mean 'retry'?)"),
        (12, "mappers.0.confg", "unknown key (did you mean 'config'?)"),
        (15, "transform.comand", "unknown key (did you mean 'command'?)"),
        (16, "stop_timeout", "Input should be greater than 0"),
    ]
    errors = result.error_data["errors"]
    assert [(e["line"], e["key"], e["message"]) for e in errors] == expected
    assert {e["file"] for e in errors} == {"people.yaml"}
    assert result.error == "; ".join(
        f"people.yaml:{line}: {key}: {message}" for line, key, message in expected
    )


def test_every_error_reaches_the_user_in_each_output_mode(flext_cli, tmp_path):
    definition = tmp_path / "people.yaml"
    definition.write_text(TYPOS)
    for options in ((), ("--debug",), ("--output", "json")):
        created = flext_cli(*options, "data", "pipeline", "create", str(definition))
        assert created.exit_code == 2, created
        shown = created.json()["error"] if options == ("--output", "json") else created.stderr
        for line, key, message in [
            (1, "nmae", "did you mean 'name'?"),
            (8, "retyr", "did you mean 'retry'?"),
        ]:
            assert f"{definition}:{line}: {key}: unknown key ({message})" in shown, (options, shown)
        assert f"{definition}:16: stop_timeout: Input should be greater than 0" in shown
    assert flext_cli("pipeline", "list").stdout.count("people") == 0  # nothing was registered


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
    assert bad.error == "people.yaml:7: load.surprise: unknown key (expected one of: name, config)"
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
    registered = project.register(load_definition(source).unwrap(), source).unwrap()
    stored = tmp_path / "pipelines" / "people.yaml"
    assert json.loads(stored.read_text())["retry"] == {"attempts": 3}
    assert project.find("people").unwrap() == registered
    assert registered.base_dir == str(source.parent)
