"""FLEXT's searchable log store: the ``logs`` plugin (``flext logs search|tail|export``).

The modules, each with one job: ``settings`` (``FLEXT_LOGS_*``), ``redaction``
(secrets out before anything is stored), ``store`` (SQLite FTS5, WAL,
retention), ``handler`` (the stdlib ``logging`` handler and its batch writer),
``ingest`` (pipeline run logs), ``filters`` (``--since``, ``--level`` ...),
``logs_cli`` (the commands) and ``plugin`` (the manifest and lifecycle).
"""
