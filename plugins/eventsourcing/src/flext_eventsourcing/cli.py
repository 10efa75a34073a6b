"""What a plugin's command needs to work on the event store a user named with ``--store``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flext_eventsourcing.stores import STORE_HINT, EventStores
from flext_kernel.cli.session import boot_kernel, fail
from flext_kernel.errors import NOT_FOUND
from flext_kernel.result import FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing.eventstore import FlextEventStore
    from flext_kernel.kernel import FlextKernel

__all__ = ["STORE_HINT", "opened_store", "stores_of"]

_DISABLED_HINT = "enable it with: flext plugin enable eventsourcing"
"""How to turn event sourcing back on."""


def stores_of(kernel: FlextKernel) -> FlextResult[EventStores]:
    """The kernel's ``EventStores``, or a failure naming the ``eventsourcing`` plugin when it is off."""
    found = kernel.container.get(EventStores)
    if found.is_success:
        return found
    record = kernel.plugins.records.get("eventsourcing")
    state = "not installed" if record is None else (record.reason or record.state.value)
    return FlextResult.fail(
        f"event sourcing is unavailable: plugin 'eventsourcing' is {state} ({_DISABLED_HINT})",
        error_code=NOT_FOUND,
        error_data={"plugin": "eventsourcing"},
    )


@contextmanager
def opened_store(store: str | None) -> Iterator[tuple[FlextKernel, FlextEventStore] | int]:
    """Boot the kernel and open the event store at ``store``; yield both, or the exit code of a failure.

    ``store`` is a command's ``--store`` (None: ``$FLEXT_EVENTSTORE_URL``,
    else the default). Both are closed when the block ends.
    """
    booted = boot_kernel()
    if booted.is_failure:
        yield fail(booted)
        return
    with booted.value as kernel:
        opened = stores_of(kernel).flat_map(lambda stores: stores.open_event_store(store))
        if opened.is_failure:
            yield fail(opened, hint=STORE_HINT)
            return
        try:
            yield kernel, opened.value
        finally:
            opened.value.close()
