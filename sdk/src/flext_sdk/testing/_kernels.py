"""Boot kernels that hold only the plugins a test names, and close them when the test ends.

A test must not depend on what else is installed on the machine, so the
factory never runs discovery: it builds one ``Candidate`` per plugin and
hands exactly those to ``FlextKernel.boot``.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn

from flext_sdk.testing._resolve import (
    PluginImportError,
    PluginSpec,
    guess_name,
    load_spec,
    manifest_of,
    parked_target,
)

if TYPE_CHECKING:
    import pytest

    from flext_kernel.kernel import FlextKernel
    from flext_kernel.plugins.discovery import Candidate
    from flext_kernel.plugins.manager import PluginRecord

__all__ = ["FlextKernelFactory", "isolate_home", "strict_failure"]

HOME_VARIABLE: Final = "FLEXT_HOME"
TOOLS_VARIABLE: Final = "FLEXT_TOOLS_DIR"


def isolate_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """Point ``FLEXT_HOME`` at ``home`` and drop every other ``FLEXT_*`` variable of the caller's shell.

    A developer's ``FLEXT_PLUGINS`` or ``FLEXT_STRICT_PLUGINS`` would
    otherwise change what a test sees; ``monkeypatch`` restores them afterwards.
    ``FLEXT_TOOLS_DIR`` is the exception: tool environments (a tap, dbt) take
    a minute to build, so tests share them, by default in
    ``<user cache>/flext/test-tools`` (never the user's own tools).
    """
    home.mkdir(parents=True, exist_ok=True)
    tools = os.environ.get(TOOLS_VARIABLE) or str(_shared_test_tools())
    for variable in [name for name in os.environ if name.startswith("FLEXT_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv(HOME_VARIABLE, str(home))
    monkeypatch.setenv(TOOLS_VARIABLE, tools)
    return home


def _shared_test_tools() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("flext")) / "test-tools"


def strict_failure(failures: list[PluginRecord]) -> str:
    """The message a strict boot fails a test with: each plugin's reason, then its traceback."""
    lines = [f"{len(failures)} plugin(s) failed to boot in the test kernel:"]
    for record in failures:
        lines.append(f"- {record.name}: {record.reason}")
    for record in failures:
        if record.detail:
            lines.append(f"\n{record.name}:\n{record.detail.rstrip()}")
    return "\n".join(lines)


class FlextKernelFactory:
    """The ``flext_kernel_factory`` fixture: ``factory(*plugins, strict=True) -> FlextKernel``.

    Each call boots a new kernel holding only ``plugins``; every kernel it
    made is closed at the end of the test, newest first.
    """

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._kernels: list[FlextKernel] = []

    def __call__(self, *plugins: PluginSpec, strict: bool = True) -> FlextKernel:
        """Boot a kernel with exactly ``plugins`` (in order, dependencies first).

        Args:
            *plugins: each an import target (``"pkg.plugin"``,
                ``"pkg.plugin:MyPlugin"``), a module, a ``FlextPlugin`` subclass,
                or any object with a ``manifest``.
            strict: fail the test, with each failed plugin's reason and
                traceback, if any plugin fails to import, load or start. With
                False the kernel is returned and ``kernel.plugins.records``
                tells what failed.

        Returns:
            The booted kernel; the factory closes it at teardown.

        """
        __tracebackhide__ = True  # pytest shows the test's line, not the factory's
        candidates = [self._candidate(spec, strict=strict) for spec in plugins]
        kernel = self._boot(candidates)
        failures = kernel.plugins.failures()
        if strict and failures:
            kernel.close()
            _fail(strict_failure(failures))
        return kernel

    def _candidate(self, spec: PluginSpec, *, strict: bool) -> Candidate:
        from flext_kernel.plugins.discovery import Candidate

        __tracebackhide__ = True
        target = self._stack.enter_context(parked_target(spec))
        try:
            name = manifest_of(load_spec(spec)).name
        except PluginImportError as exc:
            if strict:
                _fail(str(exc))
            name = guess_name(spec)  # the kernel records the same import failure under this name
        return Candidate(name=name, target=target, source="builtin", location="flext_sdk.testing")

    def _boot(self, candidates: list[Candidate]) -> FlextKernel:
        from flext_kernel.kernel import FlextKernel

        # Strictness is applied by the caller rather than by boot(strict=True):
        # a strict boot failure returns no kernel, so the plugins that did start
        # could never be shut down.
        kernel = FlextKernel.boot(candidates=candidates, strict=False).unwrap()
        self._kernels.append(kernel)
        return kernel

    @property
    def kernels(self) -> tuple[FlextKernel, ...]:
        """Every kernel made so far, oldest first."""
        return tuple(self._kernels)

    def close(self) -> None:
        """Close every kernel (newest first), then forget parked plugin objects."""
        try:
            while self._kernels:
                self._kernels.pop().close()
        finally:
            self._stack.close()


def _fail(message: str) -> NoReturn:
    import pytest

    __tracebackhide__ = True
    pytest.fail(message)
