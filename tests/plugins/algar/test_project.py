"""A migration project: ``flext algar init`` and ``algar.yaml``'s validation, through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from flext_plugin_algar.project import load_project, load_rules, resolve_secret
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_sdk.testing import FlextCliRunner


def test_init_writes_a_project_that_loads_and_never_overwrites(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    directory = tmp_path / "migration"
    done = flext_cli("--output", "json", "algar", "init", str(directory))
    assert done.exit_code == 0, done
    assert done.json()["data"]["files"] == [str(directory / "algar.yaml"), str(directory / "rules.yaml")]
    text = (directory / "algar.yaml").read_text(encoding="utf-8")
    assert "# " in text
    assert "env:OUD_BIND_PASSWORD" in text
    project = load_project(directory).unwrap()
    assert project.base_dn.source == "dc=algar,dc=com,dc=br"
    assert project.base_dn.target == "dc=algar,dc=br"
    assert project.target.bind_password == "env:OUD_BIND_PASSWORD"
    assert project.directory == directory
    assert load_rules(project).unwrap().exclude == ()

    (directory / "rules.yaml").write_text("exclude: []\n# mine\n", encoding="utf-8")
    again = flext_cli("algar", "init", str(directory))
    assert again.exit_code != 0
    assert "already exists" in again.stderr
    assert "never overwrites" in again.stderr
    assert (directory / "rules.yaml").read_text(encoding="utf-8") == "exclude: []\n# mine\n"


def _project(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "algar.yaml").write_text(text, encoding="utf-8")
    return directory


VALID = """\
source:
  ldif: export.ldif
target:
  url: ldap://localhost:1389
  bind_dn: cn=Directory Manager
  bind_password: env:OUD_PASSWORD
base_dn:
  from: dc=algar,dc=com,dc=br
  to: dc=algar,dc=br
"""


@pytest.mark.parametrize(
    ("change", "field", "line"),
    [
        (("env:OUD_PASSWORD", "hunter2"), "target.bind_password", 6),
        (("ldap://localhost:1389", "http://localhost"), "target.url", 4),
        (("ldap://localhost:1389", "ldap://admin:hunter2@localhost:1389"), "target.url", 4),
        (("ldap://localhost:1389", "ldap://admin:hunt/er2/hunter2@localhost:1389"), "target.url", 4),
        (("ldap://localhost:1389", "ldap:/hunter2 x"), "target.url", 4),
        (("  to: dc=algar,dc=br", "  to: not a dn"), "base_dn.to", 9),
        (("  ldif: export.ldif", "  ldif: export.ldif\n  url: ldap://oid:389"), "source", 2),
        (("base_dn:", "batch_size: 0\nbase_dn:"), "batch_size", 7),
        (("base_dn:", "colour: blue\nbase_dn:"), "colour", 7),
    ],
)
def test_a_bad_setting_is_named_with_its_line_and_the_secret_is_not_shown(
    tmp_path: Path, change: tuple[str, str], field: str, line: int
) -> None:
    directory = _project(tmp_path / "p", VALID.replace(*change))
    loaded = load_project(directory)
    assert loaded.is_failure
    assert loaded.error_code == "VALIDATION_ERROR"
    assert loaded.error_data["field"] == field
    assert loaded.error_data["line"] == line
    assert (loaded.error or "").startswith(f"{directory / 'algar.yaml'}:{line}: {field}: ")
    assert "hunter2" not in (loaded.error or "")


def test_secret_references_resolve_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALGAR_TEST_SECRET", "from-env")
    assert resolve_secret("env:ALGAR_TEST_SECRET", tmp_path).unwrap() == "from-env"
    (tmp_path / "secret").write_text("from-file\n", encoding="utf-8")
    assert resolve_secret("file:secret", tmp_path).unwrap() == "from-file"
    monkeypatch.delenv("ALGAR_TEST_SECRET")
    missing = resolve_secret("env:ALGAR_TEST_SECRET", tmp_path)
    assert missing.is_failure
    assert "ALGAR_TEST_SECRET is not set" in (missing.error or "")


yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
settings_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["source", "target", "base_dn", "batch_size", "rate_limit", "rules", "version"]),
       value=settings_values)  # fmt: skip
def test_any_value_of_a_setting_loads_or_fails_naming_a_field_and_a_line(
    tmp_path: Path, field: str, value: object
) -> None:
    import yaml

    data = yaml.safe_load(VALID)
    data[field] = value
    directory = tmp_path / f"p{abs(hash((field, repr(value))))}"
    _project(directory, yaml.safe_dump(data, allow_unicode=True))
    loaded = load_project(directory)
    if loaded.is_failure:
        assert loaded.error_code == "VALIDATION_ERROR"
        assert str(loaded.error_data["field"]).split(".")[0] in {
            field,
            "source",
            "target",
            "base_dn",
            "(top level)",
        }
        assert isinstance(loaded.error_data["line"], int)
        assert str(loaded.error).startswith(f"{directory / 'algar.yaml'}:{loaded.error_data['line']}: ")
