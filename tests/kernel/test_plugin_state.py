"""PluginStateStore: enabled/disabled flags that survive runs, and are forgotten on uninstall."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flext_kernel.plugins.state import PluginStateStore, environment_overrides


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


@settings(deadline=None, max_examples=25)  # each write opens a sqlmodel engine: slow, not a bug
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.booleans()), max_size=12))
def test_last_write_wins(tmp_path_factory: pytest.TempPathFactory, writes: list[tuple[str, bool]]) -> None:
    store = PluginStateStore(tmp_path_factory.mktemp("state") / "plugins.db")
    expected: dict[str, bool] = {}
    for name, enabled in writes:
        store.set_enabled(name, enabled)
        expected[name] = enabled
    assert store.disabled() == {name for name, enabled in expected.items() if not enabled}


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXT_PLUGINS", raising=False)
    monkeypatch.setenv("FLEXT_DISABLE_PLUGINS", " c , ,d")
    assert environment_overrides() == (None, {"c", "d"})
    monkeypatch.setenv("FLEXT_PLUGINS", "a,b")
    assert environment_overrides() == ({"a", "b"}, {"c", "d"})
