"""The ``algar`` plugin keeps the plugin contract every third-party plugin keeps."""

from __future__ import annotations

from flext_sdk.testing import PluginContract


class TestAlgarPlugin(PluginContract):
    plugin = "flext_plugin_algar.plugin"
