"""``flext`` entry point: global options, the assembled app, and the error contract (docs/cli.md).

No ``from __future__ import annotations``: cyclopts reads the launcher's annotations, and it is
imported inside the functions that use it, after ``run`` has paused garbage collection.
"""

import contextlib
import gc
import importlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from flext_kernel.cli import output
from flext_kernel.cli.session import keep_files_private, selection
from flext_kernel.cli.settings import OutputFormat, Settings, current, replace_current
from flext_kernel.correlation import correlation_from_environment, correlation_scope
from flext_kernel.errors import (
    INTERNAL_ERROR,
    INTERRUPTED,
    PLUGIN_DISABLED,
    PLUGIN_LOAD_FAILED,
    USAGE_ERROR,
)

if TYPE_CHECKING:
    from cyclopts import App
    from cyclopts.exceptions import CycloptsError, MissingArgumentError

    from flext_kernel.cli.app import Assembly

__all__ = ["main"]


def _prescan(tokens: list[str]) -> Settings:
    """Read the options needed before the app exists (where plugins live, how to report errors)."""
    settings = Settings()
    for index, token in enumerate(tokens):
        if token == "--debug":
            settings.debug = True
        elif token == "--json":
            settings.output = "json"
        elif token.startswith("--plugins-dir="):
            settings.plugin_dirs.append(Path(token.partition("=")[2]))
        elif token == "--plugins-dir" and index + 1 < len(tokens):
            settings.plugin_dirs.append(Path(tokens[index + 1]))
        elif token == "--output" and index + 1 < len(tokens) and tokens[index + 1] in ("json", "yaml"):
            settings.output = tokens[index + 1]  # type: ignore[assignment]  # checked just above
        elif token in ("--output=json", "--output=yaml"):
            settings.output = token.partition("=")[2]  # type: ignore[assignment]  # checked just above
    return settings


GLOBAL_OPTIONS = ("--output", "--json", "--debug", "--quiet", "--plugins-dir", "--help", "--version")
"""The options every command line accepts (``flext --help``), wherever they are."""
_VALUE_OPTIONS = frozenset({"--output", "--plugins-dir"})
"""Global options that take a value (the next token, or ``--option=value``)."""
_FLAG_OPTIONS = frozenset(GLOBAL_OPTIONS) - _VALUE_OPTIONS | {"-h"}
"""Global options that take none."""


def _unknown_global_option(tokens: list[str]) -> str | None:
    """The first option before the command that is not a global one (cyclopts takes it for a command)."""
    skip = False
    for token in tokens:
        if skip:
            skip = False
        elif not token.startswith("-"):
            return None  # the command starts here; its options are its own
        elif token in _VALUE_OPTIONS:
            skip = True
        elif token not in _FLAG_OPTIONS and token.partition("=")[0] not in _VALUE_OPTIONS:
            return token.partition("=")[0]
    return None


def _command_words(tokens: list[str]) -> list[str]:
    """The words that name a command: tokens up to the first option, global options skipped."""
    words: list[str] = []
    skip = False
    for token in tokens:
        if skip:
            skip = False
        elif token in _VALUE_OPTIONS:
            skip = True
        elif token.startswith("-"):
            if words:
                break  # the command's own options start here
        else:
            words.append(token)
    return words


def _unknown(assembly: "Assembly", tokens: list[str]) -> int | None:
    words = _command_words(tokens)
    found = assembly.unknown_command(words)
    if found is None:
        return None
    hidden = _hidden_command(assembly, words)
    if hidden is not None:
        return hidden
    import difflib

    word, names = found
    close = difflib.get_close_matches(word, names, n=1)
    hint = f"{'did you mean ' + repr(close[0]) + '? ' if close else ''}available here: {', '.join(names)}"
    return output.emit_error(f"unknown command {word!r}", USAGE_ERROR, hint=f"{hint}; see flext --help")


def _hidden_command(assembly: "Assembly", words: list[str]) -> int | None:
    """A command (or group) of a disabled or failed plugin: say which plugin and what to do; else None."""
    for n in range(len(words), 0, -1):
        command = " ".join(words[:n])
        owner = assembly.unavailable.get(command) or next(
            (who for path, who in sorted(assembly.unavailable.items()) if path.startswith(command + " ")),
            None,
        )
        if owner is not None:
            return _report_hidden(assembly, command, owner)
    return None


def _report_hidden(assembly: "Assembly", command: str, owner: str) -> int:
    from flext_kernel.plugins.state import enable_hint

    disabled = assembly.disabled_by.get(owner)
    whose = f"'flext {command}' belongs to plugin {owner!r}, which"
    if disabled is not None:
        via = "" if disabled == owner else f" requires plugin {disabled!r}, which"
        return output.emit_error(f"{whose}{via} is disabled", PLUGIN_DISABLED, hint=enable_hint(disabled))
    why = assembly.hidden.get(owner, "")
    failed = why.startswith("failed: ")
    why = f"failed to load: {why.removeprefix('failed: ')}" if failed else f"is not available: {why}"
    return output.emit_error(
        f"{whose} {why}",
        PLUGIN_LOAD_FAILED,
        hint=f"run 'flext plugin info {owner}' or 'flext doctor'",
    )


def build(settings: Settings) -> "Assembly":
    """Build the app for this run (command table from the cache, minus disabled plugins)."""
    from flext_kernel.cli.app import assemble
    from flext_kernel.cli.command_cache import load_table
    from flext_kernel.paths import user_plugins_dir
    from flext_kernel.plugins.discovery import local_candidates

    directories = [*settings.plugin_dirs, user_plugins_dir()]
    local_candidates(directories)  # puts local plugin dirs on sys.path for their lazy targets
    table = load_table(directories)
    only, disabled = selection()
    return assemble(table, disabled=disabled, only=only)


GLOBAL_OPTIONS_NOTE = (
    "Global options (--output, --json, --debug, --quiet, --plugins-dir) go before or after the command;"
    " see flext --help."
)
"""The last line of a command's help, in place of the global options' own panel."""


def _with_global_options(assembly: "Assembly", command: "App | None") -> "App":
    """The meta app that reads the global options, wherever they are, then runs ``assembly.app``.

    Their help panel shows at the root and in groups; a command's help ends with ``GLOBAL_OPTIONS_NOTE``.
    """
    from cyclopts import Group, Parameter

    app = assembly.app
    in_command_help = command is not None and command.default_command is not None
    panel = Group("Global options", sort_key=100, show=not in_command_help)
    if in_command_help:
        app.help_epilogue = GLOBAL_OPTIONS_NOTE

    @app.meta.default
    def launcher(
        *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True)],
        output: Annotated[
            OutputFormat, Parameter(help="Result format: table (people) or json/yaml.", group=panel)
        ] = "table",
        json: Annotated[
            bool, Parameter(help="Shorthand for --output json.", negative="", show_default=False, group=panel)
        ] = False,
        debug: Annotated[
            bool, Parameter(help="Show tracebacks of errors.", negative="", show_default=False, group=panel)
        ] = False,
        quiet: Annotated[
            bool,
            Parameter(help="Print only results and errors.", negative="", show_default=False, group=panel),
        ] = False,
        plugins_dir: Annotated[
            list[Path] | None,
            Parameter(help="Extra directory of local plugins (repeatable).", negative="", group=panel),
        ] = None,
    ) -> object:
        settings = current()
        settings.output, settings.debug, settings.quiet = output, debug, quiet
        if json:
            settings.output = "json"
        return app(tokens, exit_on_error=False, print_error=False)

    app.meta.suppress_keyboard_interrupt = False
    return app.meta


def main(argv: list[str] | None = None) -> int:
    """Run ``flext`` with ``argv`` (default: the process arguments); return the exit code.

    A closed output pipe (``flext events export | head``) is a quiet end: ``output.EXIT_CLOSED_PIPE``.
    The run is one action, under one correlation id (docs/kernel/correlation.md).
    """
    try:
        with correlation_scope(correlation_from_environment()) as action:
            _action[:] = _action or [action]  # the first: the shell runs main() again for each line
            return _main(argv)
    except BrokenPipeError:
        if _stdout_closed():
            return output.EXIT_CLOSED_PIPE
        raise  # --debug: a pipe of the command's own broke; the traceback shows where
    except SystemExit as exc:
        # rich (help screens, tables) handles a closed pipe itself: it points stdout at
        # /dev/null and raises SystemExit(1) from inside its ``except BrokenPipeError``.
        if isinstance(exc.__context__, BrokenPipeError):
            return output.EXIT_CLOSED_PIPE
        raise


def _main(argv: list[str] | None) -> int:
    tokens = list(sys.argv[1:] if argv is None else argv)
    settings = _prescan(tokens)
    replace_current(settings)
    from cyclopts.exceptions import CycloptsError

    assembly: Assembly | None = None
    try:
        assembly = build(settings)
        _observers[:] = assembly.hooks.get("run_observers", [])
        rewritten = _rewritten(assembly, tokens)
        if rewritten != tokens:
            tokens, settings = rewritten, _prescan(rewritten)
            replace_current(settings)
        return _run(assembly, settings, tokens)
    except CycloptsError as exc:
        return _usage_error(assembly, tokens, exc)
    except KeyboardInterrupt:
        return output.emit_error("interrupted", INTERRUPTED)
    except BrokenPipeError:
        if _stdout_closed():
            raise  # whoever read the output closed it: a quiet end (see main), with or without --debug
        if settings.debug:
            raise
        return _internal_error(*sys.exc_info()[:2])  # a pipe of the command's own broke: a failure
    except Exception as exc:
        if settings.debug:
            raise
        if isinstance(exc, ImportError) and assembly is not None:
            return _import_failed(assembly, tokens, exc)
        return _internal_error(type(exc), exc)


_observers: list[str] = []
"""This run's run observers (``module:function`` strings), called by ``run`` when the command has ended."""
_action: list[str] = []
"""This run's correlation id, in force again while the observers are told."""


def _call(target: str, *arguments: object) -> object:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*arguments)


def _first_word_index(tokens: list[str]) -> int:
    """Where the command's first word is: past the global options and their values."""
    index = 0
    while index < len(tokens) and tokens[index].startswith("-"):
        index += 2 if tokens[index] in _VALUE_OPTIONS else 1
    return index


def _rewritten(assembly: "Assembly", tokens: list[str]) -> list[str]:
    """The words to run: ``flext`` alone on a terminal opens the shell, if one is installed.

    A first word that is not a command goes through the plugins' argv rewriters (aliases), global
    options before it kept; a rewriter that fails is skipped.
    """
    if not tokens:
        terminal = sys.stdin.isatty() and sys.stdout.isatty()
        return ["interactive"] if terminal and "interactive" in assembly.owners else tokens
    words = _command_words(tokens)
    if not words or words[0] in assembly.children[()]:
        return tokens
    start = _first_word_index(tokens)
    rest = tokens[start:]
    for target in assembly.hooks.get("argv_rewriters", []):
        try:
            rest = [str(token) for token in _call(target, list(rest))]  # type: ignore[attr-defined]
        except Exception as exc:
            output.note(f"warning: argv rewriter {target} failed: {exc}")
    return [*tokens[:start], *rest]


def _internal_error(kind: type[BaseException] | None, exc: BaseException | None) -> int:
    name = kind.__name__ if kind is not None else "Exception"
    hint = "run again with --debug for the traceback"
    return output.emit_error(f"{name}: {exc}", INTERNAL_ERROR, hint=hint)


def _stdout_closed() -> bool:
    """Whether the reader of standard output has gone (not just any pipe the command used)."""
    import io
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except io.UnsupportedOperation:  # an in-memory stdout (an in-process caller): it cannot break
        return False
    except (OSError, ValueError):  # a closed or unusable stdout: nobody is reading it
        return True


def _run(assembly: "Assembly", settings: Settings, tokens: list[str]) -> int:
    for warning in assembly.conflicts:
        output.note(f"warning: {warning}")
    broken = {name: why for name, why in assembly.hidden.items() if why != "disabled"}
    if settings.strict_plugins and broken:
        failed = ", ".join(f"{name} ({why})" for name, why in broken.items())
        return output.emit_error(f"plugins failed to load: {failed}", PLUGIN_LOAD_FAILED)
    option = _unknown_global_option(tokens)
    if option is not None:
        close = _close_option(option, list(GLOBAL_OPTIONS))
        return output.emit_error(
            f"unknown option {option}",
            USAGE_ERROR,
            hint=f"{'did you mean ' + close + '? ' if close else ''}the options before the command"
            " are the global ones; see flext --help",
        )
    unknown = _unknown(assembly, tokens)
    if unknown is not None:
        return unknown
    command = _resolve_command(assembly.app, _command_words(tokens))
    _resume_collection()
    app = assembly.app if _plain_command(command, tokens) else _with_global_options(assembly, command)
    result = app(tokens, exit_on_error=False, print_error=False)
    return result if isinstance(result, int) else output.EXIT_OK


def _resolve_command(app: "App", words: list[str]) -> "App | None":
    """Import the command ``words`` name now, while garbage collection is still paused (see ``run``).

    Returns the deepest command or group reached; None for the root, or when an import fails
    (cyclopts reports that as it always does).
    """
    from flext_kernel.cli.app import apply_flag_policy

    node = app
    for word in words:
        try:
            node = node[word]
        except KeyError:
            break
        except Exception:  # the real call below raises it again, and it is reported there
            return None
    if node is app:
        return None
    apply_flag_policy(node)
    return node


def _plain_command(command: "App | None", tokens: list[str]) -> bool:
    """Whether the app runs ``tokens`` as well without the global-options layer (a second parse).

    True for a command given no option at all; a group's help lists the global options, so it needs the layer.
    """
    if command is None or command.default_command is None:
        return False
    return not any(token.startswith("-") for token in tokens)


_collection_paused = False
"""True while ``run`` holds garbage collection off, until the command starts."""


def _resume_collection() -> None:
    """Collect garbage again, after freezing what start-up built (see ``run``)."""
    global _collection_paused
    if _collection_paused:
        _collection_paused = False
        gc.freeze()
        gc.enable()


def _usage_error(assembly: "Assembly | None", tokens: list[str], exc: "CycloptsError") -> int:
    """A command line cyclopts rejected (unknown option, bad value): one line, and where help is."""
    from cyclopts.exceptions import MissingArgumentError, UnknownOptionError, UnusedCliTokensError

    words = _command_words(tokens)
    command = ""
    if assembly is not None:
        for n in range(len(words), 0, -1):
            if " ".join(words[:n]) in assembly.owners or tuple(words[:n]) in assembly.children:
                command = " ".join(words[:n]) + " "
                break
    see = f"run 'flext {command}--help' for the options"  # and the arguments
    if isinstance(exc, UnknownOptionError):
        option = (exc.token.keyword or exc.token.value).partition("=")[0]
        known = [name for argument in exc.argument_collection if argument.parse for name in argument.names]
        close = _close_option(option, [*known, *GLOBAL_OPTIONS])
        hint = f"did you mean {close}? {see}" if close else see
        return output.emit_error(f"unknown option {option}", USAGE_ERROR, hint=hint)
    if isinstance(exc, MissingArgumentError) and exc.argument is not None:
        return output.emit_error(_missing(exc), USAGE_ERROR, hint=see)
    if isinstance(exc, UnusedCliTokensError) and exc.unused_tokens:
        extra = ", ".join(repr(token) for token in exc.unused_tokens)
        return output.emit_error(
            f"unexpected argument{'s' if len(exc.unused_tokens) > 1 else ''} {extra}", USAGE_ERROR, hint=see
        )
    message = " ".join(str(exc).split()).rstrip(".")
    return output.emit_error(message, USAGE_ERROR, hint=see)


def _close_option(option: str, names: list[str]) -> str | None:
    """The one option ``option`` was probably meant to be, or None (the rule: docs/cli.md).

    Names are compared without their dashes, which every long option shares.
    """
    import difflib

    bare = {name.lstrip("-"): name for name in names if name.startswith("--")}
    typed = option.lstrip("-")
    close = difflib.get_close_matches(typed, list(bare), n=1, cutoff=0.7)
    if close:
        return bare[close[0]]
    starting = [name for name in bare if typed and name.startswith(typed)]
    return bare[starting[0]] if len(starting) == 1 else None


def _missing(exc: "MissingArgumentError") -> str:
    """``missing argument NAME`` for a positional, ``option --x requires a value`` for an option."""
    argument = exc.argument
    assert argument is not None  # checked by the caller
    typed = exc.keyword or next((t.keyword for t in argument.tokens if t.keyword), None)
    if typed is not None:
        return f"option {typed} requires a value"
    long = next((name for name in argument.names if name.startswith("--")), argument.name)
    if argument.index is not None:
        return f"missing argument {long.lstrip('-').upper()}"
    return f"missing option {long}"


def _import_failed(assembly: "Assembly", tokens: list[str], exc: ImportError) -> int:
    """A lazy command target (or something it imports) is missing or broken: name the plugin."""
    words = _command_words(tokens)
    prefixes = (" ".join(words[:n]) for n in range(len(words), 0, -1))
    owner = next((assembly.owners[p] for p in prefixes if p in assembly.owners), "unknown")
    return output.emit_error(
        f"command 'flext {' '.join(words)}' of plugin {owner!r} failed to import: {exc.__cause__ or exc}",
        PLUGIN_LOAD_FAILED,
        hint="run 'flext doctor' to check the plugin, or 'flext plugin disable' it",
    )


def run(*, observe: bool = True) -> None:
    """Console-script entry point; ``observe=False`` for FLEXT's own re-runs (``python -m``).

    Garbage collection is off during start-up and the exit's last collections
    are skipped (why: docs/cli.md, "How it stays fast").
    """
    global _collection_paused
    _collection_paused = gc.isenabled()
    gc.disable()
    keep_files_private()
    started = time.monotonic()
    code = main()
    asked_for_help = {"--help", "-h", "--version"} & set(sys.argv[1:])
    with correlation_scope(_action[0] if _action else None):
        for target in _observers if observe and not asked_for_help else ():  # history, audit
            # An observer's failure, or a Ctrl-C while it writes, is its own: the command's code stands.
            with contextlib.suppress(Exception, KeyboardInterrupt):
                _call(target, sys.argv[1:], code, time.monotonic() - started)
    try:
        sys.stdout.flush()  # what is still buffered may meet a closed pipe too
    except BrokenPipeError:
        code = output.EXIT_CLOSED_PIPE
    if code == output.EXIT_CLOSED_PIPE:
        # What is left goes to /dev/null, as the Python docs recommend: the flush at exit would fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
    gc.freeze()  # the exit's collections would walk every imported object and find no garbage
    sys.exit(code)
