"""Taps, targets and mappers flext knows how to install (each a ``ConnectorSpec``).

The built-in list is small on purpose: the FLEXT family's own connectors
(LDAP, LDIF, Oracle, Oracle WMS, Oracle Integration Cloud) and a few common
third-party ones. Any other tap or target installs with
``flext data taps add NAME --pip-url SPEC``.

An entry with ``plugin`` set comes with that FLEXT plugin (tap-ldif with
``ldif``): once the plugin runs, its ``flext_singer_connectors`` hook
contributes the installed connector; while the plugin is disabled, the entry
is not offered either (a disabled plugin contributes nothing).
"""

from __future__ import annotations

from flext_sdk.contracts.singer import ConnectorKind, ConnectorSpec

__all__ = ["KNOWN", "known"]


def _spec(
    name: str,
    kind: ConnectorKind,
    pip_url: str,
    description: str,
    *caps: str,
    family: str = "flext",
    executable: str | None = None,
    plugin: str | None = None,
) -> ConnectorSpec:
    return ConnectorSpec(
        name=name,
        kind=kind,
        executable=executable or name,
        pip_url=pip_url,
        description=description,
        capabilities=caps,
        family=family,
        plugin=plugin,
    )


_FLEXT_GIT = "git+https://github.com/flext-sh/{}.git"

KNOWN: tuple[ConnectorSpec, ...] = (
    _spec(
        "tap-ldif",
        "tap",
        "flext-plugin-ldif",
        "LDIF files (RFC 2849) by object class",
        "catalog",
        "discover",
        "state",
        "about",
        plugin="ldif",
    ),
    _spec(
        "tap-ldap",
        "tap",
        _FLEXT_GIT.format("flext-tap-ldap"),
        "LDAP directories (OID, OUD, OpenLDAP)",
        "catalog",
        "discover",
        "state",
    ),
    _spec(
        "tap-oracle",
        "tap",
        _FLEXT_GIT.format("flext-tap-oracle"),
        "Oracle Database tables",
        "catalog",
        "discover",
        "state",
    ),
    _spec(
        "tap-oracle-wms",
        "tap",
        _FLEXT_GIT.format("flext-tap-oracle-wms"),
        "Oracle WMS Cloud REST API",
        "catalog",
        "discover",
        "state",
    ),
    _spec(
        "tap-oracle-oic",
        "tap",
        _FLEXT_GIT.format("flext-tap-oracle-oic"),
        "Oracle Integration Cloud monitoring API",
        "catalog",
        "discover",
        "state",
    ),
    _spec(
        "target-sqlite",
        "target",
        "flext-plugin-sqlite",
        "SQLite file (upserts on key properties)",
        "about",
        plugin="sqlite",
    ),
    _spec("target-ldap", "target", _FLEXT_GIT.format("flext-target-ldap"), "LDAP directories (OUD)"),
    _spec("target-ldif", "target", _FLEXT_GIT.format("flext-target-ldif"), "LDIF files"),
    _spec("target-oracle", "target", _FLEXT_GIT.format("flext-target-oracle"), "Oracle Database tables"),
    _spec("target-jsonl", "target", "target-jsonl", "JSON-lines files, one per stream", family="third-party"),
    _spec(
        "target-postgres",
        "target",
        "meltanolabs-target-postgres",
        "PostgreSQL (MeltanoLabs)",
        "about",
        family="third-party",
    ),
    _spec("target-csv", "target", "target-csv", "CSV files, one per stream", family="third-party"),
    _spec(
        "meltano-map-transformer",
        "mapper",
        "meltano-map-transform",
        "Stream maps: rename, filter, hash properties",
        "about",
        family="third-party",
        executable="meltano-map-transform",
    ),
)
"""The built-in catalog."""


def known(name: str) -> ConnectorSpec | None:
    """The catalog entry called ``name``, or None."""
    return next((spec for spec in KNOWN if spec.name == name), None)
