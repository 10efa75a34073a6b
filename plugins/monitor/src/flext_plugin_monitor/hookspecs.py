"""The hook through which plugins add ways to deliver alerts.

The ``monitor`` plugin adds it to the kernel's hooks (its manifest names this
module in ``hookspecs``). A plugin that can notify (chat, paging, mail)
implements it and lists ``monitor`` in its ``requires`` (or marks the
implementation ``optionalhook=True``).
"""

from __future__ import annotations

from typing import Any

from flext_kernel.plugins.hookspecs import hookspec

__all__ = ["flext_alert_notifiers"]


@hookspec
def flext_alert_notifiers() -> list[Any] | None:
    """Return notifiers: objects with ``kind``, ``validate``, ``describe`` and ``notify``.

    - ``kind: str``: what a rules file's ``notifiers.<name>.type`` names;
    - ``validate(settings: dict) -> FlextResult[None]``: check the entry's
      settings when the file is read (a failure's ``error_data["loc"]`` names
      the key, for the ``file:line: key`` line);
    - ``describe(settings: dict) -> str``: one line for ``alerts list``,
      with any secret replaced by ``***``;
    - ``notify(alert: dict, settings: dict) -> FlextResult[None]``: deliver
      one alert document (``docs/plugins/monitor.md`` shows its keys).

    Called when rules are read or evaluated: describe, do not connect.
    """
