"""Taps and targets flext knows how to install, and the shape every Singer executable is described by.

The built-in list is small on purpose: the FLEXT family's own connectors
(LDAP, LDIF, Oracle, Oracle WMS, Oracle Integration Cloud) and a few common
third-party ones. Any other tap or target installs with
``flext data taps add NAME --pip-url SPEC``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KNOWN", "Kind", "SingerSpec", "known"]

Kind = Literal["tap", "target", "mapper"]


class SingerSpec(BaseModel):
    """A Singer executable: what it is, where it comes from, what it can do."""

    model_config = ConfigDict(frozen=True)

    name: str
    """What users call it (``tap-ldif``); also its isolated environment's name."""
    kind: Kind
    executable: str
    """The command it installs (usually its name)."""
    pip_url: str | None = None
    """What ``flext data taps add`` installs (a PyPI requirement, a path, a VCS URL)."""
    description: str = ""
    capabilities: tuple[str, ...] = ()
    """Singer capabilities (``catalog``, ``discover``, ``state``, ``about``...)."""
    family: str = "third-party"
    """``flext`` for the FLEXT family's own connectors."""
    version: str | None = None
    """Installed version (None when only known from the catalog)."""
    source: Literal["catalog", "flext", "tools"] = "catalog"
    """``flext``: installed in flext's environment; ``tools``: in its isolated environment."""
    location: str | None = Field(default=None)
    """Installed executable's path."""


def _spec(
    name: str,
    kind: Kind,
    pip_url: str,
    description: str,
    *caps: str,
    family: str = "flext",
    executable: str | None = None,
) -> SingerSpec:
    return SingerSpec(
        name=name,
        kind=kind,
        executable=executable or name,
        pip_url=pip_url,
        description=description,
        capabilities=caps,
        family=family,
    )


_FLEXT_GIT = "git+https://github.com/flext-sh/{}.git"

KNOWN: tuple[SingerSpec, ...] = (
    _spec(
        "tap-ldif",
        "tap",
        "flext-plugin-ldif",
        "LDIF files (RFC 2849) by object class",
        "catalog",
        "discover",
        "state",
        "about",
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
        "target-sqlite", "target", "flext-plugin-sqlite", "SQLite file (upserts on key properties)", "about"
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


def known(name: str) -> SingerSpec | None:
    """The catalog entry called ``name``, or None."""
    return next((spec for spec in KNOWN if spec.name == name), None)
