"""The hook through which plugins contribute services to the registry.

The ``service`` plugin adds it to the kernel's hooks (its manifest names this
module in ``hookspecs``); a plugin that runs a process or depends on a server
implements it and lists ``service`` in its ``requires`` (or marks the
implementation ``optionalhook=True`` to work without this plugin).
"""

from __future__ import annotations

from typing import Any

from flext_kernel.plugins.hookspecs import hookspec

__all__ = ["flext_services"]


@hookspec
def flext_services() -> list[Any] | None:
    """Return the services the plugin runs or depends on: ``ServiceSpec`` objects or dicts of that shape.

    Called whenever the registry is read (``flext service``, ``/ready``), so
    it must be cheap and without side effects: describe, do not connect.
    A dict is the portable form (no import of this plugin needed)::

        {"name": "scheduler", "kind": "local-process", "required": False,
         "argv": [sys.executable, "-m", "flext_kernel.cli", "scheduler", "run"]}
    """
