"""The meltano plugin without Meltano: manifest, lazy imports, and meltano.yml checks in-process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from flext_plugin_meltano.project import MeltanoProject, load_project
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import FlextResult
from flext_sdk.testing import PluginContract

FIXTURE = Path(__file__).parent / "project"


class TestMeltanoPlugin(PluginContract):
    plugin = "flext_plugin_meltano.plugin"
    required_plugins = ("flext_eventsourcing.plugin",)


def test_loading_the_plugin_imports_none_of_its_modules() -> None:
    code = (
        "import sys, flext_plugin_meltano.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('flext_plugin_meltano.') "
        "and m != 'flext_plugin_meltano.plugin' or m.split('.')[0] in ('meltano', 'jsonschema')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_fixture_project_is_what_meltano_reads() -> None:
    loaded = load_project(Path(__file__).parent / "project")
    assert loaded.is_success, loaded.error
    project = loaded.value
    assert project.environment == "dev"
    contractors = project.plugins["tap-ldif--contractors"]
    assert contractors.base == "tap-ldif"
    assert contractors.config["files"] == ["data/contractors.ldif"]
    assert contractors.config["apply_changes"] is True  # inherited
    assert contractors.select == ("users.*",)
    blocks = project.blocks(["directory-to-warehouse"]).unwrap()
    assert [block.state_suffix for block in blocks] == [
        "tap-ldif-to-target-sqlite",
        "tap-ldif--contractors-to-target-sqlite",
    ]
    assert [mapping for _plugin, mapping in blocks[0].mappers] == ["hash-mail"]
    prod = load_project(Path(__file__).parent / "project", environment="prod").unwrap()
    assert prod.plugins["target-sqlite"].config["hard_delete"] is False
    assert prod.env["WAREHOUSE_NAME"] == "warehouse"


_KEY = st.from_regex(r"[a-z][a-z_]{1,20}", fullmatch=True)


def _project_with(text: str, schema: Path) -> FlextResult[MeltanoProject]:
    """The fixture project with ``text`` as its meltano.yml, loaded in a scratch copy."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".meltano", "output", ".env"))
        (root / "meltano.yml").write_text(text, encoding="utf-8")
        return load_project(root, schema=schema)


@settings(max_examples=25, deadline=None)
@given(key=_KEY)
def test_any_key_meltano_does_not_know_is_named_with_its_line(meltano_schema: Path, key: str) -> None:
    known = set(json.loads(meltano_schema.read_text(encoding="utf-8"))["properties"])
    assume(key not in known)
    text = (FIXTURE / "meltano.yml").read_text(encoding="utf-8")
    loaded = _project_with(f"{text}{key}: 1\n", meltano_schema)
    assert loaded.is_failure
    assert loaded.error_code == VALIDATION_ERROR
    assert f"meltano.yml:{text.count(chr(10)) + 1}: {key}: unknown key" in (loaded.error or "")
    assert "\n" not in (loaded.error or "")


@settings(max_examples=25, deadline=None)
@given(name=st.from_regex(r"(tap|target)-[a-z]{1,12}", fullmatch=True))
def test_a_job_naming_an_undeclared_plugin_is_named(meltano_schema: Path, name: str) -> None:
    assume(name not in ("tap-ldif", "target-sqlite"))
    text = (FIXTURE / "meltano.yml").read_text(encoding="utf-8")
    task = text.replace("  - tap-ldif--contractors target-sqlite", f"  - tap-ldif {name}")
    loaded = _project_with(task, meltano_schema)
    assert loaded.is_failure
    assert f"job 'directory-to-warehouse' names {name!r}, which no plugin or mapping is" in (
        loaded.error or ""
    )


@settings(max_examples=25, deadline=None)
@given(environment=_KEY)
def test_an_environment_the_project_lacks_is_refused(meltano_schema: Path, environment: str) -> None:
    assume(environment not in ("dev", "prod"))
    loaded = load_project(FIXTURE, schema=meltano_schema, environment=environment)
    assert loaded.is_failure
    expected = f"--environment: no environment {environment!r} in {FIXTURE / 'meltano.yml'}"
    assert loaded.error == f"{expected} (its environments: dev, prod)"


def test_included_files_declare_plugins_and_jobs(tmp_path: Path, meltano_schema: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".meltano", "output", ".env"))
    text = (root / "meltano.yml").read_text(encoding="utf-8")
    (root / "meltano.yml").write_text(f"include_paths:\n- ./extra/*.meltano.yml\n{text}", encoding="utf-8")
    (root / "extra").mkdir()
    (root / "extra" / "jsonl.meltano.yml").write_text(
        "plugins:\n  loaders:\n  - name: target-jsonl\n    namespace: target_jsonl\n"
        "    pip_url: target-jsonl==0.1.4\n    executable: target-jsonl\n"
        "jobs:\n- name: contractors-to-jsonl\n  tasks:\n  - tap-ldif--contractors target-jsonl\n",
        encoding="utf-8",
    )
    project = load_project(root, schema=meltano_schema).unwrap()
    assert project.plugins["target-jsonl"].source.endswith("jsonl.meltano.yml")
    blocks = project.blocks(["contractors-to-jsonl"]).unwrap()
    assert [block.state_suffix for block in blocks] == ["tap-ldif--contractors-to-target-jsonl"]
    (root / "extra" / "jsonl.meltano.yml").write_text(
        "plugins:\n  loaders:\n  - name: target-jsonl\n    pip_url: target-jsonl\n"
        "    variant: x\n    nmae: y\n",
        encoding="utf-8",
    )
    refused = load_project(root, schema=meltano_schema)
    assert refused.is_failure
    assert "jsonl.meltano.yml:6: plugins.loaders[0].nmae: unknown key" in (refused.error or "")


def test_a_setting_dotenv_sets_is_imported_as_a_reference_never_its_value(tmp_path: Path) -> None:
    from flext_plugin_meltano.importer import pipeline_definition

    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".meltano", "output", ".env"))
    (root / ".env").write_text(
        "MAIL_HASH_SALT=do-not-copy-1\nexport TAP_LDIF_BASE_DN=dc=secret-value\n", encoding="utf-8"
    )
    project = load_project(root).unwrap()
    block = project.blocks(["tap-ldif", "hash-mail", "target-sqlite"]).unwrap()[0]
    imported = pipeline_definition(project, block)
    assert imported.definition["extract"]["config"]["base_dn"] == "${TAP_LDIF_BASE_DN}"
    assert imported.definition["mappers"][0]["config"]["stream_map_config"] == {"salt": "${MAIL_HASH_SALT}"}
    text = json.dumps(imported.definition)
    assert "do-not-copy-1" not in text
    assert "secret-value" not in text
    assert imported.state_id == "dev:tap-ldif-to-target-sqlite"
