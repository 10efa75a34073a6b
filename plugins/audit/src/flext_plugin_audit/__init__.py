"""The audit plugin: a tamper-evident record of every ``flext`` run (docs/plugins/audit.md)."""
