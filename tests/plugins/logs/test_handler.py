"""The logging handler in a real kernel: installed at start-up, removed at shutdown, never in the way."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flext_plugin_logs.handler import StoreHandler
from flext_plugin_logs.plugin import Plugin
from flext_plugin_logs.redaction import MASK, Redactor
from hypothesis import given
from hypothesis import strategies as st

from flext_kernel.correlation import correlation_scope
from flext_sdk.testing import FlextKernelFactory, PluginContract


class TestPluginContract(PluginContract):
    """The rules every FLEXT plugin follows."""

    plugin = "flext_plugin_logs.plugin:Plugin"


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store" / "logs.db"
    monkeypatch.setenv("FLEXT_LOGS_PATH", str(path))
    monkeypatch.setenv("FLEXT_LOGS_FLUSH_INTERVAL", "0.05")
    return path


@pytest.fixture
def factory() -> Iterator[FlextKernelFactory]:
    made = FlextKernelFactory()
    yield made
    made.close()


def handlers_of(name: str) -> list[logging.Handler]:
    return [handler for handler in logging.getLogger(name).handlers if isinstance(handler, StoreHandler)]


def rows(path: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            "SELECT level, logger, plugin, correlation_id, message, fields FROM lines ORDER BY id"
        ).fetchall()
    finally:
        connection.close()


def test_lines_of_the_kernel_are_stored_with_plugin_fields_and_correlation(
    factory: FlextKernelFactory, store_path: Path
) -> None:
    kernel = factory(Plugin)
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    logger = logging.getLogger("flext_kernel.bus")
    with correlation_scope("action-1"):
        logger.info("dispatched %s", "RunPipeline", extra={"outcome": "ok", "api_key": "k-123456"})
    logger.debug("below the level: not stored")
    factory.close()  # shutdown stores what is queued
    assert rows(store_path) == [
        (
            20,
            "flext_kernel.bus",
            "kernel",
            "action-1",
            "dispatched RunPipeline",
            '{"api_key": "***", "outcome": "ok"}',
        )
    ]
    assert plugin.handler is None


def test_the_handler_leaves_at_shutdown_and_levels_are_put_back(
    factory: FlextKernelFactory, store_path: Path
) -> None:
    before = logging.getLogger("flext_kernel").level
    factory(Plugin)
    assert len(handlers_of("flext_kernel")) == 1
    assert len(handlers_of("flext_plugin_logs")) == 1
    assert logging.getLogger("flext_kernel").getEffectiveLevel() == logging.INFO
    factory.close()
    assert handlers_of("flext_kernel") == []
    assert handlers_of("flext_plugin_logs") == []
    assert logging.getLogger("flext_kernel").level == before


def test_starting_costs_no_thread_until_something_is_logged(
    factory: FlextKernelFactory, store_path: Path
) -> None:
    kernel = factory(Plugin)
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    assert plugin.writer is not None
    assert not any(thread.name == "flext-logs-writer" for thread in threading.enumerate())
    logging.getLogger("flext_kernel.bus").info("the first line")
    assert plugin.writer.ready.wait(10)
    factory.close()
    assert [row[4] for row in rows(store_path)] == ["the first line"]
    assert not any(thread.name == "flext-logs-writer" for thread in threading.enumerate())


def test_a_second_start_replaces_the_handler(factory: FlextKernelFactory, store_path: Path) -> None:
    kernel = factory(Plugin)
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    plugin.initialize(kernel).unwrap()  # what a hot reload does
    assert len(handlers_of("flext_kernel")) == 1


def test_a_store_that_cannot_open_costs_lines_not_the_command(
    factory: FlextKernelFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FLEXT_LOGS_PATH", str(blocker / "logs.db"))
    monkeypatch.setenv("FLEXT_LOGS_FLUSH_INTERVAL", "0.05")
    kernel = factory(Plugin)
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    writer = plugin.writer
    assert writer is not None
    for number in range(5):
        logging.getLogger("flext_kernel.bus").info("line %d", number)
    assert writer.ready.wait(10)
    health = kernel.plugins.health()["logs"].unwrap()
    writer.close()
    assert writer.written == 0
    assert writer.dropped == 5
    assert "cannot open the log store" in (writer.last_error or "")
    assert health["store"] == str(blocker / "logs.db")


def test_a_bad_setting_stores_nothing_and_says_why(
    factory: FlextKernelFactory, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_LOGS_LEVEL", "loud")
    kernel = factory(Plugin)
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    assert plugin.writer is not None
    assert plugin.writer.ready.wait(10)
    logging.getLogger("flext_kernel.bus").error("not stored")
    assert "FLEXT_LOGS_* setting" in (plugin.writer.last_error or "")
    factory.close()
    assert not store_path.exists()


def test_a_warning_still_reaches_stderr_when_nothing_else_handles_it(
    factory: FlextKernelFactory,
    store_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.root, "handlers", [])  # as in the CLI: no handler (pytest's capture is one)
    factory(Plugin)
    logging.getLogger("flext_kernel.bus").warning("a hold was not released")
    logging.getLogger("flext_kernel.bus").info("an info line")
    assert capsys.readouterr().err == "a hold was not released\n"


def test_a_record_that_cannot_be_formatted_is_dropped_quietly(
    factory: FlextKernelFactory,
    store_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.root, "handlers", [])  # pytest's capture handler raises on such a record
    kernel = factory(Plugin)
    logging.getLogger("flext_kernel.bus").info("%d items", "not a number")
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    assert plugin.writer is not None
    assert plugin.writer.dropped == 1
    assert "Traceback" not in capsys.readouterr().err


def test_debug_lines_are_stored_when_asked(
    factory: FlextKernelFactory, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXT_LOGS_LEVEL", "debug")
    kernel = factory(Plugin)
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    assert plugin.writer is not None
    assert plugin.writer.ready.wait(10)
    logging.getLogger("flext_kernel.bus").debug("a debug line")
    factory.close()
    assert [row[4] for row in rows(store_path)] == ["a debug line"]


SECRET_TEXT = st.text(alphabet=st.characters(categories=["L", "N"], include_characters="-_.!$%"), min_size=3)


@given(secret=SECRET_TEXT, key=st.sampled_from(["password", "db_password", "API_KEY", "token", "secret"]))
def test_redaction_hides_key_value_secrets(secret: str, key: str) -> None:
    redact = Redactor()
    for text in (
        f"{key}={secret}",
        f"{key}: {secret}",
        f'{{"{key}": "{secret}"}}',
        f"connecting {key}={secret} ok",
    ):
        assert secret not in redact(text), text


@given(secret=SECRET_TEXT)
def test_redaction_hides_url_passwords_and_secret_environment_values(secret: str) -> None:
    redact = Redactor.from_environment({"TARGET_PASSWORD": secret, "HOME": "/root"})
    assert secret not in redact(f"postgresql://loader:{secret}@db.example/x")
    assert secret not in redact(f"the value is {secret} here")
    assert redact("Authorization: Bearer abc.def-123") == f"Authorization: Bearer {MASK}"
    assert redact.fields({"user": "ada", "credentials": {"pin": 1234}}) == {
        "user": "ada",
        "credentials": {"pin": MASK},
    }


def test_a_value_registered_with_the_sdk_is_hidden_in_stored_lines_and_fields(
    factory: FlextKernelFactory, store_path: Path
) -> None:
    from flext_sdk.redaction import register

    kernel = factory(Plugin)
    assert kernel.plugins.records["logs"].plugin is not None
    from urllib.parse import quote

    resolved = "resolved Secret/91ab"  # as ${secret:NAME} resolved in this process, after the handler started
    assert register(resolved)
    logging.getLogger("flext_kernel.bus").warning(
        "connecting with %s (%s)", resolved, quote(resolved, safe=""), extra={"note": f"x {resolved} y"}
    )
    factory.close()
    ((_level, _logger, _plugin, _correlation, message, fields),) = rows(store_path)
    assert resolved not in f"{message} {fields}"
    assert message == "connecting with *** (***)"
    assert fields == '{"note": "x *** y"}'


class BadStr:
    """A value of ``extra=`` that cannot be written as text: ``str()`` and ``repr()`` raise."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


def test_a_line_whose_fields_cannot_be_written_costs_that_line_only(
    factory: FlextKernelFactory, store_path: Path
) -> None:
    kernel = factory(Plugin)
    plugin = kernel.plugins.records["logs"].plugin
    assert isinstance(plugin, Plugin)
    writer = plugin.writer
    assert writer is not None
    logger = logging.getLogger("flext_kernel.bus")
    logger.info("before")
    logger.info("the bad one", extra={"obj": BadStr()})
    logger.info("after")
    writer.close()  # stores what is queued, as at shutdown
    health = kernel.plugins.health()["logs"].unwrap()
    assert [row[4] for row in rows(store_path)] == ["before", "after"]
    assert health["written"] == 2
    assert health["dropped"] == 1
    assert health["status"] == "degraded"
    assert "no text for you" in (health["last_error"] or "")
