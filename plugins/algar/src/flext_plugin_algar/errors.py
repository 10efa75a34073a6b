"""The ALGAR plugin's own error codes (docs/errors.md has a row for each).

The migration also returns the kernel's codes (``NOT_FOUND``,
``VALIDATION_ERROR``...); these are what only a directory server can answer:
reaching it, binding to it, and keeping the connection while entries are
loaded or compared.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LDAP_BIND_FAILED", "LDAP_CONNECTION_LOST", "LDAP_OPERATION_FAILED", "LDAP_UNREACHABLE"]

LDAP_UNREACHABLE: Final = "LDAP_UNREACHABLE"
"""The directory server could not be reached (refused, timed out, TLS failed); nothing was sent."""
LDAP_BIND_FAILED: Final = "LDAP_BIND_FAILED"
"""The server refused the bind (wrong DN or password, account locked); nothing was sent."""
LDAP_CONNECTION_LOST: Final = "LDAP_CONNECTION_LOST"
"""The server went away during the work; the message names the entry and batch; a re-run finishes."""
LDAP_OPERATION_FAILED: Final = "LDAP_OPERATION_FAILED"
"""The server refused a search the work needs (not an entry's add or modify, which are report items)."""
