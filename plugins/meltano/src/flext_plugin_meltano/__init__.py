"""The ``meltano`` plugin: ``flext meltano run|invoke|install|state|import``.

Meltano runs in its own virtual environment (built on first use); each
delegated command is recorded as ``MeltanoRunStarted`` and
``MeltanoRunFinished`` in the stream ``meltano-<project>``. The plugin object
is ``flext_plugin_meltano.plugin``; other plugins never import this package.
"""

from __future__ import annotations

__all__: list[str] = []
