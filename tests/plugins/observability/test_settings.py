"""The switch and the settings: any value is either understood or refused naming its variable."""

from __future__ import annotations

import pytest
from flext_plugin_observability.settings import load_settings
from flext_plugin_observability.switch import switched_on
from hypothesis import given
from hypothesis import strategies as st

EXPORTERS = ("none", "console", "otlp", "memory")


@given(st.text(max_size=20))
def test_telemetry_is_on_for_any_value_but_unset_empty_or_none(value: str) -> None:
    off = value.strip().lower() in ("", "none")
    assert switched_on({"FLEXT_TELEMETRY_EXPORTER": value}) is not off
    assert switched_on({}) is False


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
)
def test_an_exporter_is_one_of_four_or_a_validation_error_naming_the_variable(value: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLEXT_TELEMETRY_EXPORTER", value)
        loaded = load_settings()
    if value in EXPORTERS:
        assert loaded.value.exporter == value
    else:
        assert loaded.error_code == "VALIDATION_ERROR"
        assert "FLEXT_TELEMETRY_EXPORTER" in (loaded.error or "")


@pytest.mark.parametrize("interval", ["0", "-1", "soon"])
def test_a_metric_interval_must_be_a_positive_number(interval: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXT_TELEMETRY_EXPORTER", "memory")
    monkeypatch.setenv("FLEXT_TELEMETRY_METRIC_INTERVAL", interval)
    loaded = load_settings()
    assert loaded.error_code == "VALIDATION_ERROR"
    assert "FLEXT_TELEMETRY_METRIC_INTERVAL" in (loaded.error or "")
