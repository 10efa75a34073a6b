"""The ``flext`` pytest plugin: fixtures for testing FLEXT plugins, loaded automatically.

Installing flext-sdk registers this module under the ``pytest11`` entry point
``flext``, so every pytest run in that environment has the fixtures without a
``conftest.py`` (``-p no:flext`` turns them off):

- ``flext_home``: a temporary ``FLEXT_HOME``, so nothing reads or writes the
  real user's configuration, state, caches or local plugins;
- ``flext_kernel_factory``: ``factory(*plugins, strict=True)`` boots a kernel
  holding only those plugins, closed when the test ends;
- ``flext_cli``: ``flext_cli(*args, plugin_dirs=(), env=None)`` runs the real
  ``flext`` executable in a subprocess and returns a ``CliResult``.

Loading the plugin imports nothing of the kernel; a fixture does that when a
test uses it, so test runs that never touch FLEXT pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flext_sdk.testing._cli import FlextCliRunner
from flext_sdk.testing._kernels import FlextKernelFactory, isolate_home

__all__ = ["flext_cli", "flext_home", "flext_kernel_factory"]


@pytest.fixture
def flext_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``FLEXT_HOME`` directory, set in the environment for the test.

    Other ``FLEXT_*`` variables of the shell running the tests (an allow-list
    of plugins, strict mode) are removed for the test, so results do not
    depend on who runs them.
    """
    return isolate_home(monkeypatch, tmp_path / "flext-home")


@pytest.fixture
def flext_kernel_factory(flext_home: Path) -> Iterator[FlextKernelFactory]:
    """Boot kernels holding only the plugins a test names: ``flext_kernel_factory(*plugins, strict=True)``.

    A plugin is an import target (``"pkg.plugin"``, ``"pkg.plugin:MyPlugin"``),
    a module, a ``FlextPlugin`` subclass or any object with a ``manifest``.
    Nothing installed on the machine is discovered. With ``strict`` (the
    default) a plugin that fails to import, load or start fails the test with
    its reason and traceback. Every kernel is closed at teardown.
    """
    factory = FlextKernelFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def flext_cli(flext_home: Path) -> FlextCliRunner:
    """Run the real ``flext`` in a subprocess: ``flext_cli(*args, plugin_dirs=(), env=None, input=None)``.

    The run uses the test's ``FLEXT_HOME`` and ``NO_COLOR=1``; the result has
    ``exit_code``, ``stdout``, ``stderr`` and ``json()`` (for ``--output json``).
    """
    return FlextCliRunner(flext_home)
