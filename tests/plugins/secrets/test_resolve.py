"""``${secret:NAME}`` resolved on the query bus by a plugin that never imports the secrets plugin.

The probe plugin below stands for the pipeline: it writes a connector's
config file (0600) with its references filled in through
``flext_sdk.contracts.secrets.resolve_references``, which asks
``ResolveSecret``; the secrets plugin answers from the encrypted file the
real ``flext secret set`` wrote.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_secrets.errors import SECRET_NOT_FOUND

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_sdk.contracts.secrets import ResolveSecret, SecretValue, references_in
from flext_sdk.redaction import default_redactor
from flext_sdk.testing import FlextKernelFactory

from .conftest import PASSPHRASE, Secrets, mode

VALUE = "pg-Pa55word/with spaces&more"

PROBE = '''
"""Writes a connector's config with ${secret:NAME} filled in; imports only the SDK."""

import json
import os

from flext_kernel.plugins.hookspecs import hookimpl
from flext_sdk import FlextCommand, FlextResult, PluginManifest
from flext_sdk.contracts.secrets import resolve_references
from flext_sdk.redaction import redact

manifest = PluginManifest(name="secretprobe")


class WriteConnectorConfig(FlextCommand):
    path: str
    config: dict
    profile: str | None = None


@hookimpl
def flext_startup(kernel):
    def handle(command):
        filled = resolve_references(kernel, command.config, profile=command.profile)
        if filled.is_failure:
            return filled
        config, _values = filled.value
        descriptor = os.open(command.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(config, handle)
        return FlextResult.ok(redact(f"connecting with {config['url']} password={config['password']}"))

    kernel.command_bus.register(WriteConnectorConfig, handle, owner="secretprobe")
'''


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    directory = tmp_path / "probe"
    directory.mkdir()
    (directory / "secretprobe_plugin.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(directory))
    return importlib.import_module("secretprobe_plugin")


def test_the_probe_imports_no_plugin() -> None:
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(PROBE))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert "flext_sdk.contracts.secrets" in imported
    assert not [name for name in imported if name and name.startswith("flext_plugin")]


def test_a_reference_is_filled_in_a_0600_file_and_redacted_everywhere_else(
    secrets: Secrets,
    probe: Any,
    flext_kernel_factory: FlextKernelFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert secrets("secret", "set", "PG_PASSWORD", "--profile", "prod", input=VALUE).exit_code == 0
    monkeypatch.setenv("FLEXT_SECRET_KEY", PASSPHRASE)
    kernel = flext_kernel_factory("flext_plugin_secrets.plugin", probe)
    target = tmp_path / "private" / "target-config.json"
    target.parent.mkdir(mode=0o700)
    config = {
        "password": "${secret:PG_PASSWORD}",
        "url": "postgresql://loader:${secret:PG_PASSWORD}@127.0.0.1/db",
        "port": 5432,
    }
    done = kernel.command_bus.dispatch(
        probe.WriteConnectorConfig(path=str(target), config=config, profile="prod")
    )
    assert done.is_success, done
    written = json.loads(target.read_text())
    assert written == {"password": VALUE, "url": f"postgresql://loader:{VALUE}@127.0.0.1/db", "port": 5432}
    assert mode(target) == 0o600
    assert VALUE not in done.value
    assert "***" in done.value
    assert VALUE in default_redactor().values

    answer = kernel.query_bus.execute(ResolveSecret(name="PG_PASSWORD", profile="prod"))
    assert isinstance(answer.value, SecretValue)
    assert answer.value.backend == "encrypted-file"
    for shown in (repr(answer.value), str(answer.value), answer.value.model_dump_json()):
        assert VALUE not in shown
    assert answer.value.reveal() == VALUE


def test_a_missing_secret_is_named_and_nothing_is_written(
    secrets: Secrets,
    probe: Any,
    flext_kernel_factory: FlextKernelFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert secrets("secret", "set", "OTHER", input=VALUE).exit_code == 0
    monkeypatch.setenv("FLEXT_SECRET_KEY", PASSPHRASE)
    kernel = flext_kernel_factory("flext_plugin_secrets.plugin", probe)
    target = tmp_path / "config.json"
    config = {"password": "${secret:OTHER}", "token": "${secret:NO_SUCH_SECRET}"}
    done = kernel.command_bus.dispatch(probe.WriteConnectorConfig(path=str(target), config=config))
    assert done.error_code == SECRET_NOT_FOUND
    assert done.error == "no secret 'NO_SUCH_SECRET' in profile 'default'"
    assert not target.exists()
    bad = kernel.command_bus.dispatch(
        probe.WriteConnectorConfig(path=str(target), config={"x": "${secret:a b}"})
    )
    assert bad.error_code == VALIDATION_ERROR
    assert not target.exists()


def test_without_the_secrets_plugin_the_failure_says_which_to_install(
    probe: Any, flext_kernel_factory: FlextKernelFactory, tmp_path: Path
) -> None:
    kernel = flext_kernel_factory(probe)
    target = tmp_path / "config.json"
    done = kernel.command_bus.dispatch(
        probe.WriteConnectorConfig(path=str(target), config={"password": "${secret:PW}"})
    )
    assert done.error_code == NOT_FOUND
    assert "flext-plugin-secrets" in str(done.error_data.get("hint"))
    assert not target.exists()
    plain = kernel.command_bus.dispatch(
        probe.WriteConnectorConfig(path=str(target), config={"url": "x", "password": "y"})
    )
    assert plain.is_success, plain


def test_references_are_found_at_any_depth() -> None:
    found = references_in(
        {"a": ["${secret:ONE}", {"b": "x ${secret:TWO} y ${secret:ONE}"}], "${secret:K}": 1}
    )
    assert found.value == {"ONE", "TWO", "K"}
    assert os.environ.get("FLEXT_SECRET_KEY") != VALUE
