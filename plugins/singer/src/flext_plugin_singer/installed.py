"""Which taps, targets and mappers are installed, and where their executables are.

Two places, looked at in this order:

1. each one's isolated environment (``flext data taps add``), described by
   the ``flext-singer.json`` written there at install time;
2. flext's own environment: distributions that register an executable in
   the ``flext.singer`` entry-point group (the first-party tap-ldif and
   target-sqlite), run from this interpreter's ``bin`` directory.

Nothing else on PATH is picked up silently: a pipeline runs exactly what
``flext data taps list`` shows.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from flext_plugin_singer.catalog import Kind, SingerSpec, known
from flext_sdk import FlextResult, tools

__all__ = ["DESCRIPTION_FILE", "ENTRY_POINT_GROUP", "installed", "resolve"]

ENTRY_POINT_GROUP = "flext.singer"
"""Entry-point group of Singer executables that ship inside a Python distribution."""
DESCRIPTION_FILE = "flext-singer.json"
"""Written into an isolated environment at install time: the spec, with version and capabilities."""


def installed(kind: Kind | None = None) -> list[SingerSpec]:
    """Every installed Singer executable (of ``kind``), isolated ones first, by name."""
    found: dict[str, SingerSpec] = {}
    for spec in [*_from_tools(), *_from_entry_points()]:
        found.setdefault(spec.name, spec)
    return sorted((s for s in found.values() if kind is None or s.kind == kind), key=lambda s: s.name)


def resolve(name: str, kind: Kind) -> FlextResult[SingerSpec]:
    """The installed ``kind`` called ``name``, with its executable; a failure says how to install it."""
    for spec in installed(kind):
        if spec.name == name:
            return FlextResult.ok(spec)
    plural = "mappers" if kind == "mapper" else f"{kind}s"
    hint = (
        f"run 'flext data {plural} add {name}'"
        if known(name) is not None
        else f"run 'flext data {plural} add {name} --pip-url SPEC' "
        f"(or check the name with 'flext data {plural} list')"
    )
    return FlextResult.fail(
        f"{kind} {name!r} is not installed: {hint}", error_code="NOT_FOUND", error_data={"name": name}
    )


def _from_tools() -> list[SingerSpec]:
    specs: list[SingerSpec] = []
    for tool in tools.installed():
        try:
            spec = SingerSpec.model_validate_json((tool.path / DESCRIPTION_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a tool environment of something else (dbt, meltano)
        executable = tool.executable(spec.executable)
        if executable is not None:
            specs.append(spec.model_copy(update={"source": "tools", "location": str(executable)}))
    return specs


def _from_entry_points() -> list[SingerSpec]:
    specs: list[SingerSpec] = []
    bin_dir = Path(sys.executable).parent
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            declared: Any = entry.load()
            spec = SingerSpec.model_validate(
                {
                    "name": entry.name,
                    **declared,
                    "version": entry.dist.version if entry.dist else None,
                    "pip_url": entry.dist.metadata["Name"] if entry.dist else None,
                    "family": "flext",
                    "source": "flext",
                }
            )
        except Exception:  # a broken declaration must not hide the others
            continue
        executable = bin_dir / spec.executable
        if executable.exists():
            specs.append(spec.model_copy(update={"location": str(executable)}))
    return specs


def describe_file(spec: SingerSpec) -> str:
    """The text of an isolated environment's description file."""
    return json.dumps(spec.model_dump(mode="json"), indent=2)
