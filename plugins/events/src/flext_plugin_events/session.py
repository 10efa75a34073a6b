"""The kernel and stores one ``flext events`` / ``flext projections`` command works on.

The opening itself is the SDK's (``flext_sdk.cli.opened_store``), shared by
every plugin command that takes ``--store``.
"""

from __future__ import annotations

from flext_sdk.cli import STORE_HINT, opened_store

__all__ = ["STORE_HINT", "opened_store"]
