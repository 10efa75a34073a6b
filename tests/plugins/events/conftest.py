"""A local plugin whose projection handles ``contract.Deposited``, for the events plugin's tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TOTALS_PLUGIN = textwrap.dedent(
    '''
    """A local plugin whose projection handles contract.Deposited (flext_sdk.testing.projections.Totals)."""
    from flext_sdk import PluginManifest, hookimpl
    from flext_sdk.testing.projections import Totals

    manifest = PluginManifest(
        name="totals", version="1.0.0", description="Totals of deposits", requires=("eventsourcing",)
    )


    @hookimpl
    def flext_projections():
        return [Totals()]
    '''
)


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    """A plugins directory holding the ``totals`` plugin (pass it as ``plugin_dirs``)."""
    directory = tmp_path / "plugins"
    directory.mkdir()
    (directory / "totals.py").write_text(TOTALS_PLUGIN)
    return directory
