"""The pipeline plugin's own error codes; the shared ones (``NOT_FOUND``, ...) are ``flext_kernel.errors``'.

Each is documented in ``docs/errors.md``. Stdlib only.
``RUN_FAILED`` has the value of the singer plugin's code of that name, and
``SECRET_NOT_FOUND`` the secrets plugin's: a plugin never imports another's
modules, so each spells its own.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ALREADY_RUNNING", "RUN_FAILED", "SECRET_NOT_FOUND", "STOP_FAILED", "TRANSFORM_FAILED"]

ALREADY_RUNNING: Final = "ALREADY_RUNNING"
"""The pipeline is running already (its run lock is held); one run at a time."""
RUN_FAILED: Final = "RUN_FAILED"
"""``flext pipeline start``: the background run ended at once."""
SECRET_NOT_FOUND: Final = "SECRET_NOT_FOUND"
"""The secrets plugin's answer for a ``${secret:NAME}`` that does not exist; a run that needs it exits 2."""
STOP_FAILED: Final = "STOP_FAILED"
"""``flext pipeline stop``: the run ended otherwise (completed, failed) before the stop reached it."""
TRANSFORM_FAILED: Final = "TRANSFORM_FAILED"
"""A dbt transform step ran and at least one node failed."""
