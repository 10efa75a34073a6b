"""The kernel and stores one ``flext events`` / ``flext projections`` command works on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flext_sdk.cli import boot_kernel, fail

if TYPE_CHECKING:
    from flext_kernel.eventstore import FlextEventStore
    from flext_kernel.kernel import FlextKernel

__all__ = ["STORE_HINT", "opened_store"]

STORE_HINT = "pass --store PATH|URL or set FLEXT_EVENTSTORE_URL"
"""What to tell a user whose store could not be opened."""


@contextmanager
def opened_store(store: str | None) -> Iterator[tuple[FlextKernel, FlextEventStore] | int]:
    """Boot the kernel and open the event store at ``store``; yield both, or the exit code of a failure.

    Both are closed when the block ends.
    """
    booted = boot_kernel()
    if booted.is_failure:
        yield fail(booted)
        return
    with booted.value as kernel:
        opened = kernel.open_event_store(store)
        if opened.is_failure:
            yield fail(opened, hint=STORE_HINT)
            return
        try:
            yield kernel, opened.value
        finally:
            opened.value.close()
