"""``flext data taps|targets|mappers list|add`` through the real CLI."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def _listed(flext_cli, kind: str, *options: str) -> dict[str, dict]:
    result = flext_cli("--json", "data", kind, "list", *options)
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in result.json()["data"]}


def test_lists_show_first_party_connectors_installed_and_the_catalog_available(flext_cli):
    taps = _listed(flext_cli, "taps")
    assert taps["tap-ldif"]["status"] == "installed"
    assert taps["tap-ldif"]["version"]
    assert {"discover", "state"} <= set(taps["tap-ldif"]["capabilities"])
    for family_tap in ("tap-ldap", "tap-oracle", "tap-oracle-wms", "tap-oracle-oic"):
        assert (taps[family_tap]["status"], taps[family_tap]["family"]) == ("available", "flext")
    targets = _listed(flext_cli, "targets")
    assert targets["target-sqlite"]["status"] == "installed"
    assert {"target-ldap", "target-oracle", "target-jsonl", "target-postgres"} <= set(targets)
    assert all(
        row["status"] == "installed" for row in _listed(flext_cli, "targets", "--no-available").values()
    )
    assert "meltano-map-transformer" in _listed(flext_cli, "mappers")


def test_add_installs_from_the_catalog_and_refuses_what_it_cannot(flext_cli):
    added = flext_cli("--json", "data", "targets", "add", "target-jsonl")
    assert added.exit_code == 0, added.stderr
    assert added.json()["data"]["status"] == "installed"
    assert _listed(flext_cli, "targets", "--no-available")["target-jsonl"]["version"] == "0.1.4"

    first_party = flext_cli("data", "taps", "add", "tap-ldif")
    assert first_party.exit_code == 0
    assert "nothing to install" in first_party.stdout

    wrong_kind = flext_cli("data", "targets", "add", "tap-ldif")
    assert wrong_kind.exit_code != 0
    assert wrong_kind.stderr.splitlines() == ["error: tap-ldif is a tap, not a target (VALIDATION_ERROR)"]

    unknown = flext_cli("data", "targets", "add", "target-nope")
    assert unknown.exit_code != 0
    assert unknown.stderr.splitlines() == [
        "error: 'target-nope' is not in flext's catalog (NOT_FOUND)",
        "hint: give what to install: flext data targets add target-nope --pip-url PACKAGE",
    ]

    broken = flext_cli("data", "taps", "add", "tap-nope", "--pip-url", "flext-no-such-distribution-xyz")
    assert broken.exit_code != 0
    assert broken.stderr.startswith("installing tap-nope")
    assert "error: could not install tap-nope" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert "tap-nope" not in _listed(flext_cli, "taps")
