"""The ``events`` plugin: ``flext events ...`` and ``flext projections ...`` over the configured event store.

The plugin object is ``flext_plugin_events.plugin``; its commands live in
``flext_plugin_events.events_cli`` and ``flext_plugin_events.projections_cli``
and are imported only when one of them runs.
"""
