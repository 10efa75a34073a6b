"""The package front names each export twice: once for mypy, once for the lazy loader. They must agree."""

from __future__ import annotations

import ast
from pathlib import Path

import flext_kernel


def _typing_imports() -> dict[str, str]:
    tree = ast.parse(Path(flext_kernel.__file__).read_text(encoding="utf-8"))
    block = next(
        node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        assert node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: mypy re-exports only `import X as X`"
            found[alias.name] = node.module
    return found


def test_what_mypy_reads_is_what_the_lazy_loader_imports() -> None:
    assert _typing_imports() == flext_kernel._LOCATIONS


def test_every_lazy_name_comes_from_the_module_it_is_listed_under() -> None:
    import importlib

    for name, module in flext_kernel._LOCATIONS.items():
        assert getattr(flext_kernel, name) is getattr(importlib.import_module(module), name)
