"""Any text as a secret's name or profile: accepted when it is a name, else one line and exit code 2."""

from __future__ import annotations

import re

from flext_plugin_secrets.secret_cli import _checked
from hypothesis import given
from hypothesis import strategies as st

from flext_kernel.errors import USAGE_ERROR, VALIDATION_ERROR
from flext_sdk.contracts.secrets import NAME_PATTERN, PROFILE_PATTERN

NAME = re.compile(NAME_PATTERN)
PROFILE = re.compile(PROFILE_PATTERN)


@given(name=st.text(max_size=200), profile=st.text(max_size=80))
def test_any_name_and_profile(name: str, profile: str) -> None:
    checked = _checked(name, profile or "default", (), command="set")
    valid = NAME.fullmatch(name) is not None and (not profile or PROFILE.fullmatch(profile) is not None)
    assert checked.is_success == valid
    if not valid:
        assert checked.error_code == VALIDATION_ERROR
        assert "\n" not in (checked.error or "")


@given(extra=st.lists(st.text(alphabet="0123456789XYZ#é", min_size=6, max_size=30), min_size=1, max_size=3))
def test_a_value_argument_is_refused_without_quoting_it(extra: list[str]) -> None:
    checked = _checked("NAME", None, tuple(extra), command="set")
    assert checked.error_code == USAGE_ERROR
    for value in extra:
        assert value not in (checked.error or "")
