"""Start-up of the ``flext`` executable, and the cost of loading plugins and calling hooks.

Targets (plugin issue): ``flext --help`` at most 2.5x ``python -c "import
cyclopts"`` and ``flext version`` at most 1.5x, both timed as whole processes
in the same run. The same two commands are measured again with 50 extra
installed plugins: real ``.dist-info`` directories with ``flext.plugins``
entry points on ``PYTHONPATH``, which is exactly what ``pip install`` leaves
behind, so discovery, the command cache and the help screen see 50 more
plugins. The first run after an install rebuilds the command cache (imports
every plugin once); that cold start is reported too.

In-process rows: loading one plugin (import, manifest check, version gate,
pluggy registration) and broadcasting a hook to 50 plugins, each against a
plain Python baseline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from _timing import Row, ns_per_op

FLEXT = str(Path(sys.executable).with_name("flext"))
EXTRA_PLUGINS = 50
RUNS = 15


def _process_ns(argv: Sequence[str], env: dict[str, str], runs: int = RUNS) -> float:
    """Best wall time of ``argv`` as a fresh process, after one warm-up run.

    The minimum, as in ``_timing.ns_per_op``: noise from other processes only
    ever adds time, so the fastest run is the closest to the true cost.
    """
    subprocess.run(argv, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter_ns() - started)
    return min(times)


def _environment(home: Path, pythonpath: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEXT_") and k != "PYTHONPATH"}
    env.update(FLEXT_HOME=str(home), NO_COLOR="1", COLUMNS="120")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def _install_fake_plugins(root: Path, count: int) -> None:
    """Write ``count`` plugin modules with dist-info metadata, as an installer would."""
    for index in range(count):
        name = f"bench-plugin-{index}"
        module = f"bench_plugin_{index}"
        (root / f"{module}.py").write_text(
            textwrap.dedent(f"""
                from flext_kernel.plugins.hookspecs import hookimpl
                from flext_kernel.plugins.manifest import CommandEntry, PluginManifest
                from flext_kernel.result import FlextResult

                manifest = PluginManifest(
                    name={name!r}, version="1.0.0", description="benchmark plugin {index}",
                    commands=(CommandEntry(path=({name!r},), target="{module}:run", help="Run {index}."),),
                )

                def run() -> int:
                    return 0

                @hookimpl
                def flext_health():
                    return FlextResult.ok({{"status": "ok"}})
            """),
            encoding="utf-8",
        )
        info = root / f"{module}-1.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n")
        (info / "entry_points.txt").write_text(f"[flext.plugins]\n{name} = {module}\n")
        (info / "RECORD").write_text("")


def _startup_rows(workdir: Path) -> list[Row]:
    cyclopts = _process_ns([sys.executable, "-c", "import cyclopts"], _environment(workdir / "h0"))
    python = _process_ns([sys.executable, "-c", "pass"], _environment(workdir / "h0"))
    base = _environment(workdir / "home")
    help_ns = _process_ns([FLEXT, "--help"], base)
    version_ns = _process_ns([FLEXT, "version"], base)

    extra = workdir / "site"
    extra.mkdir()
    _install_fake_plugins(extra, EXTRA_PLUGINS)
    crowded = _environment(workdir / "crowded", extra)
    started = time.perf_counter_ns()
    listing = subprocess.run([FLEXT, "--help"], env=crowded, capture_output=True, text=True, check=True)
    cold_ns = time.perf_counter_ns() - started
    if f"bench-plugin-{EXTRA_PLUGINS - 1}" not in listing.stdout:
        raise RuntimeError("the 50 benchmark plugins did not reach flext --help; the numbers would lie")
    help_50 = _process_ns([FLEXT, "--help"], crowded)
    version_50 = _process_ns([FLEXT, "version"], crowded)

    base_name = 'python -c "import cyclopts"'
    return [
        Row("cli", "flext --help", help_ns, base_name, cyclopts, 2.5),
        Row("cli", "flext version", version_ns, base_name, cyclopts, 1.5),
        Row("cli", f"flext --help, {EXTRA_PLUGINS} extra plugins", help_50, base_name, cyclopts, 2.5),
        Row("cli", f"flext version, {EXTRA_PLUGINS} extra plugins", version_50, base_name, cyclopts, 1.5),
        Row(
            "cli",
            f"flext --help, cold cache after installing {EXTRA_PLUGINS} plugins",
            cold_ns,
            base_name,
            cyclopts,
            notes=["one run: rebuilds the command cache by importing every plugin once"],
        ),
        Row("cli", 'python -c "pass"', python, base_name, cyclopts, notes=["interpreter start-up alone"]),
    ]


def _in_process_rows(workdir: Path) -> list[Row]:
    from flext_kernel.plugins.discovery import Candidate, local_candidates
    from flext_kernel.plugins.manager import PluginManager

    directory = workdir / "local"
    directory.mkdir()
    _install_fake_plugins(directory, EXTRA_PLUGINS)
    candidates = local_candidates([directory])
    manager = PluginManager("0.1.0")
    manager.load(candidates)
    assert all(r.state.value == "loaded" for r in manager.records.values())

    functions = [sys.modules[c.target].flext_health for c in candidates]

    def direct() -> None:
        for function in functions:
            function()

    hook_ns = ns_per_op(manager.hooks.hook.flext_health, number=2_000)
    direct_ns = ns_per_op(direct, number=2_000)

    import pluggy

    from flext_kernel.plugins import hookspecs

    first = candidates[0]
    module = sys.modules[first.target]
    reused = PluginManager("0.1.0")
    bare = pluggy.PluginManager(hookspecs.PROJECT)
    bare.add_hookspecs(hookspecs)

    def load_one() -> None:
        # The module is already imported: the manager's own cost (manifest, gate, pluggy).
        reused.records.clear()
        reused.load([first])
        reused.hooks.unregister(name=first.name)

    def pluggy_only() -> None:
        bare.register(module, name=first.name)
        bare.unregister(name=first.name)

    load_ns = ns_per_op(load_one, number=2_000)
    import_ns = ns_per_op(pluggy_only, number=2_000)
    fresh = [Candidate(c.name, c.target, "directory") for c in candidates]
    for candidate in fresh:
        sys.modules.pop(candidate.target, None)
    started = time.perf_counter_ns()
    PluginManager("0.1.0").load(fresh)
    cold_ns = (time.perf_counter_ns() - started) / len(fresh)
    return [
        Row("plugins", f"hook call to {EXTRA_PLUGINS} plugins", hook_ns, "direct calls", direct_ns),
        Row(
            "plugins",
            "load one plugin (manifest, gate, register)",
            load_ns,
            "pluggy register+unregister",
            import_ns,
            notes=["module already imported"],
        ),
        Row(
            "plugins",
            "load one plugin from source (import included)",
            cold_ns,
            "pluggy register+unregister",
            import_ns,
            notes=[f"mean over {EXTRA_PLUGINS} plugins"],
        ),
    ]


def _timed(step: Callable[[Path], list[Row]]) -> list[Row]:
    workdir = Path(tempfile.mkdtemp(prefix="flext-bench-cli-"))
    try:
        return step(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run() -> list[Row]:
    """Measure CLI start-up with and without 50 extra plugins, plugin loading and hook calls."""
    if not Path(FLEXT).exists():
        raise RuntimeError(f"{FLEXT} not found: install flext-kernel into this interpreter's environment")
    return _timed(_startup_rows) + _timed(_in_process_rows)


if __name__ == "__main__":
    print(json.dumps([asdict(row) | {"ratio": row.ratio, "met": row.met} for row in run()], indent=2))
