"""``flext meltano project init --template``: a ready extractor, loader and job, declared in ``meltano.yml``.

``meltano add`` asks Meltano Hub for a plugin's definition, and the Hub is not
always reachable (it is not on these machines): a template declares its
plugins directly, with ``namespace``, ``executable``, ``settings`` and
``config``, so ``meltano install`` and ``meltano run`` need no Hub.

- ``ldif-sqlite``: FLEXT's own ``tap-ldif`` and ``target-sqlite``, run from
  FLEXT's environment (``executable:`` their absolute paths: nothing to
  install), the sample directory export into ``output/warehouse.db``;
- ``ldif-postgres``: the same extractor into PostgreSQL with MeltanoLabs'
  ``target-postgres`` (``pip_url`` pinned: ``meltano install`` builds it
  from the package index), schema ``ldif`` at ``127.0.0.1:5432`` as
  ``postgres``; the password comes from ``TARGET_POSTGRES_PASSWORD`` in
  ``.env`` (written empty, for a server that trusts local connections; set
  it if yours asks for one), never from ``meltano.yml``.

Both add the job ``ldif-to-<loader>`` and the sample LDIF as ``data/sample.ldif``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Final, Literal

from flext_kernel.errors import NOT_FOUND
from flext_kernel.result import FlextResult

__all__ = ["DOTENV_PASSWORD", "SAMPLE", "TEMPLATES", "Template", "template_plugins"]

Template = Literal["ldif-sqlite", "ldif-postgres"]
"""The templates' names."""
TEMPLATES: Final = ("ldif-sqlite", "ldif-postgres")
SAMPLE: Final = Path(__file__).resolve().parent / "templates" / "sample.ldif"
"""The sample directory export (the Quickstart's), copied to ``data/sample.ldif``."""
DOTENV_PASSWORD: Final = "TARGET_POSTGRES_PASSWORD"
"""The variable the PostgreSQL template's ``.env`` sets, empty (target-postgres wants one, even for trust)."""
TARGET_POSTGRES: Final = "meltanolabs-target-postgres==0.8.1"
"""The target-postgres the PostgreSQL template installs (the one FLEXT's singer catalog is tested with)."""


def _flext_executable(name: str) -> FlextResult[str]:
    """The absolute path of ``name`` in FLEXT's environment, or why it is not there."""
    path = Path(sys.executable).parent / name
    if path.is_file():
        return FlextResult.ok(str(path))
    return FlextResult.fail(
        f"{name} is not installed in FLEXT's environment ({path.parent}); the template runs it from there",
        NOT_FOUND,
        {
            "executable": name,
            "hint": "install it: 'flext plugin install ldif' / 'flext plugin install sqlite'",
        },
    )


def _tap_ldif(executable: str) -> dict[str, Any]:
    return {
        "name": "tap-ldif",
        "namespace": "tap_ldif",
        "executable": executable,
        "capabilities": ["catalog", "discover", "state", "about"],
        "settings": [
            {"name": "files", "kind": "array"},
            {"name": "apply_changes", "kind": "boolean"},
            {"name": "base_dn", "kind": "string"},
        ],
        "config": {"files": ["data/sample.ldif"], "apply_changes": True},
    }


def template_plugins(template: Template) -> FlextResult[dict[str, Any]]:
    """What ``template`` adds to ``meltano.yml``: ``plugins`` and ``jobs``."""
    tap = _flext_executable("tap-ldif")
    if tap.is_failure:
        return FlextResult.fail(tap.error or "", tap.error_code, tap.error_data)
    if template == "ldif-sqlite":
        target = _flext_executable("target-sqlite")
        if target.is_failure:
            return FlextResult.fail(target.error or "", target.error_code, target.error_data)
        loader: dict[str, Any] = {
            "name": "target-sqlite",
            "namespace": "target_sqlite",
            "executable": target.value,
            "settings": [{"name": "database", "kind": "string"}, {"name": "hard_delete", "kind": "boolean"}],
            "config": {"database": "${MELTANO_PROJECT_ROOT}/output/warehouse.db"},
        }
    else:
        loader = {
            "name": "target-postgres",
            "namespace": "target_postgres",
            "pip_url": TARGET_POSTGRES,
            "executable": "target-postgres",
            "settings": [
                {"name": "host", "kind": "string"},
                {"name": "port", "kind": "integer"},
                {"name": "user", "kind": "string"},
                {"name": "password", "kind": "string", "sensitive": True},
                {"name": "database", "kind": "string"},
                {"name": "default_target_schema", "kind": "string"},
            ],
            "config": {
                "host": "127.0.0.1",
                "port": 5432,
                "user": "postgres",
                "database": "postgres",
                "default_target_schema": "ldif",
            },
        }
    job = f"ldif-to-{loader['name'].removeprefix('target-')}"
    return FlextResult.ok(
        {
            "plugins": {"extractors": [_tap_ldif(tap.value)], "loaders": [loader]},
            "jobs": [{"name": job, "tasks": [f"tap-ldif {loader['name']}"]}],
        }
    )
