"""The SDK re-exports the kernel's objects themselves, not copies."""

from __future__ import annotations

import flext_kernel
import flext_sdk


def test_sdk_names_are_the_kernel_objects() -> None:
    for name in flext_sdk.__all__:
        assert getattr(flext_sdk, name) is getattr(flext_kernel, name), name


def test_sdk_surface_is_pinned() -> None:
    assert set(flext_sdk.__all__) == {
        "Failure",
        "FlextCommand",
        "FlextDomainEvent",
        "FlextQuery",
        "FlextResult",
        "Success",
        "command_handler",
        "event_handler",
        "query_handler",
        "safe",
    }
