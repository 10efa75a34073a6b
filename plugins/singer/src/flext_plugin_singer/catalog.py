"""Taps, targets and mappers flext knows how to install: a short list, each entry checked by hand.

Two kinds of entry:

- ``pypi``: a package that exists on PyPI and was installed, with
  ``flext data <kind>s add``, into its own environment on Python 3.11, where
  its executable started (``checked`` says which version and when). Any other
  connector installs with ``flext data taps add NAME --pip-url SPEC``.
- ``workspace``: a connector that comes with a first-party FLEXT plugin
  (tap-ldif with ``ldif``). Those plugins are not on PyPI: once the plugin
  runs, its ``flext_singer_connectors`` hook contributes the installed
  connector; while it is disabled the entry is not offered either; while it
  is not installed, it is offered only when this plugin runs from a FLEXT
  checkout that holds the plugin's directory (``workspace_dir``), installed
  with ``flext plugin install DIR``.

No entry is a VCS URL: a list entry must install from what this machine's
users can reach (PyPI, or the checkout they run). Before adding one, install
it with ``flext data <kind>s add NAME --pip-url PACKAGE`` on a clean tools
directory and record what was checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flext_sdk.contracts.singer import ConnectorKind, ConnectorSpec

__all__ = ["KNOWN", "CatalogEntry", "known", "workspace_dir"]

Origin = Literal["pypi", "workspace"]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One installable connector and where it comes from."""

    spec: ConnectorSpec
    """What it is (name, kind, executable, description, family; ``plugin`` for a workspace one)."""
    origin: Origin
    """``pypi``: a PyPI package; ``workspace``: comes with a first-party plugin of a FLEXT checkout."""
    package: str
    """The PyPI distribution (what ``add`` installs), or the plugin's distribution (``flext-plugin-ldif``)."""
    checked: str
    """Provenance: what was verified, and when (ISO 8601 date)."""

    @property
    def name(self) -> str:
        """The connector's name."""
        return self.spec.name

    @property
    def kind(self) -> ConnectorKind:
        """``tap``, ``target`` or ``mapper``."""
        return self.spec.kind


def _pypi(
    name: str,
    kind: ConnectorKind,
    package: str,
    description: str,
    checked: str,
    *capabilities: str,
    executable: str | None = None,
) -> CatalogEntry:
    spec = ConnectorSpec(
        name=name,
        kind=kind,
        executable=executable or name,
        pip_url=package,
        description=description,
        capabilities=capabilities,
        family="third-party",
    )
    return CatalogEntry(spec, "pypi", package, checked)


def _workspace(name: str, kind: ConnectorKind, plugin: str, description: str) -> CatalogEntry:
    package = f"flext-plugin-{plugin}"
    spec = ConnectorSpec(
        name=name,
        kind=kind,
        executable=name,
        pip_url=package,
        description=description,
        family="flext",
        plugin=plugin,
    )
    return CatalogEntry(spec, "workspace", package, f"ships in plugins/{plugin} of the FLEXT checkout")


_SDK = ("about", "stream-maps", "schema-flattening", "structured-logging")
"""What every connector built with the Meltano Singer SDK says it can do (``--about``)."""

KNOWN: tuple[CatalogEntry, ...] = (
    _workspace("tap-ldif", "tap", "ldif", "LDIF files (RFC 2849) by object class"),
    _pypi(
        "tap-oracle",
        "tap",
        "tap-oracle",
        "Oracle Database tables (singer-io; needs Oracle Instant Client)",
        "tap-oracle 1.3.0 installed, tap-oracle --help ran, 2026-12-07",
        "catalog",
        "discover",
        "state",
    ),
    _pypi(
        "tap-postgres",
        "tap",
        "meltanolabs-tap-postgres",
        "PostgreSQL tables (MeltanoLabs)",
        "meltanolabs-tap-postgres 0.10.0 installed, tap-postgres --about ran, 2026-12-07",
        *_SDK,
        "catalog",
        "discover",
        "state",
        "activate-version",
        "batch",
    ),
    _workspace("target-sqlite", "target", "sqlite", "SQLite file (upserts on key properties)"),
    _pypi(
        "target-jsonl",
        "target",
        "target-jsonl",
        "JSON-lines files, one per stream",
        "target-jsonl 0.1.4 installed, target-jsonl --help ran, 2026-12-07",
    ),
    _pypi(
        "target-postgres",
        "target",
        "meltanolabs-target-postgres",
        "PostgreSQL (MeltanoLabs)",
        "meltanolabs-target-postgres 0.8.1 installed, target-postgres --about ran, 2026-12-07",
        *_SDK,
        "validate-records",
        "activate-version",
        "target-schema",
        "hard-delete",
    ),
    _pypi(
        "target-csv",
        "target",
        "meltanolabs-target-csv",
        "CSV files, one per stream (MeltanoLabs)",
        "meltanolabs-target-csv 0.5.0 installed, target-csv --about ran, 2026-12-07",
        *_SDK,
        "validate-records",
    ),
    _pypi(
        "meltano-map-transformer",
        "mapper",
        "meltano-map-transform",
        "Stream maps: rename, filter, hash properties",
        "meltano-map-transform 0.12.3 installed, meltano-map-transform --about ran, 2026-12-07",
        *_SDK,
        executable="meltano-map-transform",
    ),
)
"""The built-in catalog."""


def known(name: str) -> CatalogEntry | None:
    """The catalog entry called ``name``, or None."""
    return next((entry for entry in KNOWN if entry.name == name), None)


def workspace_dir(entry: CatalogEntry) -> Path | None:
    """The plugin directory a workspace entry installs from, when this plugin runs from a FLEXT checkout.

    The singer plugin of a checkout lives in ``<checkout>/plugins/singer/src/flext_plugin_singer``
    (an editable install, as the README's quick start makes): the entry's plugin is then
    ``<checkout>/plugins/<plugin>``, if its ``pyproject.toml`` names the entry's distribution.
    Installed from a wheel there is no checkout, and None.
    """
    if entry.origin != "workspace" or entry.spec.plugin is None:
        return None
    directory = Path(__file__).resolve().parents[3] / entry.spec.plugin
    try:
        project = (directory / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return directory if f'name = "{entry.package}"' in project else None
