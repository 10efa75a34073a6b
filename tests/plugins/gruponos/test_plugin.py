"""The ``gruponos`` plugin keeps the plugin contract every third-party plugin keeps."""

from __future__ import annotations

from flext_sdk.testing import PluginContract


class TestGrupoNosPlugin(PluginContract):
    plugin = "flext_plugin_gruponos.plugin"
    required_plugins = (
        "flext_eventsourcing.plugin",
        "flext_plugin_singer.plugin",
        "flext_plugin_pipeline.plugin",
        "flext_plugin_scheduler.plugin",
    )
