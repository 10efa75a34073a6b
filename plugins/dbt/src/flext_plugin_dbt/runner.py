"""``run_dbt``: run one dbt command on a project, in dbt's own environment, and report what it did.

It handles the ``RunDbt`` command other plugins dispatch (the pipeline
plugin runs a pipeline's transform step that way, see ``handlers``);
``flext data dbt ...`` is a thin layer over it.

How a run goes:

1. the project and its profile are read (``project.load_project``), which
   names the adapter;
2. the adapter's tool environment is made ready (``adapters.dbt_environment``,
   installing it on first use);
3. the driver script ``_driver.py`` runs with that environment's Python
   (isolated: ``-I``, so nothing of flext's environment is importable there),
   calls dbt-core's ``dbtRunner`` and prints JSON lines; dbt's log lines
   arrive on its stderr and are handed to ``log``;
4. the lines become a ``DbtReport``.

``run_dbt`` records nothing: the CLI appends the invocation to the event
store with ``record_invocation``, and so can any caller that wants to.
"""

from __future__ import annotations

import collections
import contextlib
import json
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from flext_kernel.errors import INTERRUPTED, VALIDATION_ERROR
from flext_kernel.result import Failure, FlextResult
from flext_plugin_dbt.adapters import ADAPTERS, dbt_environment
from flext_plugin_dbt.errors import DBT_COMPILE_ERROR, DBT_CONFIG_ERROR, DBT_ERROR
from flext_plugin_dbt.project import DbtProject, load_project
from flext_plugin_dbt.report import COMMANDS, DbtCommand, DbtReport, NodeResult, one_line
from flext_sdk.redaction import child_environment

__all__ = ["CANCEL_GRACE", "DRIVER", "run_dbt"]

DRIVER = Path(__file__).with_name("_driver.py")
CANCEL_GRACE = 5.0
"""Seconds dbt has to end after it is interrupted for a ``cancel`` before it is killed."""
"""The script the tool environment's Python runs; it imports only dbt and the standard library."""

_FULL_REFRESH = frozenset({"run", "build", "seed"})
_CONFIG_ERRORS = frozenset({"EnvVarMissingError", "DbtProfileError", "DbtProjectError"})
_DBT_DEFAULTS = {"DBT_USE_COLORS": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
_NOT_INHERITED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    # dbt raises instead of logging when it cannot format an event under pytest: a test of flext
    # (which runs flext under pytest) must see the dbt a user sees.
    "PYTEST_CURRENT_TEST",
)
_DEBUG_NOISE = re.compile(
    r"^(?:\d\d:\d\d:\d\d(?:\.\d+)?\s+)?\[\w+Debug\]: Unable to parse logging event dictionary"
)
"""A debug event dbt failed to format, which it then logs at warning level (dbt-sqlite's
``AdapterEventDebug`` carrying an exception): debug output, not a warning."""
_PREVIEW = re.compile(r"^(?:\d\d:\d\d:\d\d(?:\.\d+)?\s+)?Previewing (?:node|inline node) '[^']*':$")


def run_dbt(
    project_dir: Path,
    command: DbtCommand,
    *,
    profiles_dir: Path | None = None,
    target: str | None = None,
    select: Sequence[str] = (),
    vars: Mapping[str, object] | None = None,  # dbt's own name for the option, though a builtin
    full_refresh: bool = False,
    limit: int | None = None,
    env: Mapping[str, str] | None = None,
    log: Callable[[str], None] | None = None,
    debug_log: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> FlextResult[DbtReport]:
    """Run ``dbt <command>`` on the project at ``project_dir``.

    Args:
        project_dir: The dbt project (the directory holding ``dbt_project.yml``).
        command: ``run``, ``build``, ``test``, ``docs`` (``dbt docs generate``), ``show``, ``seed``
            or ``deps``.
        profiles_dir: Where ``profiles.yml`` is; default the project directory if it holds one,
            else dbt's default (``$DBT_PROFILES_DIR``, ``~/.dbt``).
        target: The profile target; default the profile's own ``target``.
        select: dbt selectors (``--select``); ``show`` needs exactly the model to preview.
        vars: dbt ``--vars``, as a mapping (sent as JSON).
        full_refresh: ``--full-refresh`` (``run``, ``build`` and ``seed`` only).
        limit: For ``show``: how many rows to preview (dbt's default is 5).
        env: Extra environment variables for dbt, on top of this process's (secrets that
            ``profiles.yml`` reads with ``env_var``); they are never printed.
        log: Called with each of dbt's log lines as dbt writes them, except its debug noise.
        debug_log: Called with dbt's debug noise instead (a debug event dbt failed to format,
            which dbt prints as a warning); by default it is dropped (it stays in ``logs/dbt.log``).
        cancel: Set it (from another thread, or a signal handler) to stop dbt: it is interrupted as
            Ctrl-C does (SIGINT: dbt cancels its open queries), killed ``CANCEL_GRACE`` seconds later
            if it is still there, and the result is ``INTERRUPTED``.

    Returns:
        The report of a run that happened, with ``success`` False if a node failed (a SQL
        error, a failing test). A failed result if dbt could not run: ``VALIDATION_ERROR``
        (no project, no ``dbt_project.yml``, no profile, an unknown adapter, bad options),
        ``TOOL_INSTALL_FAILED``, ``DBT_CONFIG_ERROR``, ``DBT_COMPILE_ERROR``, ``DBT_ERROR``, or
        ``INTERRUPTED`` (``cancel`` was set)
        (see ``flext_plugin_dbt.errors``). A failure's message is one line without a "dbt ... failed"
        prefix (a caller adds its own context); ``error_data`` names the project when it is known.

    """
    environment = _environment(env)
    checked = _check_options(command, select, full_refresh, limit)
    if isinstance(checked, Failure):
        return checked
    loaded = load_project(project_dir, profiles_dir=profiles_dir, target=target, env=environment)
    if isinstance(loaded, Failure):
        return loaded
    project = loaded.value
    if project.adapter not in ADAPTERS:
        return FlextResult.fail(
            f"unknown dbt adapter {project.adapter!r} in target {project.target!r} of profile "
            f"{project.profile!r}: flext runs dbt with {', '.join(sorted(ADAPTERS))}; "
            "change the target's type in profiles.yml",
            error_code=VALIDATION_ERROR,
            error_data={"reason": "unknown_adapter", "adapter": project.adapter, **_context(project)},
        )
    tool = dbt_environment(project.adapter)
    if tool.is_failure:
        return FlextResult.fail(
            tool.error or "could not prepare dbt",
            error_code=tool.error_code,
            error_data={**tool.error_data, **_context(project)},
        )
    args = _arguments(project, command, target, select, vars, full_refresh, limit)
    lines = _drive(tool.value.python, args, project.directory, environment, _Log(log, debug_log), cancel)
    if cancel is not None and cancel.is_set():
        return FlextResult.fail(
            f"dbt {command} was stopped before it finished",
            error_code=INTERRUPTED,
            error_data=_context(project),
        )
    if lines.is_failure:
        return FlextResult.fail(
            lines.error or "dbt failed",
            error_code=lines.error_code,
            error_data={**lines.error_data, **_context(project)},
        )
    return _report(project, command, lines.value)


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    """What dbt runs with: this process's environment without Python's settings, plus ``extra``."""
    environment = {key: value for key, value in child_environment().items() if key not in _NOT_INHERITED}
    for key, value in _DBT_DEFAULTS.items():
        environment.setdefault(key, value)
    environment.update(extra or {})
    return environment


def _check_options(
    command: str, select: Sequence[str], full_refresh: bool, limit: int | None
) -> FlextResult[None]:
    def invalid(message: str) -> FlextResult[None]:
        return FlextResult.fail(message, error_code=VALIDATION_ERROR, error_data={"reason": "bad_option"})

    if command not in COMMANDS:
        return invalid(f"unknown dbt command {command!r}: flext runs {', '.join(COMMANDS)}")
    if isinstance(select, str):
        return invalid("select must be a sequence of selectors, not one string")
    if full_refresh and command not in _FULL_REFRESH:
        return invalid(f"--full-refresh applies to dbt run, build and seed, not {command}")
    if command == "show" and len(select) != 1:
        return invalid("dbt show previews one model: pass --select MODEL")
    if limit is not None and (command != "show" or limit < 1):
        return invalid("--limit applies to dbt show and must be 1 or more")
    return FlextResult.ok(None)


def _context(project: DbtProject) -> dict[str, str]:
    return {"project": project.name, "project_dir": str(project.directory), "adapter": project.adapter}


def _arguments(
    project: DbtProject,
    command: DbtCommand,
    target: str | None,
    select: Sequence[str],
    variables: Mapping[str, object] | None,
    full_refresh: bool,
    limit: int | None,
) -> list[str]:
    """The arguments of the dbt command line (without ``dbt``)."""
    args = ["docs", "generate"] if command == "docs" else [command]
    args += ["--project-dir", str(project.directory)]
    if project.profiles_dir is not None:
        args += ["--profiles-dir", str(project.profiles_dir)]
    if target is not None:
        args += ["--target", target]
    if select and command != "deps":
        args += ["--select", *select]
    if variables:
        args += ["--vars", json.dumps(dict(variables), default=str)]
    if full_refresh:
        args.append("--full-refresh")
    if command == "show":
        # A model's tests are selected along with it otherwise, and dbt would preview them too.
        args += ["--indirect-selection", "empty"]
        if limit is not None:
            args += ["--limit", str(limit)]
    return args


class _Log:
    """Where each of dbt's log lines goes: ``log``, or ``debug`` for dbt's debug noise.

    The noise is a debug event dbt failed to format (``_DEBUG_NOISE``), and
    the preview ``dbt show`` logs (``Previewing node 'x':`` and its ``| ... |``
    rows, values cut to 20 characters), which the caller gets whole in the report.
    """

    __slots__ = ("debug", "log", "previewing")

    def __init__(self, log: Callable[[str], None] | None, debug: Callable[[str], None] | None) -> None:
        self.log = log
        self.debug = debug
        self.previewing = False

    def is_noise(self, line: str) -> bool:
        """True for a line of dbt's that goes to ``debug``."""
        if _PREVIEW.match(line):
            self.previewing = True
            return True
        if self.previewing and (line.startswith("|") or not line.strip()):
            return True
        self.previewing = False
        return _DEBUG_NOISE.match(line) is not None

    def route(self, line: str) -> bool:
        """Send ``line`` where it goes; True if it went to ``log`` (it is not noise)."""
        noise = self.is_noise(line)
        send = self.debug if noise else self.log
        if send is not None:
            send(line)
        return not noise


def _drive(
    python: Path,
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    log: _Log,
    cancel: threading.Event | None = None,
) -> FlextResult[list[dict[str, Any]]]:
    """Run the driver; return its JSON lines, the summary last, or why there is no summary.

    ``cancel`` is watched by a thread of its own (this one reads dbt's output).
    """
    try:
        process = subprocess.Popen(
            [str(python), "-I", str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            cwd=cwd,
            env=env,
        )
    except OSError as exc:
        return FlextResult.fail(f"cannot start dbt's Python {python}: {exc}", error_code=DBT_ERROR)
    tail: collections.deque[str] = collections.deque(maxlen=40)
    lines: list[dict[str, Any]] = []
    with process:  # closes the pipes and waits, whatever happens
        reader = threading.Thread(target=_forward, args=(process.stderr, tail, log), daemon=True)
        reader.start()
        if cancel is not None:
            threading.Thread(target=_watch, args=(process, cancel), daemon=True).start()
        try:
            assert process.stdin is not None  # asked for as PIPE
            assert process.stdout is not None
            with contextlib.suppress(BrokenPipeError):  # a driver that died at once: its stderr says why
                process.stdin.write(json.dumps({"args": args}))
                process.stdin.close()
            for raw in process.stdout:
                parsed = _parsed(raw)
                if parsed is not None:
                    lines.append(parsed)
            process.wait()
        finally:
            if process.poll() is None:  # interrupted (Ctrl-C): dbt stops with us
                process.kill()
                process.wait()
            reader.join(timeout=10)
    if not lines or lines[-1].get("kind") != "summary":
        last = next((line for line in reversed(tail) if line.strip()), f"exit code {process.returncode}")
        return FlextResult.fail(
            f"dbt stopped without reporting a result: {last.strip()}",
            error_code=DBT_ERROR,
            error_data={"exit_code": process.returncode, "log_tail": list(tail)},
        )
    return FlextResult.ok(lines)


def _watch(process: subprocess.Popen[str], cancel: threading.Event) -> None:
    """Interrupt dbt once ``cancel`` is set (as Ctrl-C would); kill it if it outlives ``CANCEL_GRACE``."""
    while process.poll() is None:
        if cancel.wait(0.2):
            break
    else:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(CANCEL_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def _forward(stream: IO[str] | None, tail: collections.deque[str], log: _Log) -> None:
    """Hand each of dbt's log lines to ``log`` and keep the last ones for error messages."""
    if stream is None:
        return
    for raw in stream:
        line = raw.rstrip("\n")
        if log.route(line):
            tail.append(line)  # noise never makes the message of a failure


def _parsed(raw: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _report(project: DbtProject, command: DbtCommand, lines: list[dict[str, Any]]) -> FlextResult[DbtReport]:
    """The report the driver's lines describe, or the failure of a dbt that stopped early."""
    summary = lines[-1]
    error, error_type = summary.get("error"), str(summary.get("error_type") or "")
    if error:
        code = _error_code(error_type, str(error))
        return FlextResult.fail(
            one_line(str(error)),  # dbt's own words, which start with the kind of error
            error_code=code,
            error_data={**_context(project), "error_type": error_type, "command": command},
        )
    nodes = tuple(NodeResult.model_validate(line) for line in lines if line.get("kind") == "node")
    shown = next((line for line in lines if line.get("kind") == "show"), {})
    report = DbtReport(
        command=command,
        project=project.name,
        project_dir=project.directory,
        target=project.target,
        adapter=project.adapter,
        artifacts_dir=project.artifacts_dir,
        success=bool(summary.get("success")) and not any(node.failed for node in nodes),
        elapsed=float(summary.get("elapsed") or 0.0),
        dbt_version=str(summary.get("dbt_version") or "unknown"),
        nodes=nodes,
        columns=tuple(shown.get("columns", ())),
        rows=tuple(shown.get("rows", ())),
    )
    return FlextResult.ok(report)


def _error_code(error_type: str, message: str) -> str:
    if error_type in _CONFIG_ERRORS:
        return DBT_CONFIG_ERROR
    if "Compilation" in error_type or message.startswith(("Compilation Error", "Parsing Error")):
        return DBT_COMPILE_ERROR
    return DBT_ERROR
