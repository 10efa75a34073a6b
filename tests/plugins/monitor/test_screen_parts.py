"""The dashboard's pure parts: keys read from one terminal read, sparklines, webhook URLs shown."""

from __future__ import annotations

from flext_plugin_monitor.dashboard import sparkline
from flext_plugin_monitor.dashboard_cli import split_keys
from flext_plugin_monitor.notifiers import redacted_url
from hypothesis import given
from hypothesis import strategies as st


def test_keys_typed_together_are_all_kept_and_an_arrow_is_one_escape() -> None:
    assert split_keys("/alp\r") == ["/", "a", "l", "p", "\r"]
    assert split_keys("\x1b[Aq") == ["\x1b", "q"]
    assert split_keys("\x1b") == ["\x1b"]
    assert split_keys("j\x1bOBk") == ["j", "\x1b", "k"]


def test_a_sparkline_scales_to_its_maximum() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 50, 100]) == "▁▄█"
    assert sparkline([5.0] * 30, width=10) == "█" * 10


@given(st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False), max_size=60))
def test_a_sparkline_is_never_wider_than_asked(values: list[float]) -> None:
    assert len(sparkline(values, width=20)) == min(20, len(values))


def test_a_webhook_url_is_shown_without_its_token() -> None:
    assert redacted_url("https://hooks.example.com/services/T0/B1/s3cret") == "https://hooks.example.com/***"
    assert redacted_url("http://user:pw@127.0.0.1:8080/x?token=s3cret") == "http://127.0.0.1:8080/***"
    assert redacted_url("https://hooks.example.com/") == "https://hooks.example.com/"


@given(st.text(max_size=80))
def test_no_path_query_or_password_survives_redaction(tail: str) -> None:
    shown = redacted_url(f"https://u:pw@example.com/{tail}")
    assert "pw" not in shown.replace("example.com", "")
    assert shown.endswith(("/***", "***"))
