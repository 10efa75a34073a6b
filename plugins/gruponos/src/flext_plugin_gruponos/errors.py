"""The GrupoNos plugin's error codes (documented in docs/errors.md and docs/gruponos.md)."""

from __future__ import annotations

from typing import Final

__all__ = ["DEPLOY_FAILED", "WMS_UNAVAILABLE"]

DEPLOY_FAILED: Final = "DEPLOY_FAILED"
"""A ``flext pipeline`` or ``flext schedule`` command the deploy ran failed without a code of its own."""
WMS_UNAVAILABLE: Final = "WMS_UNAVAILABLE"
"""``status`` could not ask the WMS for an entity's newest change (HTTP error, no token, bad answer)."""
