"""``flext monitor``: dashboard, run-duration percentiles, metrics and alerts (docs/plugins/monitor.md)."""
