"""Shared set-up of the SDK tests."""

from __future__ import annotations

import pytest

import flext_sdk


@pytest.fixture(autouse=True, scope="session")
def _kernel_modules_loaded() -> None:
    """Import every kernel module the SDK re-exports before any pytester run.

    ``pytester.inline_run`` restores ``sys.modules`` after each inner run, so a
    kernel module first imported inside one would be imported afresh by the
    next, while ``flext_sdk`` (loaded earlier, with the pytest plugin) keeps
    the classes of the first copy: ``isinstance(manifest, PluginManifest)``
    would then compare two different classes.
    """
    for name in flext_sdk.__all__:
        getattr(flext_sdk, name)
