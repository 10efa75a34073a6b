"""dbt and a delegated Meltano run never get the secret store's key (FLEXT_SECRET_KEY) in their environment.

The Singer engine's connectors are checked with a real tap in tests/plugins/singer/test_engine.py.
"""

from __future__ import annotations

import pytest
from flext_plugin_dbt.runner import _environment
from flext_plugin_meltano.delegate import meltano_environ


def test_dbt_and_meltano_never_get_the_secret_stores_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXT_SECRET_KEY", "the vault passphrase")
    monkeypatch.setenv("WAREHOUSE_HOST", "db.internal")
    for environment in (_environment({"DBT_TARGET": "dev"}), meltano_environ()):
        assert "FLEXT_SECRET_KEY" not in environment
        assert environment["WAREHOUSE_HOST"] == "db.internal"
