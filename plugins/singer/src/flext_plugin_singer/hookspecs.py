"""The hook through which plugins offer Singer connectors to the singer plugin.

The ``singer`` plugin adds this specification to the kernel's (its manifest
names this module in ``hookspecs``). A plugin that ships a tap, target or
mapper implements it and returns ``flext_sdk.contracts.singer.ConnectorSpec``
values; the singer plugin lists them in ``flext data taps list`` and runs
them in pipelines. A disabled plugin is not asked, so its connectors
disappear with it.

A connector plugin marks its implementation ``@hookimpl(optionalhook=True)``
and does not list ``singer`` in ``requires``: its executable works on its
own, and its other commands keep working while the singer plugin is off
(then nobody asks for its connectors). The reference is
``docs/plugins/authoring.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.plugins.hookspecs import hookspec

if TYPE_CHECKING:
    from flext_sdk.contracts.singer import ConnectorSpec

__all__ = ["flext_singer_connectors"]


@hookspec
def flext_singer_connectors() -> list[ConnectorSpec] | None:
    """Return the Singer connectors the plugin ships: ``[ConnectorSpec(name="tap-x", kind="tap", ...)]``.

    ``executable`` is a console script the plugin's distribution installs
    (found next to flext's Python) or an absolute path. Leave ``version``,
    ``pip_url``, ``source``, ``plugin`` and ``location`` unset: the singer
    plugin fills them in from the plugin's record. Called whenever connectors
    are listed or resolved, so it must be cheap and have no side effects.
    """
