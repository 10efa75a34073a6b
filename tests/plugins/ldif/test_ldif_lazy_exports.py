"""The package front re-exports lazily: booting the kernel imports flext_plugin_ldif, not its parser."""

from __future__ import annotations

import subprocess
import sys

import flext_plugin_ldif


def test_importing_the_package_and_its_plugin_module_leaves_the_parser_unimported() -> None:
    code = (
        "import sys, flext_plugin_ldif, flext_plugin_ldif.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('flext_plugin_ldif.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['flext_plugin_ldif.plugin']"


def test_every_exported_name_resolves() -> None:
    for name in flext_plugin_ldif.__all__:
        assert getattr(flext_plugin_ldif, name) is not None
    assert sorted(dir(flext_plugin_ldif)) == sorted(flext_plugin_ldif.__all__)
