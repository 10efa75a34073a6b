"""The one error of tap-oracle-wms.

::

    RuntimeError
     ├── WmsError     the WMS answered something the tap cannot use: which entity, what, and what to do
     └── TokenError   the OAuth2 token endpoint refused the client (the stream reports it as a WmsError)
    ValueError
     └── SettingsError  a setting missing or wrong for the chosen auth_method: exit code 2

Everything that goes wrong with the source (an HTTP error that retries did
not cure, a body that is not the documented JSON, a ``next_page`` link to
another host, a describe answer without fields) is a ``WmsError``. The tap's
entry points turn it into one ``error:`` line and exit code 1 (2 for a
``SettingsError``); anything else that escapes is a bug.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SettingsError", "TokenError", "WmsError"]


class WmsError(RuntimeError):
    """A WMS answer the tap cannot use, with the entity it was for.

    ``str(error)`` is ``"entity <name>: <what is wrong and how to fix it>"``.
    """

    def __init__(self, entity: str, reason: str) -> None:
        self.entity = entity
        """The LGF API entity (``order_hdr``) being described or read."""
        self.reason = reason
        """What is wrong and how to fix it, without the entity."""
        super().__init__(f"entity {entity}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.entity, self.reason))


class TokenError(RuntimeError):
    """The OAuth2 token request failed; the message says how, never with the client secret."""


class SettingsError(ValueError):
    """A setting the run needs is missing or wrong; the message names it and says what to set."""
