"""Fixtures of the LDIF plugin's tests: a private slapd (``ldap_server``), shared by the session."""

from __future__ import annotations

from flext_sdk.testing.ldap_server import ldap_server

__all__ = ["ldap_server"]
