"""The static checks of ``PluginContract``: manifest, hook names and signatures, command targets.

Each check returns a list of problems, one sentence each saying what is wrong
and how to fix it, so the contract can report all of them at once instead of
stopping at the first.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flext_sdk.testing._resolve import PluginImportError, import_target

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pluggy

    from flext_kernel.plugins.manifest import CommandEntry, PluginManifest

__all__ = ["DeclaredCommand", "command_problems", "declared_commands", "hook_problems", "manifest_problems"]


@dataclass(frozen=True, slots=True)
class DeclaredCommand:
    """A CLI command a plugin contributes, and where it was declared."""

    entry: CommandEntry
    """The command."""
    origin: str
    """``"the manifest"`` or ``"flext_register_commands"``."""


def manifest_problems(manifest: PluginManifest) -> list[str]:
    """What is wrong with an already constructed manifest (built with ``model_construct``, say)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from pydantic import ValidationError

    from flext_kernel.plugins.manifest import NAME_PATTERN, PluginManifest
    from flext_kernel.version import KERNEL_VERSION

    try:
        PluginManifest.model_validate(manifest.model_dump())
    except ValidationError as exc:
        return [f"the manifest does not validate as a PluginManifest:\n{exc}"]
    problems: list[str] = []
    if manifest.name == "kernel":
        problems.append("the name 'kernel' is reserved for the kernel's own commands; choose another name")
    try:
        supported = SpecifierSet(manifest.kernel)
    except InvalidSpecifier:
        problems.append(
            f"manifest kernel={manifest.kernel!r} is not a PEP 440 version specifier; write e.g. '>=0.1,<1'"
        )
    else:
        if not supported.contains(KERNEL_VERSION, prereleases=True):
            problems.append(
                f"manifest kernel={manifest.kernel!r} excludes this flext-kernel {KERNEL_VERSION}, so the "
                "kernel refuses to load the plugin; widen the range or test against a kernel it supports"
            )
    for required in manifest.requires:
        if required == manifest.name:
            problems.append(f"the plugin requires itself ({required!r}); remove it from 'requires'")
        elif not re.match(NAME_PATTERN, required):
            problems.append(f"requires names {required!r}, which cannot be a plugin name; fix the spelling")
    return problems


def _hook_manager(extra_specs: Iterable[str] = ()) -> pluggy.PluginManager:
    """A pluggy manager with the kernel's hooks and those of the ``hookspecs`` modules named."""
    import importlib

    import pluggy

    from flext_kernel.plugins import hookspecs

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for module in extra_specs:
        manager.add_hookspecs(importlib.import_module(module))
    return manager


def _known_hooks(manager: pluggy.PluginManager) -> list[str]:
    return sorted(name for name in vars(manager.hook) if not name.startswith("_"))


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def hook_problems(hook_object: object, manifests: Iterable[PluginManifest] = ()) -> list[str]:
    """Check every hook implementation of ``hook_object`` against the hookspecs it can see.

    Those are the kernel's and the ``hookspecs`` modules that ``manifests``
    (the plugin's own and those of the plugins it requires) contribute.

    pluggy checks the arguments of implementations of known hooks, but only
    ``check_pending`` notices a marked implementation of an unknown hook, and
    nothing notices an unmarked ``flext_*`` function: pluggy ignores it and the
    kernel never calls it. Both are typos a plugin author wants to hear about.
    """
    import pluggy

    manager = _hook_manager(m.hookspecs for m in manifests if m.hookspecs is not None)
    known = _known_hooks(manager)
    listing = ", ".join(known)
    problems: list[str] = []
    for attribute in sorted(dir(hook_object)):
        options = manager.parse_hookimpl_opts(hook_object, attribute)
        if options is not None:
            hook = options.get("specname") or attribute
            if hook not in known:
                problems.append(
                    f"{attribute!r} is marked @hookimpl but the kernel has no hook named {hook!r}"
                    f"{_did_you_mean(hook, known)}, so the kernel refuses the plugin; "
                    f"rename it to one of: {listing}"
                )
        elif attribute.startswith("flext_") and callable(getattr(hook_object, attribute, None)):
            if attribute in known:
                problems.append(
                    f"{attribute!r} has a hook's name but no @hookimpl marker, so the kernel never calls it; "
                    "decorate it with @hookimpl (from flext_sdk import hookimpl)"
                )
            else:
                problems.append(
                    f"{attribute!r} looks like a hook but the kernel has no hook of that name"
                    f"{_did_you_mean(attribute, known)} and it has no @hookimpl marker, so nothing calls it; "
                    f"rename it to one of: {listing}"
                )
    try:
        manager.register(hook_object, name="plugin-under-test")
    except (ValueError, pluggy.PluginValidationError) as exc:
        problems.append(f"pluggy rejects the hook implementations: {exc}")
    return problems


def declared_commands(
    hook_object: object, manifest: PluginManifest
) -> tuple[list[DeclaredCommand], list[str]]:
    """The commands of the manifest plus those ``flext_register_commands`` declares, and any problem."""
    from flext_kernel.plugins.registry import CommandRegistry

    declared = [DeclaredCommand(entry, "the manifest") for entry in manifest.commands]
    manager = _hook_manager()
    try:
        manager.register(hook_object)
    except Exception:
        return declared, []  # test_hooks_match_the_kernel_hookspecs reports why
    registry = CommandRegistry()
    try:
        manager.hook.flext_register_commands(registry=registry)
    except Exception as exc:
        return declared, [
            f"flext_register_commands raised {type(exc).__name__}: {exc}; "
            "it must only call registry.add(path, 'module:attr', help)"
        ]
    declared.extend(DeclaredCommand(entry, "flext_register_commands") for entry in registry.entries)
    return declared, []


def command_problems(commands: list[DeclaredCommand]) -> list[str]:
    """Import every command target; each must be a function (or other callable) or a cyclopts ``App``."""
    problems: list[str] = []
    for command in commands:
        where = f"command 'flext {command.entry.name}' (from {command.origin}) -> {command.entry.target!r}"
        try:
            target = import_target(command.entry.target, what="command target")
        except PluginImportError as exc:
            problems.append(f"{where} does not import, so running it would fail for users: {exc}")
            continue
        if not callable(target):  # a cyclopts App is callable too
            problems.append(
                f"{where} is {reprlib.repr(target)} ({type(target).__name__}); "
                "a command target must be a function or a cyclopts App"
            )
    return problems
