"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package front re-exports its public names without importing the modules
that hold them, so ``import flext_kernel`` (and ``flext --help``) does not
pay for pydantic, the buses or a plugin's driver until a name is used.
Every FLEXT package front uses this one helper instead of a copy of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports", "locations"]


def locations(names_by_module: Mapping[str, str]) -> dict[str, str]:
    """Return ``{name: module}`` from ``{module: "Name OtherName ..."}`` (names separated by spaces)."""
    return {name: module for module, names in names_by_module.items() for name in names.split()}


def lazy_exports(
    package: str, namespace: dict[str, Any], locations: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` of a package that re-exports ``locations``.

    ``locations`` maps each public name to the module that defines it. A name
    is imported on first access and then stored in ``namespace`` (the
    package's ``globals()``), so later lookups do not come back here.
    """

    def __getattr__(name: str) -> Any:
        module = locations.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace.get("__all__", locations))

    return __getattr__, __dir__
