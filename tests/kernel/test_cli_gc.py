"""The ``flext`` entry point pauses garbage collection during start-up and gives it back to the command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

FLEXT = str(Path(sys.executable).with_name("flext"))

PLUGIN = """
import gc
from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

manifest = PluginManifest(
    name="probe", version="1.0.0", commands=(CommandEntry(path=("probe",), target="probe:probe"),)
)


def probe() -> int:
    print(gc.isenabled(), gc.get_freeze_count() > 0)
    return 0
"""


def test_the_command_runs_with_collection_on_and_start_up_frozen(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "probe.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}
    environment["FLEXT_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [FLEXT, "--plugins-dir", str(plugins), "probe"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_calling_main_directly_leaves_the_collector_alone(tmp_path: Path) -> None:
    code = (
        "import gc\n"
        "from flext_kernel.cli.main import main\n"
        "gc.disable()\n"
        "main(['--help'])\n"
        "assert not gc.isenabled()\n"
        "gc.enable()\n"
        "main(['--help'])\n"
        "assert gc.isenabled() and gc.get_freeze_count() == 0\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_")}
    environment["FLEXT_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=False
    )
    assert done.returncode == 0, done.stderr
