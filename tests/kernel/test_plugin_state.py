"""PluginStateStore: enabled/disabled flags that survive runs, and are forgotten on uninstall."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_kernel.errors import FlextError
from flext_kernel.plugins.state import PluginStateStore, enable_hint, environment_overrides


def test_nothing_is_disabled_before_the_file_exists(tmp_path: Path) -> None:
    store = PluginStateStore(tmp_path / "plugins.db")
    assert store.disabled() == set()
    store.forget({"anything"})  # no file, no table: nothing to do, no error
    assert not (tmp_path / "plugins.db").exists()


def test_disable_enable_and_forget(tmp_path: Path) -> None:
    store = PluginStateStore(tmp_path / "plugins.db")
    store.set_enabled("a", False)
    store.set_enabled("b", False)
    store.set_enabled("c", True)
    assert store.disabled() == {"a", "b"}
    store.set_enabled("a", True)
    assert store.disabled() == {"b"}
    store.forget({"b", "unknown"})
    assert store.disabled() == set()
    # A fresh store object reads the same file: the state is on disk, not in memory.
    assert PluginStateStore(tmp_path / "plugins.db").disabled() == set()


@settings(deadline=None, max_examples=25)  # each write opens a SQLite file: no deadline on slow disks
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.booleans()), max_size=12))
def test_last_write_wins(tmp_path_factory: pytest.TempPathFactory, writes: list[tuple[str, bool]]) -> None:
    store = PluginStateStore(tmp_path_factory.mktemp("state") / "plugins.db")
    expected: dict[str, bool] = {}
    for name, enabled in writes:
        store.set_enabled(name, enabled)
        expected[name] = enabled
    assert store.disabled() == {name for name, enabled in expected.items() if not enabled}


# The table exactly as the earlier sqlmodel-based store had SQLAlchemy create it
# (copied from sqlite_master of a plugins.db it wrote), and two rows in its format.
_SQLMODEL_DDL = (
    "CREATE TABLE plugin_state (\n\tname VARCHAR NOT NULL, \n\tenabled BOOLEAN NOT NULL, "
    "\n\tchanged_at DATETIME NOT NULL, \n\tPRIMARY KEY (name)\n)"
)


def _write_old_file(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(_SQLMODEL_DDL)
        db.executemany(
            "INSERT INTO plugin_state (name, enabled, changed_at) VALUES (?, ?, ?)",
            [("a", 0, "2025-01-02 03:04:05.123456"), ("b", 1, "2025-01-02 03:04:06.000001")],
        )


def _table_info(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("PRAGMA table_info(plugin_state)").fetchall()


def _rows(path: Path) -> dict[str, tuple[int, str]]:
    with closing(sqlite3.connect(path)) as db:
        return {n: (e, c) for n, e, c in db.execute("SELECT name, enabled, changed_at FROM plugin_state")}


def test_a_file_written_by_the_sqlmodel_store_is_read_and_updated(tmp_path: Path) -> None:
    path = tmp_path / "plugins.db"
    _write_old_file(path)
    store = PluginStateStore(path)
    assert store.disabled() == {"a"}
    store.set_enabled("a", True)
    store.set_enabled("b", False)
    store.set_enabled("c", False)
    assert store.disabled() == {"b", "c"}
    rows = _rows(path)
    assert set(rows) == {"a", "b", "c"}  # updated in place: still one row per name
    store.forget({"c"})
    assert store.disabled() == {"b"}


def test_a_new_file_has_the_sqlmodel_shape(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _write_old_file(old)
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    PluginStateStore(new).set_enabled("x", False)
    # Same columns, types, NOT NULL flags and key: an older FLEXT reads and writes this file.
    assert _table_info(new) == _table_info(old)
    enabled, changed_at = _rows(new)["x"]
    assert enabled == 0
    # SQLAlchemy's DATETIME text form (naive UTC, microseconds), which it parses back.
    assert len(changed_at) == len("2025-01-02 03:04:05.123456")
    assert before <= datetime.strptime(changed_at, "%Y-%m-%d %H:%M:%S.%f") <= before + timedelta(minutes=1)


def test_reads_do_not_write(tmp_path: Path) -> None:
    path = tmp_path / "odd ?#% name" / "plugins.db"  # URI syntax in the path is escaped
    path.parent.mkdir()
    path.touch()  # a file with no table: nothing disabled, and the read creates nothing
    assert PluginStateStore(path).disabled() == set()
    assert path.stat().st_size == 0
    PluginStateStore(path).set_enabled("a", False)
    assert PluginStateStore(path).disabled() == {"a"}


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXT_PLUGINS", raising=False)
    monkeypatch.setenv("FLEXT_DISABLE_PLUGINS", " c , ,d")
    assert environment_overrides() == (None, {"c", "d"})
    monkeypatch.setenv("FLEXT_PLUGINS", "a,b")
    assert environment_overrides() == ({"a", "b"}, {"c", "d"})


def test_an_unreadable_state_file_is_an_error_not_everything_enabled(tmp_path: Path) -> None:
    path = tmp_path / "plugins.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(FlextError, match="cannot read which plugins are disabled"):
        PluginStateStore(path).disabled()


def test_the_enable_hint_names_the_variable_that_leaves_a_plugin_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXT_PLUGINS", raising=False)
    monkeypatch.delenv("FLEXT_DISABLE_PLUGINS", raising=False)
    assert enable_hint("dbt") == "enable it with 'flext plugin enable dbt'"
    monkeypatch.setenv("FLEXT_DISABLE_PLUGINS", "dbt")
    assert "FLEXT_DISABLE_PLUGINS" in enable_hint("dbt")
    monkeypatch.delenv("FLEXT_DISABLE_PLUGINS")
    monkeypatch.setenv("FLEXT_PLUGINS", "kernel,singer")
    assert "FLEXT_PLUGINS" in enable_hint("dbt")


def test_names_are_stored_and_read_in_their_canonical_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plugins.db"
    with closing(sqlite3.connect(path)) as db, db:  # a row an older FLEXT wrote with an underscore
        db.execute(_SQLMODEL_DDL)
        db.execute("INSERT INTO plugin_state VALUES ('plugin_cmd', 0, '2024-01-01 00:00:00.000000')")
    store = PluginStateStore(path)
    assert store.disabled() == {"plugin-cmd"}
    store.set_enabled("Plugin.Cmd", True)  # any spelling; the old row does not outvote it
    assert store.disabled() == set()
    store.set_enabled("plugin_cmd", False)
    assert store.disabled() == {"plugin-cmd"}
    store.forget({"plugin_cmd"})
    assert store.disabled() == set()
    monkeypatch.setenv("FLEXT_DISABLE_PLUGINS", "plugin_cmd")
    monkeypatch.setenv("FLEXT_PLUGINS", "My.Plugin,kernel")
    assert environment_overrides() == ({"my-plugin", "kernel"}, {"plugin-cmd"})
    assert "FLEXT_DISABLE_PLUGINS" in enable_hint("plugin-cmd")
