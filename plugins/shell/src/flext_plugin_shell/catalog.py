"""What can be typed: commands and groups (from the kernel's command table) and their options.

The command table names every command and its help without importing a plugin. Options live in
the commands' signatures, so they are read once by importing every command (``build_options``),
and kept in ``<cache dir>/shell-options.json``, keyed by the table's fingerprint and the
modification times of the command modules: a shell or a completion never imports a plugin on the
way to a candidate unless that file is missing or stale.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, get_args

from flext_kernel.paths import cache_dir

if TYPE_CHECKING:
    from flext_kernel.cli.app import Assembly

__all__ = ["Catalog", "Option", "build_options", "load_catalog", "options_path", "value_kind"]

OPTIONS_FORMAT: Final = 1
GLOBAL_FLAGS: Final = ("--json", "--debug", "--quiet", "--help")
GLOBAL_VALUES: Final = {"--output": ("table", "json", "yaml"), "--plugins-dir": ()}


@dataclass(frozen=True, slots=True)
class Option:
    """One option or positional argument of a command."""

    names: tuple[str, ...]
    """``("--store",)``; a positional's upper-case name (``("NAME",)``)."""
    help: str = ""
    """Its help line."""
    takes_value: bool = True
    """False for a flag."""
    choices: tuple[str, ...] = ()
    """Fixed values (a ``Literal``)."""
    kind: str = ""
    """What its values name: pipeline, plugin, profile, service, stream, path, or '' (dynamic candidates)."""
    positional: bool = False
    """A positional argument (``index`` says which) rather than an option."""
    index: int = 0
    """Position among the positionals; a variadic one takes every later word too."""
    variadic: bool = False


@dataclass
class Catalog:
    """The command tree with help, and the options read so far."""

    children: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    """Group path to the names under it."""
    help: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Help of each command and group."""
    options: dict[tuple[str, ...], list[Option]] = field(default_factory=dict)
    """Command path to its options (empty until ``build_options`` ran once)."""
    fresh: bool = False
    """Whether ``options`` matches the installed plugins."""

    def is_command(self, path: tuple[str, ...]) -> bool:
        """Whether ``path`` names a command (not a group)."""
        return path in self.help and path not in self.children


def options_path() -> Path:
    """``<cache dir>/shell-options.json``."""
    return cache_dir() / "shell-options.json"


def _tree(assembly: Assembly, table: dict[str, Any]) -> Catalog:
    from flext_kernel.cli.builtin import KERNEL_COMMANDS

    catalog = Catalog(children={path: sorted(names) for path, names in assembly.children.items()})
    catalog.help.update(assembly.group_help)
    for path, _, text in KERNEL_COMMANDS:
        catalog.help.setdefault(path, text)
    for plugin in table.get("plugins", []):
        for command in plugin.get("commands", []):
            catalog.help.setdefault(tuple(command["path"]), command.get("help", ""))
    for path in catalog.children:
        if path:
            catalog.help.setdefault(path, f"{path[-1]} commands.")
    return catalog


def load_catalog(assembly: Assembly, table: dict[str, Any]) -> Catalog:
    """The tree from the table, with the cached options when they are fresh."""
    catalog = _tree(assembly, table)
    cached = _read_options(table.get("fingerprint", ""))
    if cached is not None:
        catalog.options, catalog.fresh = cached, True
    return catalog


def _read_options(fingerprint: str) -> dict[tuple[str, ...], list[Option]] | None:
    try:
        data = json.loads(options_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("format") != OPTIONS_FORMAT
        or data.get("fingerprint") != fingerprint
    ):
        return None
    try:
        if any(os.stat(name).st_mtime_ns != stamp for name, stamp in data["sources"].items()):
            return None
        return {
            tuple(path.split(" ")): [
                Option(**{**o, "names": tuple(o["names"]), "choices": tuple(o["choices"])}) for o in options
            ]
            for path, options in data["commands"].items()
        }
    except (OSError, KeyError, TypeError):
        return None


def build_options(assembly: Assembly, fingerprint: str) -> dict[tuple[str, ...], list[Option]]:
    """Import every command, read its options, and cache them (slow: imports every plugin's commands)."""
    from flext_kernel.cli.app import apply_flag_policy

    commands: dict[tuple[str, ...], list[Option]] = {}
    modules_before = set(sys.modules)
    for name in sorted(assembly.owners):
        path = tuple(name.split(" "))
        node = assembly.app
        try:
            for word in path:
                node = node[word]
            apply_flag_policy(node)
            arguments = node.assemble_argument_collection(parse_docstring=True)
        except Exception:  # a broken command has no options to offer; running it reports why
            continue
        commands[path] = [
            _option(argument, path) for argument in arguments if argument.parse and argument.show
        ]
    sources = {}
    for module_name in set(sys.modules) - modules_before:
        source = getattr(sys.modules.get(module_name), "__file__", None)
        if source and "flext" in module_name:
            with contextlib.suppress(OSError):
                sources[source] = os.stat(source).st_mtime_ns
    _write_options(fingerprint, commands, sources)
    return commands


def _write_options(
    fingerprint: str, commands: dict[tuple[str, ...], list[Option]], sources: dict[str, int]
) -> None:
    document = {
        "format": OPTIONS_FORMAT,
        "fingerprint": fingerprint,
        "sources": sources,
        "commands": {
            " ".join(path): [{slot: getattr(option, slot) for slot in Option.__slots__} for option in options]
            for path, options in commands.items()
        },
    }
    target = options_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(document), encoding="utf-8")
        os.replace(temporary, target)
    except OSError:
        pass  # only speed is lost


def _option(argument: Any, path: tuple[str, ...]) -> Option:
    kind_of = argument.field_info.kind
    variadic = kind_of is inspect.Parameter.VAR_POSITIONAL
    positional = (
        variadic
        or kind_of is inspect.Parameter.POSITIONAL_ONLY
        or (kind_of is inspect.Parameter.POSITIONAL_OR_KEYWORD and argument.index is not None)
    )
    names = tuple(argument.names)
    choices = tuple(str(choice) for choice in (argument.get_choices() or ()))
    hint = argument.hint
    flag = hint is bool
    return Option(
        names=names,
        help=" ".join(str(argument.parameter.help or "").split()),
        takes_value=not flag,
        choices=choices,
        kind=value_kind(names, hint, path),
        positional=positional,
        index=argument.index or 0,
        variadic=variadic,
    )


_KINDS: Final = (
    ("pipeline", "pipeline"),
    ("plugin", "plugin"),
    ("profile", "profile"),
    ("service", "service"),
    ("stream", "stream"),
    ("file", "path"),
    ("path", "path"),
    ("dir", "path"),
    ("definition", "path"),
    ("config", "path"),
)


_NAMED_BY_GROUP: Final = frozenset({"pipeline", "plugin", "profile", "service"})
"""Groups whose ``NAME``/``NAMES`` argument names one of theirs (``flext pipeline run NAME``)."""


def value_kind(names: tuple[str, ...], hint: object, path: tuple[str, ...] = ()) -> str:
    """What values of option ``names`` (type ``hint``) of command ``path`` name (``Option.kind``)."""
    if hint is Path or any(Path in get_args(inner) or inner is Path for inner in (hint, *get_args(hint))):
        return "path"
    joined = " ".join(names).lower()
    found = next((kind for word, kind in _KINDS if word in joined), "")
    if not found and path and path[0] in _NAMED_BY_GROUP and "name" in joined:
        return path[0]
    return found
