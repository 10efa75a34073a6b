"""``flext interactive``: the prompt_toolkit session (completer, toolbar, key bindings, history) and its loop.

Each line is split with shlex and run by ``runner.run_tokens`` through the same entry point as a
command line, which expands an alias in front (the kernel's argv rewriters) exactly once, as it does
outside the shell; only completion and the toolbar expand aliases here, to show what is typed.
Completion and the toolbar read the catalog, never a plugin.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, FuzzyCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import has_focus
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import History
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.styles import Style

from flext_plugin_shell import aliases, history
from flext_plugin_shell.candidates import candidates, locate
from flext_plugin_shell.runner import run_tokens
from flext_plugin_shell.shell_words import split_line

if TYPE_CHECKING:
    from flext_plugin_shell.catalog import Catalog

__all__ = ["Shell", "is_protected", "warm_options"]

PROTECTED_NAMES = frozenset({"prod", "production"})
_EXIT_WORDS = frozenset({"exit", "quit"})


def is_protected(profile: str) -> bool:
    """Whether ``profile`` is production: so named, or ``FLEXT_PROFILE_PROTECTED=1`` (no profiles yet)."""
    return profile.lower() in PROTECTED_NAMES or os.environ.get("FLEXT_PROFILE_PROTECTED") == "1"


class ShellCompleter(Completer):
    """Commands, options and values from ``candidates``; an alias in front is expanded first."""

    def __init__(self, shell: Shell) -> None:
        self._shell = shell

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        words, current = split_line(document.text_before_cursor)
        words = self._shell.expand(words)
        if not words and not current.startswith("-"):
            for name, line in sorted(self._shell.aliases.items()):
                if name.startswith(current[:1]):
                    yield Completion(name, -len(current), display_meta=f"alias: {line}")
        for found in candidates(self._shell.catalog, self._shell.table, words, current):
            yield Completion(found.text, -len(current), display_meta=found.meta)


class SqliteHistory(History):
    """The shared history's command lines, for Up/Down and Ctrl-R; lines are stored by ``runner``."""

    def load_history_strings(self) -> Iterable[str]:
        try:
            return [entry.command for entry in reversed(history.entries(limit=1000))]
        except (sqlite3.Error, OSError):
            return []

    def store_string(self, string: str) -> None:
        """Nothing: ``runner`` records each run with its exit code, secrets redacted."""


class Shell:
    """One interactive session over the assembled CLI."""

    def __init__(self, catalog: Catalog, table: dict[str, Any]) -> None:
        self.catalog, self.table = catalog, table
        self.aliases = aliases.load()
        self.profile = history.active_profile()

    def expand(self, words: list[str]) -> list[str]:
        """``words`` with a leading alias expanded."""
        return aliases.expand(words, self.aliases)

    def prompt(self) -> FormattedText:
        """``[profile] flext> ``, the profile red when it is production."""
        style = "class:protected" if is_protected(self.profile) else "class:profile"
        return FormattedText([(style, f"[{self.profile}]"), ("", " flext> ")])

    def toolbar(self, session: PromptSession[str]) -> FormattedText:
        """The help of what is being typed: the option's, else the command's or group's."""
        words, current = split_line(session.default_buffer.document.text_before_cursor)
        words = self.expand(words)
        where = locate(self.catalog, [*words, current] if current and not current.startswith("-") else words)
        pending = where.pending
        if pending is not None and not isinstance(pending, str):
            return FormattedText([("", f"{pending.names[0]}: {pending.help}")])
        if not where.path:
            return FormattedText(
                [("", "Tab completes; Ctrl-R searches history; !N re-runs entry N; Ctrl-D exits")]
            )
        text = self.catalog.help.get(where.path, "")
        return FormattedText([("class:command", f"flext {' '.join(where.path)}"), ("", f": {text}")])

    def session(self) -> PromptSession[str]:
        """The prompt_toolkit session: fuzzy completion, toolbar, backslash continuation."""
        bindings = KeyBindings()

        @bindings.add("enter", filter=has_focus(DEFAULT_BUFFER))
        def _enter(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            if buffer.document.text_before_cursor.endswith("\\") and buffer.document.is_cursor_at_the_end:
                buffer.insert_text("\n")
            else:
                buffer.validate_and_handle()

        session: PromptSession[str] = PromptSession(
            history=SqliteHistory(),
            completer=FuzzyCompleter(ShellCompleter(self)),
            complete_while_typing=False,
            key_bindings=bindings,
            multiline=True,
            prompt_continuation="... ",
            style=Style.from_dict(
                {"profile": "ansigreen bold", "protected": "ansired bold", "command": "bold"}
            ),
        )
        session.bottom_toolbar = lambda: self.toolbar(session)
        return session

    def loop(self) -> int:
        """Read and run lines until Ctrl-D or ``exit``; Ctrl-C clears the line."""
        session = self.session()
        while True:
            try:
                text = session.prompt(self.prompt)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return 0
            if self.handle(text) is None:
                return 0

    def handle(self, text: str) -> int | None:
        """Run one typed line; its exit code, or None when it asks to leave."""
        line = text.replace("\\\n", " ").strip()
        if not line:
            return 0
        if line in _EXIT_WORDS:
            return None
        if line.startswith("!"):
            return self._rerun(line[1:])
        try:
            words = shlex.split(line)
        except ValueError as error:
            print(f"error: {error} (USAGE_ERROR)")
            return 2
        if words and words[0] == "flext":
            words = words[1:]
        if not words:  # `flext` alone: main([]) on a terminal would open a second shell
            return 0
        if words[:1] == ["interactive"]:
            print("error: already in the interactive shell (USAGE_ERROR)")
            return 2
        # No alias expansion here: main() runs the kernel's argv rewriters (aliases.expand) as it
        # does for a command line, so a line means the same in the shell and outside it.
        code = run_tokens(words)
        self.aliases = aliases.load()  # 'alias add' in this shell takes effect at once
        return code

    def _rerun(self, number: str) -> int:
        try:
            found = history.entry(int(number)) if number.isdigit() else None
        except sqlite3.Error:
            found = None
        if found is None:
            print(f"error: no history entry {number!r}; 'history' lists them (NOT_FOUND)")
            return 2
        if "***" in found.command:
            print(
                f"error: entry {number} had a secret, which the history never keeps;"
                " type it again (USAGE_ERROR)"
            )
            return 2
        print(f"flext {found.command}")
        return self.handle(found.command) or 0


def warm_options(catalog: Catalog, table: dict[str, Any]) -> threading.Thread:
    """Read every command's options into ``catalog`` in the background (from an assembly of its own)."""
    from flext_kernel.cli.main import build
    from flext_kernel.cli.settings import current
    from flext_plugin_shell.catalog import build_options

    def work() -> None:
        try:
            catalog.options = build_options(build(current()), table.get("fingerprint", ""))
            catalog.fresh = True
        except Exception:  # a background warm-up: commands still complete, options later
            pass

    thread = threading.Thread(target=work, name="flext-shell-options", daemon=True)
    thread.start()
    return thread
