"""``gruponos.yaml``: the starter file ``init`` writes, and the mistakes ``load_config`` names."""

from __future__ import annotations

from pathlib import Path

import pytest
from flext_plugin_gruponos.config import CONFIG_FILE, load_config
from hypothesis import given, settings
from hypothesis import strategies as st

VALID = """\
version: 1
name: dc01
wms:
  base_url: https://wms.example.com/prod
  username: api
  password: env:WMS_PASSWORD
  facility: DC01
  company: GRUPONOS
target:
  host: 127.0.0.1
  user: loader
  password: env:DB_PASSWORD
  database: warehouse
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    (tmp_path / CONFIG_FILE).write_text(text, encoding="utf-8")
    return load_config(tmp_path)


def test_init_writes_a_file_that_loads_and_never_overwrites(flext_cli, tmp_path: Path) -> None:
    project = tmp_path / "deployment"
    first = flext_cli("gruponos", "init", str(project))
    assert first.exit_code == 0, first.stderr
    assert (project / CONFIG_FILE).is_file()
    assert (project / "flext.yaml").is_file()
    config = load_config(project)
    assert config.is_success, config.error
    assert config.value.pipeline == "gruponos"
    assert (config.value.incremental, config.value.reload) == ("gruponos-incremental", "gruponos-reload")
    assert config.value.secret_variables() == ["WMS_PASSWORD", "GRUPONOS_DB_PASSWORD"]

    (project / CONFIG_FILE).write_text(VALID, encoding="utf-8")
    again = flext_cli("gruponos", "init", str(project))
    assert again.exit_code == 1
    assert "already exists; init never overwrites" in again.stderr
    assert (project / CONFIG_FILE).read_text(encoding="utf-8") == VALID


@pytest.mark.parametrize(
    ("change", "line", "expected"),
    [
        (("password: env:WMS_PASSWORD", "password: hunter2-literal"), 6, "wms.password: must be a secret"),
        (("  host: 127", "  kind: oracle\n  host: 127"), 10, "target.service_name: Field required"),
        (("  host: 127", "  kind: mysql\n  host: 127"), 10, "target: kind must be postgres or oracle"),
        (("name: dc01", "name: DC 01"), 2, "name: 1 to 41 lower-case letters"),
        (("  username: api\n", ""), 4, "wms: auth_method basic needs username"),
        (("  company: GRUPONOS\n", "  company: GRUPONOS\n  page_size: 5000\n"), 9, "wms.page_size: Input"),
    ],
)
def test_a_mistake_names_the_file_the_line_and_the_field(
    tmp_path: Path, change: tuple[str, str], line: int, expected: str
) -> None:
    loaded = _load(tmp_path, VALID.replace(*change))
    assert loaded.is_failure
    assert loaded.error_code == "VALIDATION_ERROR"
    assert loaded.error is not None
    assert loaded.error.startswith(f"{tmp_path / CONFIG_FILE}:{line}: ")
    assert expected in loaded.error
    assert "hunter2-literal" not in loaded.error  # a secret written by mistake is never echoed


def test_a_six_field_cron_is_refused_while_the_file_is_read(tmp_path: Path) -> None:
    loaded = _load(tmp_path, VALID + 'schedule:\n  incremental: "0 */15 * * * *"\n')
    assert loaded.is_failure
    assert "schedule.incremental: '0 */15 * * * *' is not a 5-field cron expression" in (loaded.error or "")


def test_a_missing_file_says_how_to_make_one(flext_cli, tmp_path: Path) -> None:
    result = flext_cli("gruponos", "status", "--project", str(tmp_path))
    assert result.exit_code == 2
    expected = f"{tmp_path / CONFIG_FILE}: no such file; 'flext gruponos init {tmp_path}' writes one"
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


@settings(max_examples=60, deadline=None)
@given(secret=st.text(min_size=1, max_size=40).filter(lambda text: "\n" not in text and "\r" not in text))
def test_only_env_references_stand_for_secrets_and_a_refused_one_is_never_echoed(
    tmp_path_factory: pytest.TempPathFactory, secret: str
) -> None:
    directory = tmp_path_factory.mktemp("secret")
    quoted = secret.replace("\\", "\\\\").replace('"', '\\"')
    loaded = _load(directory, VALID.replace("password: env:DB_PASSWORD", f'password: "{quoted}"'))
    if loaded.is_success:
        assert loaded.value.target.password == secret
        assert secret.startswith("env:")
        return
    assert loaded.error is not None
    if len(secret) >= 4:  # (a short value may be part of the file name or the message by chance)
        assert secret not in loaded.error


def test_an_oracle_target_deploys_target_oracle_with_its_password_a_reference(tmp_path: Path) -> None:
    from flext_plugin_gruponos.definitions import definition

    oracle = VALID.replace("  host: 127", "  kind: oracle\n  host: 127").replace(
        "  database: warehouse\n", "  service_name: WAREHOUSE\n  schema: WMS\n"
    )
    loaded = _load(tmp_path, oracle + "  port: 1522\n")
    assert loaded.is_success, loaded.error
    load = definition(loaded.value)["load"]
    assert load == {
        "name": "target-oracle",
        "config": {
            "host": "127.0.0.1", "port": 1522, "user": "loader", "service_name": "WAREHOUSE",
            "add_record_metadata": True, "password": "${DB_PASSWORD}", "default_target_schema": "WMS",
        },
    }  # fmt: skip
    assert loaded.value.secret_variables() == ["WMS_PASSWORD", "DB_PASSWORD"]
    postgres = _load(tmp_path, VALID)  # no kind: postgres, as files written before
    assert postgres.is_success
    assert definition(postgres.value)["load"]["name"] == "target-postgres"


@pytest.mark.parametrize("cron", ["61 * * * *", "*/15 * * * mon-xyz", "* * * 13 *"])
def test_a_five_field_cron_that_does_not_parse_is_refused_while_the_file_is_read(
    tmp_path: Path, cron: str
) -> None:
    loaded = _load(tmp_path, VALID + f'schedule:\n  full: "{cron}"\n')
    assert loaded.is_failure
    assert f"{tmp_path / CONFIG_FILE}:15: schedule.full: {cron!r} does not parse as a cron expression (" in (
        loaded.error or ""
    )


def test_page_concurrency_reaches_the_tap_only_when_asked(tmp_path: Path) -> None:
    from flext_plugin_gruponos.definitions import definition

    plain = _load(tmp_path, VALID)
    assert "page_concurrency" not in definition(plain.value)["extract"]["config"]  # older deploys unchanged
    concurrent = _load(
        tmp_path, VALID.replace("  company: GRUPONOS\n", "  company: GRUPONOS\n  page_concurrency: 4\n")
    )
    assert concurrent.is_success, concurrent.error
    assert definition(concurrent.value)["extract"]["config"]["page_concurrency"] == 4
