"""Assemble the cyclopts app from the kernel's commands and the cached plugin table.

Groups, conflicts and where the help's lines come from: docs/cli.md.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from cyclopts import App, Parameter

from flext_kernel.cli.builtin import KERNEL_COMMANDS, KERNEL_GROUPS
from flext_kernel.version import KERNEL_VERSION

__all__ = ["Assembly", "apply_flag_policy", "assemble"]

HELP = "FLEXT, a plugin-first kernel: the commands below are those of the plugins installed here."


@dataclass
class Assembly:
    """The built app and what was noticed while building it."""

    app: App
    """The root app (without the global-options meta layer)."""
    owners: dict[str, str] = field(default_factory=dict)
    """Command path ("data taps") to the plugin that contributes it."""
    conflicts: list[str] = field(default_factory=list)
    """Commands claimed by more than one plugin; the first claim wins."""
    hidden: dict[str, str] = field(default_factory=dict)
    """Plugins whose commands are left out, with why (disabled, failed, ...)."""
    children: dict[tuple[str, ...], set[str]] = field(default_factory=lambda: {(): set()})
    """Group path to the names directly under it (commands and sub-groups)."""
    group_help: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Declared help of groups (kernel's shared groups and plugins' ``GroupEntry``)."""
    unavailable: dict[str, str] = field(default_factory=dict)
    """Command path of a hidden plugin to that plugin, so an unknown command can say why."""
    disabled_by: dict[str, str] = field(default_factory=dict)
    """Hidden plugin to the disabled plugin that hides it: itself, or a plugin it requires."""
    hooks: dict[str, list[str]] = field(default_factory=dict)
    """Run observers and argv rewriters of the visible plugins, as import strings, by entry-point group."""

    def unknown_command(self, words: list[str]) -> tuple[str, list[str]] | None:
        """Return (the unknown word, the valid names at that level), or None if the path is known.

        cyclopts would import every lazy command (every plugin) to suggest alternatives.
        """
        path: tuple[str, ...] = ()
        for word in words:
            names = self.children.get(path)
            if names is None:
                return None  # a command (not a group) takes the remaining words
            if word not in names:
                return word, sorted(names)
            path = (*path, word)
        return None


def assemble(table: dict[str, Any], *, disabled: set[str], only: set[str] | None) -> Assembly:
    """Build the root app; plugin targets stay import strings until their command runs."""
    app = App(
        name="flext",
        help=HELP,
        version=KERNEL_VERSION,
        result_action="return_value",
        help_format="plaintext",
        suppress_keyboard_interrupt=False,  # flext_kernel.cli.main reports Ctrl-C (INTERRUPTED, 130)
    )
    assembly = Assembly(app)
    plugins = {plugin["name"]: plugin for plugin in table.get("plugins", [])}
    visible = []
    for name in sorted(plugins):
        why = _why_hidden(name, plugins, disabled, only)
        if why is None:
            visible.append(name)
        else:
            assembly.hidden[name] = why
            for command in plugins[name]["commands"]:
                assembly.unavailable.setdefault(" ".join(command["path"]), name)
    for name in assembly.hidden:
        cause = _disabled_cause(name, plugins, assembly.hidden, set())
        if cause is not None:
            assembly.disabled_by[name] = cause
    assembly.group_help = _group_help([plugins[name] for name in visible])
    for group, targets in table.get("hooks", {}).items():
        assembly.hooks[group] = [targets[name] for name in sorted(targets) if name in visible]

    # The kernel's commands go first, so its claims win; its groups (``plugin``) are groups
    # like any other, so a plugin can add a command to them (the SDK's ``plugin new``).
    groups: dict[tuple[str, ...], App] = {(): app}
    for path, target, help_text in KERNEL_COMMANDS:
        _add(assembly, groups, "kernel", path, target, help_text)
    for name in visible:
        for command in plugins[name]["commands"]:
            _add(
                assembly,
                groups,
                name,
                tuple(command["path"]),
                command["target"],
                command.get("help", ""),
                plugins[name].get("description", ""),
            )
    _describe_shared_groups(assembly, groups)
    return assembly


def _group_help(plugins: list[dict[str, Any]]) -> dict[tuple[str, ...], str]:
    """Help of each declared group: the kernel's shared groups first, then the first plugin by name."""
    helps = dict(KERNEL_GROUPS)
    for plugin in plugins:
        for group in plugin.get("groups", []):
            helps.setdefault(tuple(group["path"]), group["help"])
    return helps


def _describe_shared_groups(assembly: Assembly, groups: dict[tuple[str, ...], App]) -> None:
    """Describe each undeclared group that several plugins fill by naming those plugins (``flext data``)."""
    for path, group in groups.items():
        if not path or path in assembly.group_help:
            continue
        prefix = " ".join(path) + " "
        contributors = sorted({owner for name, owner in assembly.owners.items() if name.startswith(prefix)})
        if len(contributors) > 1:
            group.help = f"Commands of the plugins {', '.join(contributors)}."


def _why_hidden(
    name: str, plugins: dict[str, dict[str, Any]], disabled: set[str], only: set[str] | None, depth: int = 0
) -> str | None:
    plugin = plugins[name]
    if name in disabled or (only is not None and name not in only):
        return "disabled"
    if plugin["state"] != "loaded":
        return f"{plugin['state']}: {plugin.get('reason')}"
    for required in plugin.get("requires", []):
        if required not in plugins:
            return f"requires plugin {required!r}, which is not installed"
        if depth < len(plugins) and _why_hidden(required, plugins, disabled, only, depth + 1) is not None:
            return f"requires plugin {required!r}, which is not available"
    return None


def _disabled_cause(
    name: str, plugins: dict[str, dict[str, Any]], hidden: dict[str, str], seen: set[str]
) -> str | None:
    """The disabled plugin that hides ``name``: itself, or one it requires (directly or not); else None."""
    if hidden.get(name) == "disabled":
        return name
    seen.add(name)
    for required in plugins.get(name, {}).get("requires", []):
        if required in hidden and required not in seen:
            cause = _disabled_cause(required, plugins, hidden, seen)
            if cause is not None:
                return cause
    return None


def _add(
    assembly: Assembly,
    groups: dict[tuple[str, ...], App],
    owner: str,
    path: tuple[str, ...],
    target: str,
    help_text: str,
    group_help: str = "",
) -> None:
    name = " ".join(path)
    if path in groups:
        assembly.conflicts.append(f"'flext {name}' is a command group, so {owner} cannot make it a command")
        return
    if name in assembly.owners:
        first = assembly.owners[name]
        assembly.conflicts.append(f"'flext {name}' is claimed by {first} and {owner}; {first} wins")
        return
    parent = _group(assembly, groups, path[:-1], owner, group_help)
    if parent is None:
        return
    parent.command(target, name=path[-1], help=help_text)
    assembly.owners[name] = owner
    assembly.children[path[:-1]].add(path[-1])


def _group(
    assembly: Assembly,
    groups: dict[tuple[str, ...], App],
    path: tuple[str, ...],
    owner: str,
    help_text: str = "",
) -> App | None:
    """The group app at ``path``, created on demand; None if a command sits there.

    Its help is its ``GroupEntry``'s, else the description of the first plugin adding a command to it.
    """
    if path in groups:
        return groups[path]
    parent = _group(assembly, groups, path[:-1], owner, help_text)
    name = " ".join(path)
    if parent is None or name in assembly.owners:
        holder = assembly.owners.get(name)
        assembly.conflicts.append(
            f"'flext {name}' is a command of {holder}, so {owner} cannot add commands below it"
        )
        return None
    help_text = assembly.group_help.get(path) or help_text or f"{path[-1]} commands."
    group = App(name=path[-1], help=help_text, result_action="return_value")
    parent.command(group)
    groups[path] = group
    assembly.children[path[:-1]].add(path[-1])
    assembly.children[path] = set()
    return group


_PLAIN_FLAG = Parameter(negative=(), show_default=False)
"""A flag that is off unless given: no ``--no-`` form, no ``[default: False]`` in the help."""


def apply_flag_policy(command: App) -> None:
    """Give every flag of ``command`` that defaults to False the plain-flag look (``_PLAIN_FLAG``).

    The command's own ``Parameter`` settings win; its function is wrapped, not changed. Applied to the
    command a command line names once it is imported, since plugins' commands are lazy (docs/cli.md).
    """
    function = command.default_command
    if function is None or getattr(function, "__flext_flags__", False):
        return
    try:
        hints = get_type_hints(function, include_extras=True)
        signature = inspect.signature(function)
    except Exception:  # cyclopts reads the same hints and reports what is wrong with them
        return
    parameters = []
    for name, parameter in signature.parameters.items():
        hint = hints.get(name, parameter.annotation)
        base, *extras = get_args(hint) if get_origin(hint) is Annotated else (hint,)
        if base is bool and parameter.default is False:
            hint = Annotated[(base, _PLAIN_FLAG, *extras)]
        parameters.append(parameter.replace(annotation=hint))
    wrapped = _same_call(function)
    wrapped.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]  # read by inspect
    wrapped.__annotations__ = {p.name: p.annotation for p in parameters} | (
        {"return": hints["return"]} if "return" in hints else {}
    )
    command.default_command = wrapped


def _same_call(function: Callable[..., Any]) -> Callable[..., Any]:
    """A function that calls ``function`` (a coroutine function stays one), marked as done."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def waiting(*args: Any, **kwargs: Any) -> Any:
            return await function(*args, **kwargs)

        wrapper: Callable[..., Any] = waiting
    else:

        @functools.wraps(function)
        def calling(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        wrapper = calling
    wrapper.__flext_flags__ = True  # type: ignore[attr-defined]  # see apply_flag_policy
    return wrapper
