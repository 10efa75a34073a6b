"""The secrets plugin's own error codes; the shared ones (``VALIDATION_ERROR``, ...) are the kernel's.

Each is documented in ``docs/errors.md``. Stdlib only.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SECRET_BACKEND_UNAVAILABLE", "SECRET_KEY_INVALID", "SECRET_NOT_FOUND", "SECRET_STORE_FAILED"]

SECRET_NOT_FOUND: Final = "SECRET_NOT_FOUND"
"""No secret of that name in that profile; the message names it (exit code 2)."""
SECRET_KEY_INVALID: Final = "SECRET_KEY_INVALID"
"""The passphrase does not open the encrypted file, or none was given (exit 2)."""
SECRET_BACKEND_UNAVAILABLE: Final = "SECRET_BACKEND_UNAVAILABLE"
"""The backend asked for (or holding the secret) is not usable: no real system keyring, a locked one."""
SECRET_STORE_FAILED: Final = "SECRET_STORE_FAILED"
"""The secrets files could not be read or written (permissions, a full disk, a file that is not FLEXT's)."""
