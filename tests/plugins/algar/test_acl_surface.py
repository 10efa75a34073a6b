"""The public surface of ``flext_plugin_algar.acl`` is pinned, and every (lazy) name resolves."""

from __future__ import annotations

import subprocess
import sys

import flext_plugin_algar.acl as acl

SURFACE = {
    "ATTRIBUTE_RIGHTS",
    "ENTRY_RIGHTS",
    "OUD_DEFAULT_GLOBAL_ACIS",
    "AclKind",
    "AclTranslation",
    "GlobalAci",
    "OidAcl",
    "OidClause",
    "OidSubject",
    "OidTarget",
    "ReportItem",
    "Severity",
    "SubjectKind",
    "bind_rule",
    "global_aci_removals",
    "parse_acl",
    "translate_acl",
    "translate_entries",
}


def test_the_public_names_are_the_pinned_ones_and_resolve() -> None:
    assert set(acl.__all__) == SURFACE
    for name in SURFACE:
        assert getattr(acl, name) is not None, name


def test_loading_the_plugin_does_not_import_the_translator() -> None:
    probe = (
        "import sys, flext_plugin_algar.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('flext_plugin_algar')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "['flext_plugin_algar', 'flext_plugin_algar.plugin']"
