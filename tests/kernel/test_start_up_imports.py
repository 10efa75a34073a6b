"""What the kernel's start-up path must not import: asyncio (which brings ssl) is for async callers only.

A short command such as ``flext pipeline run`` boots the kernel, and every
module it imports there is paid for on each run; docs/performance.md
("Pipelines") has the figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _modules_after(code: str, home: Path) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}, "FLEXT_HOME": str(home)},
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_importing_the_bus_and_the_container_does_not_import_asyncio(tmp_path: Path) -> None:
    modules = _modules_after("import flext_kernel.bus, flext_kernel.container", tmp_path)
    assert "flext_kernel.container" in modules
    assert "asyncio" not in modules
    assert "ssl" not in modules


def test_booting_the_kernel_with_the_installed_plugins_does_not_import_asyncio(tmp_path: Path) -> None:
    code = (
        "from flext_kernel.kernel import FlextKernel\n"
        "kernel = FlextKernel.boot(strict=True).unwrap()\n"
        "assert kernel.plugins.records, 'no plugin was found'\n"
        "kernel.close()\n"
    )
    modules = _modules_after(code, tmp_path)
    assert "asyncio" not in modules
    assert "ssl" not in modules


def test_importing_the_entry_module_leaves_cyclopts_for_run(tmp_path: Path) -> None:
    # The console script imports flext_kernel.cli.main before run() pauses garbage collection.
    modules = _modules_after("import flext_kernel.cli.main", tmp_path)
    assert "cyclopts" not in modules
    assert "flext_kernel.cli.app" not in modules
