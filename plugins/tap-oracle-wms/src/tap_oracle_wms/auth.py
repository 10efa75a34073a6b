"""The two ways the LGF API authenticates a request: basic auth, or an OAuth2 bearer token.

OAuth2 uses the client-credentials grant: the client id and secret go to
the token endpoint in an HTTP Basic header (RFC 6749 section 2.3.1, what
Oracle IDCS expects), with ``scope`` in the form body when configured. The
token is kept until ``expires_in`` runs out, then asked for again.

One authenticator serves every stream and, with ``page_concurrency`` above
1, several worker threads at once: a lock makes the validity check and the
refresh one step, so the workers that find the token expired together ask
for one new token, not one each.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk.authenticators import APIAuthenticatorBase, BasicAuthenticator, OAuthAuthenticator

from tap_oracle_wms.errors import TokenError

if TYPE_CHECKING:
    import requests

__all__ = ["ClientCredentialsAuthenticator", "authenticator"]


class ClientCredentialsAuthenticator(OAuthAuthenticator):
    """OAuth2 client credentials against the configured token endpoint."""

    def __init__(self, *, token_url: str, client_id: str, client_secret: str, scope: str | None) -> None:
        pair = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        super().__init__(
            auth_endpoint=token_url,
            oauth_scopes=scope,
            client_id=client_id,
            client_secret=client_secret,
            oauth_headers={"Authorization": f"Basic {pair}"},
        )
        self._token_lock = threading.Lock()

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """The request with a bearer token; the check, the refresh and the header are one step.

        Singer SDK checks ``is_token_valid`` and calls ``update_access_token`` without a lock, so
        every worker that finds the token expired would ask for its own.
        """
        with self._token_lock:
            return super().authenticate_request(request)

    @property
    def oauth_request_body(self) -> dict[str, Any]:
        """``grant_type=client_credentials`` and, when configured, ``scope``."""
        body: dict[str, Any] = {"grant_type": "client_credentials"}
        if self.oauth_scopes:
            body["scope"] = self.oauth_scopes
        return body

    def update_access_token(self) -> None:
        """Ask for a token.

        Raises:
            TokenError: the endpoint refused the client or answered without a token.

        """
        try:
            super().update_access_token()
        except RuntimeError as exc:  # raised by Singer SDK on an HTTP error of the token endpoint
            raise TokenError(f"{exc} from {self.auth_endpoint}: check client_id and client_secret") from None
        except (KeyError, ValueError):
            raise TokenError(
                f"the token endpoint {self.auth_endpoint} answered without access_token"
            ) from None


def authenticator(config: Mapping[str, Any]) -> APIAuthenticatorBase:
    """The authenticator ``auth_method`` names (``basic`` by default)."""
    if config.get("auth_method", "basic") == "oauth2":
        return ClientCredentialsAuthenticator(
            token_url=config["oauth_token_url"],
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            scope=config.get("oauth_scope"),
        )
    return BasicAuthenticator(username=config["username"], password=config["password"])
