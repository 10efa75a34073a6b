"""``flext meltano test [PLUGIN[:TEST]...]``: the project's ``meltano test``, one test at a time, one table.

Meltano's tests are the plugins' own commands whose name starts with
``test`` (``commands: {test: {args: --about}}``, inherited through
``inherit_from``); ``meltano test --all`` runs them all and prints one
``success``/``failure`` line each, without times. flext runs each as
``meltano test PLUGIN:TEST`` in the project (checked first, as every
``flext meltano`` command checks it) and reports one table: plugin, test,
outcome, seconds. Arguments choose plugins (every test of ``tap-x``) or
tests (``tap-x:test``); a name the project does not have is exit 2.

Exit 0 when every test passed (or there is none), 1 when any failed
(``MELTANO_TEST_FAILED`` naming them; ``flext meltano invoke PLUGIN:TEST``
shows one's output). ``--output json`` prints the report
(``tests``, ``passed``, ``failed``) and exits the same way; a test's output
is not kept (a plugin may print its configuration).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult
from flext_sdk.cli import EXIT_FAILED, current, emit, emit_error, emit_table, fail, note

if TYPE_CHECKING:
    from flext_plugin_meltano.project import MeltanoProject

__all__ = ["COLUMNS", "meltano_test", "project_tests"]

COLUMNS = ("plugin", "test", "outcome", "duration")
"""The table's columns (the JSON rows have ``exit_code`` too)."""


def meltano_test(*tests: str, project: Path | None = None, environment: str | None = None) -> int:
    """Run the project's plugin tests (meltano test) and report one table; exit 1 if any failed.

    Args:
        tests: Plugins (all their tests) or PLUGIN:TEST; default every test of every plugin.
        project: The Meltano project directory; default the working directory or its nearest parent.
        environment: The Meltano environment; default the project's default_environment.

    """
    from flext_plugin_meltano.meltano_cli import prepare

    prepared = prepare(project, environment)
    if isinstance(prepared, int):
        return prepared
    meltano, meltano_project = prepared
    chosen = project_tests(meltano_project, tests)
    if isinstance(chosen, Failure):
        return fail(chosen)
    prefix = ["--environment", environment] if environment is not None else []
    rows = [_run(meltano, meltano_project.root, prefix, plugin, test) for plugin, test in chosen.value]
    failed = [f"{row['plugin']}:{row['test']}" for row in rows if row["outcome"] == "failed"]
    if current().output != "table":
        emit({"tests": rows, "passed": len(rows) - len(failed), "failed": len(failed)})
        return EXIT_FAILED if failed else 0
    if not rows:
        note(f"no plugin of {meltano_project.root} declares a test (a command whose name starts with 'test')")
        return 0
    emit_table(rows, list(COLUMNS), title="meltano test")
    if not failed:
        return 0
    from flext_plugin_meltano.errors import MELTANO_TEST_FAILED

    return emit_error(
        f"{len(failed)} of {len(rows)} test(s) failed: {', '.join(failed)}",
        MELTANO_TEST_FAILED,
        hint=f"see one's output: 'flext meltano invoke {failed[0]} --project {meltano_project.root}'",
        exit_code=EXIT_FAILED,
    )


def project_tests(project: MeltanoProject, names: Sequence[str]) -> FlextResult[list[tuple[str, str]]]:
    """``(plugin, test)`` for every test ``names`` choose (all when empty), in ``meltano.yml``'s order."""
    every = [
        (plugin.name, command)
        for plugin in project.plugins.values()
        for command in plugin.commands
        if command.startswith("test")
    ]
    if not names:
        return FlextResult.ok(every)
    chosen: list[tuple[str, str]] = []
    for name in names:
        plugin, _, test = name.partition(":")
        found = [pair for pair in every if pair[0] == plugin and (not test or pair[1] == test)]
        if not found:
            known = ", ".join(f"{p}:{t}" for p, t in every) or "none"
            return FlextResult.fail(
                f"{project.root / 'meltano.yml'}: no test {name!r} (a plugin's command named test...; "
                f"the project's: {known})",
                VALIDATION_ERROR,
                {"test": name},
            )
        chosen += [pair for pair in found if pair not in chosen]
    return FlextResult.ok(chosen)


def _run(meltano: Path, root: Path, prefix: list[str], plugin: str, test: str) -> dict[str, Any]:
    from flext_plugin_meltano.delegate import meltano_environ

    started = time.monotonic()
    done = subprocess.run(
        [str(meltano), *prefix, "test", f"{plugin}:{test}"],
        cwd=root,
        env=meltano_environ(),
        capture_output=True,
        check=False,
    )
    return {
        "plugin": plugin,
        "test": test,
        "outcome": "passed" if done.returncode == 0 else "failed",
        "duration": round(time.monotonic() - started, 3),
        "exit_code": done.returncode,
    }
