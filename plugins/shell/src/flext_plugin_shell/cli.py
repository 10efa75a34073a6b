"""The shell plugin's commands: thin, each parses, calls one module and maps the result to an exit code."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from flext_kernel.errors import NOT_FOUND, STORAGE_ERROR, USAGE_ERROR, VALIDATION_ERROR
from flext_sdk.cli import EXIT_OK, emit, emit_error, emit_table, fail

__all__ = [
    "add_alias",
    "candidates",
    "history_command",
    "install_completion",
    "interactive",
    "list_aliases",
    "remove_alias",
    "show_completion",
]

HISTORY_COLUMNS = ("id", "time", "profile", "exit_code", "duration", "command")


def interactive() -> int:
    """Start the interactive shell: completion, history search (Ctrl-R), aliases; Ctrl-D leaves."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return emit_error("flext interactive needs a terminal on stdin and stdout", USAGE_ERROR)
    from flext_plugin_shell.context import open_catalog
    from flext_plugin_shell.shell import Shell, warm_options

    catalog, table, _ = open_catalog()
    if not catalog.fresh:
        warm_options(catalog, table)
    return Shell(catalog, table).loop()


def history_command(
    *, search: str | None = None, failed: bool = False, since: str | None = None, limit: int = 20
) -> int:
    """The command lines run here (shell and command line), newest last; secrets are never kept.

    Args:
        search: Only lines containing this text (any case).
        failed: Only lines that ended with a non-zero exit code.
        since: Only lines started within this long (30m, 1h, 7d).
        limit: At most this many lines (the newest).

    """
    import sqlite3

    from flext_plugin_shell import history
    from flext_plugin_shell.window import parse_duration

    if limit < 1:
        return emit_error(f"--limit must be at least 1, not {limit}", VALIDATION_ERROR)
    start = None
    if since is not None:
        window = parse_duration("--since", since)
        if window.is_failure:
            return fail(window)
        start = time.time() - window.value
    try:
        found = history.entries(search=search, failed=failed, since=start, limit=limit)
    except (sqlite3.Error, OSError) as error:
        return emit_error(f"cannot read the history {history.database()}: {error}", STORAGE_ERROR)
    rows = [
        {
            "id": entry.id,
            "time": datetime.fromtimestamp(entry.time, UTC).isoformat(timespec="seconds"),
            "profile": entry.profile,
            "command": entry.command,
            "exit_code": entry.exit_code,
            "duration": round(entry.duration, 3),
            "source": entry.source,
        }
        for entry in found
    ]
    if not rows:
        return emit([], human="no history yet" if not (search or failed or since) else "no matching history")
    return emit_table(rows, HISTORY_COLUMNS)


def add_alias(name: str, command: str, /, *, force: bool = False) -> int:
    """Add an alias: ``flext alias add ps "pipeline status"`` makes ``ps`` run ``pipeline status``.

    Args:
        name: The alias (a command-like name; not a command of flext).
        command: The command line it stands for, quoted.
        force: Replace an alias of that name.

    """
    import shlex

    from flext_plugin_shell import aliases
    from flext_plugin_shell.context import open_catalog

    if not aliases.ALIAS_PATTERN.match(name):
        return emit_error(
            f"{name!r} cannot be an alias: lower-case letters and digits, words joined by - or _",
            VALIDATION_ERROR,
        )
    catalog, _, _ = open_catalog()
    if name in catalog.children[()]:
        return emit_error(f"{name!r} is a flext command; an alias cannot hide it", VALIDATION_ERROR)
    try:
        words = shlex.split(command)
    except ValueError as error:
        return emit_error(f"the command line {command!r} does not parse: {error}", VALIDATION_ERROR)
    if not words:
        return emit_error("the command line of an alias cannot be empty", VALIDATION_ERROR)
    known = aliases.load()
    if name in known and not force:
        return emit_error(f"alias {name!r} exists ({known[name]!r}); --force replaces it", VALIDATION_ERROR)
    known[name] = shlex.join(words)
    try:
        aliases.save(known)
    except OSError as error:
        return emit_error(f"cannot write {aliases.path()}: {error}", STORAGE_ERROR)
    return emit({"name": name, "command": known[name]}, human=f"alias {name} = {known[name]}")


def list_aliases() -> int:
    """List the aliases."""
    from flext_plugin_shell import aliases

    rows = [{"name": name, "command": line} for name, line in sorted(aliases.load().items())]
    if not rows:
        return emit([], human='no aliases; add one with flext alias add NAME "COMMAND"')
    return emit_table(rows, ("name", "command"))


def remove_alias(name: str, /) -> int:
    """Remove an alias.

    Args:
        name: The alias.

    """
    from flext_plugin_shell import aliases

    known = aliases.load()
    if name not in known:
        return emit_error(f"no alias {name!r}", NOT_FOUND, hint="flext alias list shows them")
    del known[name]
    try:
        aliases.save(known)
    except OSError as error:
        return emit_error(f"cannot write {aliases.path()}: {error}", STORAGE_ERROR)
    return emit({"name": name}, human=f"removed alias {name}")


ShellName = Literal["bash", "zsh", "fish"]


def show_completion(shell: ShellName, /) -> int:
    """Print the completion script for a shell (bash, zsh, fish).

    Args:
        shell: The shell.

    """
    from flext_plugin_shell.scripts import script

    sys.stdout.write(script(shell))
    return EXIT_OK


def install_completion(shell: ShellName, /) -> int:
    """Install the completion script for a shell where it loads it (and read every command's options now).

    Args:
        shell: The shell.

    """
    from flext_plugin_shell.context import open_catalog
    from flext_plugin_shell.scripts import install_path, script

    target = install_path(shell, Path.home())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script(shell), encoding="utf-8")
    except OSError as error:
        return emit_error(f"cannot write {target}: {error}", STORAGE_ERROR)
    open_catalog(with_options=True)
    hint = {
        "bash": "new bash shells load it (bash-completion)",
        "zsh": "add ~/.zfunc to $fpath before compinit",
        "fish": "new fish shells load it",
    }[shell]
    return emit({"shell": shell, "path": str(target)}, human=f"wrote {target}; {hint}")


def candidates() -> int:
    """Print the completions of $FLEXT_COMP_LINE, one a line (what the completion scripts call)."""
    from flext_plugin_shell import aliases
    from flext_plugin_shell.candidates import candidates as complete
    from flext_plugin_shell.context import open_catalog
    from flext_plugin_shell.shell_words import split_line

    words, current = split_line(os.environ.get("FLEXT_COMP_LINE", ""))
    words = aliases.expand(words[1:]) if words else []  # the first word is flext itself
    catalog, table, _ = open_catalog(with_options=True)
    found = [c.text for c in complete(catalog, table, words, current) if c.text.startswith(current)]
    if not words and not current.startswith("-"):
        found += [name for name in aliases.load() if name.startswith(current)]
    sys.stdout.write("".join(f"{text}\n" for text in dict.fromkeys(found)))
    return EXIT_OK
