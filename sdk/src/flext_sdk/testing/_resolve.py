"""Turn what a test names as "the plugin" into the object and import target the kernel loads.

A test may name a plugin the way an entry point does (``"pkg.plugin"`` or
``"pkg.plugin:MyPlugin"``) or hand over the object itself (a module, a
``FlextPlugin`` subclass, any object with a ``manifest``). The kernel loads
plugins by import target only, exactly as in production, so an object that is
not importable by name (a class defined inside a test function) is parked in
a private module in ``sys.modules`` for as long as the test needs it.
"""

from __future__ import annotations

import importlib
import itertools
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from flext_kernel.plugins.manifest import PluginManifest

__all__ = [
    "PluginImportError",
    "PluginSpec",
    "describe_spec",
    "guess_name",
    "hook_object",
    "import_target",
    "load_spec",
    "manifest_of",
    "parked_target",
]

PluginSpec: TypeAlias = object
"""A plugin as a test names it: ``"module"``, ``"module:attr"``, a module, a
``FlextPlugin`` subclass, or any object with a ``manifest`` attribute."""

_TARGET = re.compile(r"^[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?$")
_parked_ids = itertools.count()


class PluginImportError(Exception):
    """The plugin named by a test cannot be imported; the message says why and what to check."""


def describe_spec(spec: PluginSpec) -> str:
    """A short name for ``spec`` in failure messages."""
    if isinstance(spec, str):
        return repr(spec)
    if isinstance(spec, types.ModuleType):
        return f"module {spec.__name__!r}"
    name = getattr(spec, "__qualname__", None) or type(spec).__qualname__
    return f"{getattr(spec, '__module__', '?')}.{name}"


def import_target(target: str, *, what: str = "plugin target") -> object:
    """Import ``"module"`` or ``"module:attr.attr"`` and return the object.

    ``what`` names the string in messages ("plugin target", "command target").

    Raises:
        PluginImportError: the string is malformed or the import fails; the
            message names the part that is wrong. An invalid manifest raises
            while the module is imported, so it is reported as such.

    """
    if not _TARGET.match(target):
        raise PluginImportError(
            f"{what} {target!r} must look like 'package.module' or 'package.module:attribute'"
        )
    module_name, _, attribute = target.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
    except Exception as exc:
        raise PluginImportError(_import_failure(f"{what} {target!r}", module_name, exc)) from exc
    for part in attribute.split(".") if attribute else ():
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginImportError(
                f"{what} {target!r}: {describe_spec(obj)} has no attribute {part!r}; fix the part after ':'"
            ) from None
    return obj


def _import_failure(where: str, module_name: str, exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return (
            f"importing {module_name!r} failed because a PluginManifest in it is invalid:\n{exc}\n"
            "Fix the fields named above (see flext_sdk.PluginManifest for what each field accepts)."
        )
    if isinstance(exc, ModuleNotFoundError) and exc.name is not None and module_name.startswith(exc.name):
        return (
            f"cannot import {where}: no module named {exc.name!r}; "
            "check the spelling and that its distribution is installed (or its directory is on sys.path)"
        )
    return f"importing {where} raised {type(exc).__name__}: {exc}"


def load_spec(spec: PluginSpec) -> object:
    """Return the object ``spec`` names (importing it if it is a string)."""
    return import_target(spec) if isinstance(spec, str) else spec


def manifest_of(obj: object) -> PluginManifest:
    """Return ``obj.manifest``, or raise ``PluginImportError`` saying what is there instead."""
    from flext_kernel.plugins.manifest import PluginManifest

    manifest = getattr(obj, "manifest", None)
    if isinstance(manifest, PluginManifest):
        return manifest
    found = "nothing" if manifest is None else f"a {type(manifest).__name__}"
    raise PluginImportError(
        f"{describe_spec(obj)} has {found} as 'manifest'; a plugin must set "
        "manifest = flext_sdk.PluginManifest(name=..., ...) on the module or class its entry point names"
    )


def guess_name(spec: PluginSpec) -> str:
    """The name the kernel would give a plugin it cannot import (its module's last part)."""
    from flext_kernel.plugins.discovery import canonical_name

    text = spec if isinstance(spec, str) else describe_spec(spec)
    return canonical_name(text.strip("'").partition(":")[0].rpartition(".")[2]) or "plugin"


def hook_object(obj: object) -> object:
    """What the kernel registers with pluggy: an instance for a ``FlextPlugin`` subclass, else ``obj``."""
    from flext_kernel.plugins.base import FlextPlugin

    if isinstance(obj, type) and issubclass(obj, FlextPlugin):
        return obj()
    return obj


@contextmanager
def parked_target(spec: PluginSpec) -> Iterator[str]:
    """Yield an import target for ``spec``; park the object in ``sys.modules`` while needed.

    A string is its own target; a module or class that is importable under
    its own name uses that name, so the kernel imports it exactly as an entry
    point would. Anything else lives in a private module until the block ends.
    """
    if isinstance(spec, str):
        yield spec
        return
    own = _own_target(spec)
    if own is not None:
        yield own
        return
    name = f"_flext_sdk_testing_plugin_{next(_parked_ids)}"
    module = types.ModuleType(
        name, "A plugin object parked by flext_sdk.testing so the kernel can import it."
    )
    module.plugin = spec  # type: ignore[attr-defined]  # a module's attributes are dynamic
    sys.modules[name] = module
    try:
        yield f"{name}:plugin"
    finally:
        sys.modules.pop(name, None)


def _own_target(obj: object) -> str | None:
    if isinstance(obj, types.ModuleType):
        return obj.__name__ if sys.modules.get(obj.__name__) is obj else None
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    found: object = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return f"{module_name}:{qualname}" if found is obj else None
