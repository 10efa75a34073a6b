"""The ``eventsourcing`` plugin keeps the plugin contract every third-party plugin keeps."""

from __future__ import annotations

from flext_sdk.testing import PluginContract


class TestEventSourcingPlugin(PluginContract):
    plugin = "flext_eventsourcing.plugin"
