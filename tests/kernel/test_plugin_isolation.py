"""Plugins that misbehave while the host runs their code: loop, exit, print, raise KeyboardInterrupt.

Real plugin modules on disk, loaded in this process; the CLI-level view is
tests/e2e/test_misbehaving_plugins.py.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flext_kernel.kernel import FlextKernel
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.discovery import local_candidates
from flext_kernel.plugins.isolation import HungImports, import_timeout
from flext_kernel.plugins.manager import PluginManager

MANIFEST = (
    "from flext_kernel.plugins.manifest import PluginManifest\nmanifest = PluginManifest(name={name!r})\n"
)
LIMIT = 0.5


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """A plugins directory whose modules are forgotten after the test."""
    directory = tmp_path / "plugins"
    directory.mkdir()
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        del sys.modules[name]
    if str(directory) in sys.path:
        sys.path.remove(str(directory))


@pytest.fixture
def hung(tmp_path: Path) -> HungImports:
    return HungImports(tmp_path / "plugin-imports.json")


def write(directory: Path, name: str, body: str = "") -> Path:
    path = directory / f"{name}.py"
    path.write_text(MANIFEST.format(name=name) + textwrap.dedent(body), encoding="utf-8")
    return path


def load(directory: Path, hung: HungImports, limit: float = LIMIT) -> PluginManager:
    manager = PluginManager("0.1.0", import_timeout=limit, hung_imports=hung)
    manager.load(local_candidates([directory]))
    return manager


def states(manager: PluginManager) -> dict[str, tuple[str, str | None]]:
    return {name: (record.state.value, record.reason) for name, record in manager.records.items()}


def test_an_import_that_loops_is_interrupted_after_the_limit_and_remembered(
    plugin_dir: Path, hung: HungImports
) -> None:
    looper = write(plugin_dir, "looper", "while True:\n    pass\n")
    write(plugin_dir, "good")
    started = time.monotonic()
    manager = load(plugin_dir, hung)
    assert time.monotonic() - started < LIMIT + 2
    assert states(manager) == {
        "good": ("loaded", None),
        "looper": ("failed", f"import did not finish in {LIMIT:g} s"),
    }
    assert 'looper.py", line' in (manager.records["looper"].detail or ""), "the traceback shows where"
    assert "looper" not in sys.modules

    started = time.monotonic()
    again = load(plugin_dir, HungImports(hung.path), limit=30)  # another run: no waiting at all
    assert time.monotonic() - started < 1
    assert again.records["looper"].reason == (
        f"import did not finish in {LIMIT:g} s; skipped until one of its files changes"
    )

    looper.write_text(MANIFEST.format(name="looper"), encoding="utf-8")
    os.utime(looper, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a new mtime, even on coarse clocks
    sys.modules.pop("looper", None)
    fixed = load(plugin_dir, HungImports(hung.path))
    assert fixed.records["looper"].state is PluginState.LOADED
    assert "looper" not in HungImports(hung.path)._read(), "a plugin that imports again is forgotten"


def test_a_blocking_call_on_the_main_thread_is_interrupted(plugin_dir: Path, hung: HungImports) -> None:
    write(plugin_dir, "sleeper", "import time\ntime.sleep(60)\n")
    started = time.monotonic()
    manager = load(plugin_dir, hung)
    assert time.monotonic() - started < LIMIT + 2
    assert manager.records["sleeper"].reason == f"import did not finish in {LIMIT:g} s"


def test_an_import_that_loops_on_another_thread_is_interrupted(plugin_dir: Path, hung: HungImports) -> None:
    write(plugin_dir, "looper", "n = 0\nwhile True:\n    n += 1\n")
    found: list[PluginManager] = []
    worker = threading.Thread(target=lambda: found.append(load(plugin_dir, hung)))
    worker.start()
    worker.join(LIMIT + 5)
    assert not worker.is_alive()
    assert found[0].records["looper"].reason == f"import did not finish in {LIMIT:g} s"


def test_no_interrupt_is_left_behind_by_imports_that_finish(plugin_dir: Path, hung: HungImports) -> None:
    for index in range(20):
        write(plugin_dir, f"quick{index}")
    manager = load(plugin_dir, hung, limit=0.05)
    assert {record.state for record in manager.records.values()} == {PluginState.LOADED}
    time.sleep(0.2)  # a stray SIGINT or asynchronous exception would land here
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not hung.path.exists()


def test_exit_keyboard_interrupt_and_print_at_import_are_contained(
    plugin_dir: Path, hung: HungImports, capfd: pytest.CaptureFixture[str]
) -> None:
    write(plugin_dir, "exiter", "import sys\nsys.exit(3)\n")
    write(plugin_dir, "interrupter", "raise KeyboardInterrupt\n")
    write(plugin_dir, "printer", "print('printed at import')\n")
    manager = load(plugin_dir, hung)
    assert states(manager) == {
        "exiter": ("failed", "import called sys.exit(3)"),
        "interrupter": ("failed", "import raised KeyboardInterrupt"),
        "printer": ("loaded", None),
    }
    out, err = capfd.readouterr()
    assert "printed at import" not in out
    assert "printed at import" in err


def test_the_users_ctrl_c_during_an_import_still_stops(plugin_dir: Path, hung: HungImports) -> None:
    write(
        plugin_dir, "pressed", "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n"
    )
    with pytest.raises(KeyboardInterrupt):
        load(plugin_dir, hung, limit=30)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_plugin_swallowing_the_users_ctrl_c_does_not_keep_it(plugin_dir: Path, hung: HungImports) -> None:
    write(
        plugin_dir,
        "swallower",
        "import os, signal, time\ntry:\n    os.kill(os.getpid(), signal.SIGINT)\n    time.sleep(5)\n"
        "except KeyboardInterrupt:\n    pass\n",
    )
    with pytest.raises(KeyboardInterrupt):
        load(plugin_dir, hung, limit=30)


HOOKS = "from flext_kernel.plugins.hookspecs import hookimpl\n"


def test_exit_and_keyboard_interrupt_in_hooks_fail_only_that_plugin(
    plugin_dir: Path, hung: HungImports, capfd: pytest.CaptureFixture[str]
) -> None:
    write(plugin_dir, "quitter", HOOKS + "@hookimpl\ndef flext_startup(kernel):\n    raise SystemExit(3)\n")
    write(
        plugin_dir,
        "stopper",
        HOOKS + "@hookimpl\ndef flext_register_services(container):\n    raise KeyboardInterrupt\n",
    )
    write(plugin_dir, "talker", HOOKS + "@hookimpl\ndef flext_startup(kernel):\n    print('started')\n")
    kernel = FlextKernel(PluginManager("0.1.0", import_timeout=LIMIT, hung_imports=hung))
    kernel.plugins.load(local_candidates([plugin_dir]))
    kernel.plugins.activate(kernel)
    assert states(kernel.plugins) == {
        "quitter": ("failed", "flext_startup called sys.exit(3)"),
        "stopper": ("failed", "flext_register_services raised KeyboardInterrupt"),
        "talker": ("active", None),
    }
    kernel.close()
    out, err = capfd.readouterr()
    assert "started" not in out
    assert "started" in err


def test_the_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXT_PLUGIN_IMPORT_TIMEOUT", raising=False)
    assert import_timeout() == 10.0
    monkeypatch.setenv("FLEXT_PLUGIN_IMPORT_TIMEOUT", "2.5")
    assert import_timeout() == 2.5
    assert PluginManager("0.1.0").import_timeout == 2.5
    monkeypatch.setenv("FLEXT_PLUGIN_IMPORT_TIMEOUT", "0")
    assert import_timeout() is None
    monkeypatch.setenv("FLEXT_PLUGIN_IMPORT_TIMEOUT", "soon")
    assert import_timeout() == 10.0
