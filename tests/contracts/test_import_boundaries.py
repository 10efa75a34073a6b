"""The import rules of the architecture, checked on every source file (docs/architecture.md).

- The kernel imports nothing of FLEXT but itself: no SDK, no event sourcing, no plugin.
- Event sourcing imports the kernel and itself.
- The SDK imports the kernel, itself and event sourcing's public top level.
- A plugin imports the kernel, the SDK, event sourcing's public top level and its own
  package; never another plugin's modules. Plugins reach each other through the kernel.

Every import counts, including those under ``if TYPE_CHECKING:`` and inside functions: a
plugin that imports another's types still breaks when that plugin is replaced.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_ONLY = {"flext_eventsourcing"}
"""Packages others may import only by their top level (their modules are private)."""


@dataclass(frozen=True)
class Package:
    """One distribution's source package and the FLEXT packages it may import."""

    name: str
    source: Path
    allowed: frozenset[str]


def _packages() -> list[Package]:
    found = [
        Package("flext_kernel", ROOT / "kernel/src/flext_kernel", frozenset()),
        Package(
            "flext_eventsourcing",
            ROOT / "plugins/eventsourcing/src/flext_eventsourcing",
            frozenset({"flext_kernel"}),
        ),
        Package("flext_sdk", ROOT / "sdk/src/flext_sdk", frozenset({"flext_kernel", "flext_eventsourcing"})),
    ]
    for source in sorted(ROOT.glob("plugins/*/src/*")):
        if not (source / "__init__.py").is_file() or source.name == "flext_eventsourcing":
            continue  # egg-info, caches; event sourcing has its own rule above
        found.append(
            Package(source.name, source, frozenset({"flext_kernel", "flext_sdk", "flext_eventsourcing"}))
        )
    return found


@functools.cache
def _workspace_roots() -> frozenset[str]:
    """The top-level package of every distribution in the workspace (``tap_oracle_wms`` too)."""
    return frozenset(
        source.name for source in ROOT.glob("plugins/*/src/*") if (source / "__init__.py").is_file()
    ) | {"flext_kernel", "flext_sdk"}


def _flext_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every absolute import of a workspace package in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    roots = _workspace_roots()
    return sorted(
        (line, module)
        for line, module in found
        if module.split(".")[0].startswith("flext") or module.split(".")[0] in roots
    )


def violations(package: Package) -> list[str]:
    """Every import in ``package`` that the rules above forbid, as ``file:line: module``."""
    wrong: list[str] = []
    for path in sorted(package.source.rglob("*.py")):
        for line, module in _flext_imports(path):
            root = module.split(".")[0]
            if root == package.name:
                continue
            allowed = root in package.allowed and not (root in PUBLIC_ONLY and module != root)
            if not allowed:
                wrong.append(f"{path.relative_to(package.source.parent)}:{line}: imports {module}")
    return wrong


@pytest.mark.parametrize("package", _packages(), ids=lambda package: package.name)
def test_imports_follow_the_architecture(package: Package) -> None:
    assert violations(package) == []


def test_the_rules_catch_a_plugin_importing_another(tmp_path: Path) -> None:
    source = tmp_path / "flext_plugin_a"
    source.mkdir()
    (source / "x.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import flext_plugin_a.y\n"
        "from flext_sdk import hookimpl\n"
        "from flext_eventsourcing import FlextEventStore\n"
        "if TYPE_CHECKING:\n"
        "    from flext_plugin_b.engine import Engine\n"
        "def f():\n"
        "    import flext_eventsourcing.eventstore_base\n",
        encoding="utf-8",
    )
    package = Package(
        "flext_plugin_a", source, frozenset({"flext_kernel", "flext_sdk", "flext_eventsourcing"})
    )
    assert [line.split(": ", 1)[1] for line in violations(package)] == [
        "imports flext_plugin_b.engine",
        "imports flext_eventsourcing.eventstore_base",
    ]


def test_every_distribution_is_checked() -> None:
    checked = {package.name for package in _packages()}
    sources = {
        path.name
        for path in ROOT.glob("plugins/*/src/*")
        if path.is_dir() and not path.name.endswith("egg-info")
    }
    assert sources <= checked
