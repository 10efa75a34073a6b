"""``flext data ldif inspect`` through the real ``flext`` executable, and the plugin contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flext_plugin_ldif.sample import write_directory

from flext_sdk.testing import FlextCliRunner, PluginContract


class TestLdifPlugin(PluginContract):
    plugin = "flext_plugin_ldif.plugin"
    optional_plugins = ("flext_plugin_singer.plugin",)  # it answers flext_singer_connectors


CHANGES = (
    "dn: uid=ada,ou=people,dc=x\nchangetype: modify\nreplace: mail\nmail: ada@x\n-\n\n"
    "dn: cn=old,ou=groups,dc=x\nchangetype: delete\n\n"
    "dn: cn=g,ou=groups,dc=x\nchangetype: add\nobjectClass: groupOfNames\ncn: g\nmember: uid=ada\n\n"
    "dn: uid=ada,ou=people,dc=x\nchangetype: moddn\nnewrdn: uid=ada2\ndeleteoldrdn: 0\n"
)


def test_inspect_counts_entries_per_stream_and_change_type(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    write_directory(tmp_path / "dir.ldif", users=12, groups=3, ous=2, seed=5)
    (tmp_path / "changes.ldif").write_text(CHANGES)
    result = flext_cli("--output", "json", "data", "ldif", "inspect", str(tmp_path / "dir.ldif"),
                       str(tmp_path / "changes.ldif"))  # fmt: skip
    assert result.exit_code == 0, result
    data = result.json()["data"]
    assert data["entries"] == 12 + 3 + 4 + 1 + 4
    assert data["streams"] == {"users": 12, "groups": 4, "organizational_units": 4, "other": 4}
    assert data["change_types"] == {"add": 21, "delete": 1, "modify": 1, "modrdn": 1}
    assert data["by_stream_and_change_type"]["other"] == {"add": 1, "delete": 1, "modify": 1, "modrdn": 1}

    table = flext_cli("data", "ldif", "inspect", str(tmp_path / "dir.ldif"))
    assert table.exit_code == 0, table
    assert "users" in table.stdout
    assert "organizational_units" in table.stdout
    assert "20 entries in 1 file" in table.stderr


def test_inspect_with_a_base_dn(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    write_directory(tmp_path / "dir.ldif", users=12, groups=3, ous=2, seed=5)
    result = flext_cli("--output", "json", "data", "ldif", "inspect", str(tmp_path / "dir.ldif"),
                       "--base-dn", "ou=groups,dc=example,dc=com")  # fmt: skip
    assert result.json()["data"]["streams"] == {
        "users": 0,
        "groups": 3,
        "organizational_units": 1,
        "other": 0,
    }


def test_a_malformed_file_is_one_error_line_and_exit_code_2(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.ldif"
    bad.write_text("version: 1\n\ndn: cn=a,dc=x\ncn: a\n\ndn: cn=b,dc=x\ncn:: %%%\n")
    result = flext_cli("data", "ldif", "inspect", str(bad))
    assert result.exit_code == 2, result
    assert result.stderr.startswith(f"error: {bad}:7: the value of 'cn' after '::' is not valid base64")
    assert result.stderr.rstrip().endswith("(VALIDATION_ERROR)")
    assert len(result.stderr.strip().splitlines()) == 1
    machine = flext_cli("--output", "json", "data", "ldif", "inspect", str(bad))
    assert machine.exit_code == 2
    assert machine.json()["code"] == "VALIDATION_ERROR"


def test_a_missing_file_is_a_usage_error(flext_cli: FlextCliRunner, tmp_path: Path) -> None:
    result = flext_cli("data", "ldif", "inspect", str(tmp_path / "nope.ldif"))
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'nope.ldif'}: cannot read the file" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_module_does_not_load_the_singer_sdk() -> None:
    code = (
        "import sys, flext_plugin_ldif.plugin, flext_plugin_ldif.inspect_cli, flext_plugin_ldif.singer; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('singer_sdk', 'click', 'jsonschema')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
