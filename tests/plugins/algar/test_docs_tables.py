"""docs/algar.md says what the code does: every mapped class, dropped attribute and phase is on the page."""

from __future__ import annotations

import re
from pathlib import Path

from flext_plugin_algar.phases import OUD_SCHEMES, PHASES
from flext_plugin_algar.schema_map import CLASSES_MAPPED, OPERATIONAL, PHASE

PAGE = (Path(__file__).parents[3] / "docs/algar.md").read_text(encoding="utf-8")
NAMES = {name.lower() for name in re.findall(r"`\{?([A-Za-z][A-Za-z0-9-]*)\}?`", PAGE)}


def test_every_mapped_class_and_dropped_attribute_is_documented() -> None:
    assert set(CLASSES_MAPPED) - NAMES == set()
    assert {target.lower() for target in CLASSES_MAPPED.values() if target} - NAMES == set()
    assert set(OPERATIONAL) - NAMES == set()
    assert set(PHASE) - NAMES == set()


def test_every_phase_and_the_main_password_schemes_are_documented() -> None:
    assert set(PHASES) <= set(re.findall(r"^\| (\w+) \|", PAGE, re.M))
    assert {"ssha", "ssha512", "sha", "crypt", "md4"} <= NAMES
    assert {scheme.lower() for scheme in OUD_SCHEMES} & NAMES >= {"ssha", "ssha512", "sha", "crypt"}
