"""Secrets typed on a command line never reach the history: the SDK's command-line redactor.

The rules (secret-named options and assignments, a ``secret`` command's value, the shared
redactor over every word) live in ``flext_sdk.redaction.redact_argv``, shared with the audit
log; stdlib and the stdlib-only SDK redactor, since ``record`` runs at the end of every run.
"""

from __future__ import annotations

from flext_sdk.redaction import MASK
from flext_sdk.redaction import redact_argv as redact

__all__ = ["MASK", "redact"]
