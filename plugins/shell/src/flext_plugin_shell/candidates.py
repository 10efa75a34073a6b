"""What may come next on a command line: one function behind the shell's completer and ``flext completion``.

It reads the catalog (command table + cached options) and cheap name lists; it never imports a plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flext_plugin_shell.catalog import GLOBAL_FLAGS, GLOBAL_VALUES, Catalog, Option
from flext_plugin_shell.names import names_of, paths

__all__ = ["Candidate", "Position", "candidates", "locate"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One completion."""

    text: str
    """What is inserted."""
    meta: str = ""
    """A short description (the command's help, the option's help)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where the words typed so far lead."""

    path: tuple[str, ...]
    """The command or group they name."""
    arguments: list[str]
    """The words after the command path (its options and arguments)."""
    pending: Option | str | None
    """The option whose value comes next (a global one by name), or None."""


def _option_named(options: list[Option], word: str) -> Option | None:
    return next((option for option in options if word in option.names), None)


def locate(catalog: Catalog, words: list[str]) -> Position:
    """Walk ``words`` (complete words before the cursor) through the command tree."""
    path: tuple[str, ...] = ()
    arguments: list[str] = []
    pending: Option | str | None = None
    for word in words:
        if pending is not None:
            pending = None
            if not arguments:
                continue  # a global option's value before the command
            arguments.append(word)
            continue
        if word in GLOBAL_VALUES:
            pending = word
            continue
        if path in catalog.children and not arguments and word in catalog.children[path]:
            path = (*path, word)
            continue
        arguments.append(word)
        option = _option_named(catalog.options.get(path, []), word)
        if option is not None and option.takes_value and not option.positional:
            pending = option
    return Position(path, arguments, pending)


def candidates(catalog: Catalog, table: dict[str, Any], words: list[str], current: str) -> list[Candidate]:
    """Completions of ``current`` after ``words`` (what the user typed, split; ``current`` is being typed)."""
    where = locate(catalog, words)
    if isinstance(where.pending, str):
        return [Candidate(value) for value in GLOBAL_VALUES[where.pending]] or _paths(current)
    if where.pending is not None:
        return _values(where.pending, table, current)
    if "=" in current and current.startswith("--"):
        name, _, value = current.partition("=")
        option = _option_named(catalog.options.get(where.path, []), name)
        if option is not None:
            return [Candidate(f"{name}={found.text}", found.meta) for found in _values(option, table, value)]
    if current.startswith("-"):
        return _options(catalog, where.path)
    if where.path in catalog.children and not where.arguments:
        return [
            Candidate(name, catalog.help.get((*where.path, name), ""))
            for name in catalog.children[where.path]
        ]
    return _positional(catalog, table, where, current)


def _options(catalog: Catalog, path: tuple[str, ...]) -> list[Candidate]:
    found = [
        Candidate(name, option.help)
        for option in catalog.options.get(path, [])
        for name in option.names
        if name.startswith("-")
    ]
    found += [Candidate(name, "global option") for name in (*GLOBAL_VALUES, *GLOBAL_FLAGS)]
    return found


def _positional(catalog: Catalog, table: dict[str, Any], where: Position, current: str) -> list[Candidate]:
    options = catalog.options.get(where.path, [])
    taken = _count_positionals(options, where.arguments)
    positionals = sorted((option for option in options if option.positional), key=lambda option: option.index)
    for option in positionals:
        if option.index == taken or (option.variadic and taken >= option.index):
            return _values(option, table, current)
    return []


def _count_positionals(options: list[Option], arguments: list[str]) -> int:
    count, skip = 0, False
    for word in arguments:
        if skip:
            skip = False
        elif word.startswith("-"):
            option = _option_named(options, word)
            skip = option is not None and option.takes_value and "=" not in word
        else:
            count += 1
    return count


def _values(option: Option, table: dict[str, Any], current: str) -> list[Candidate]:
    if option.choices:
        return [Candidate(choice, option.help) for choice in option.choices]
    if option.kind == "path":
        return _paths(current)
    return [Candidate(name, option.kind) for name in names_of(option.kind, table)]


def _paths(current: str) -> list[Candidate]:
    return [Candidate(path, "directory" if path.endswith("/") else "file") for path in paths(current)]
