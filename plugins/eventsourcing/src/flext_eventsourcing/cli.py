"""What a plugin's command needs to work on the event store a user named with ``--store``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flext_eventsourcing.errors import NOT_A_FLEXT_STORE
from flext_eventsourcing.plugin import NAME
from flext_eventsourcing.stores import STORE_HINT, EventStores
from flext_kernel.cli.output import EXIT_USAGE, emit_error
from flext_kernel.cli.session import boot_kernel, fail
from flext_kernel.errors import NOT_FOUND, PLUGIN_DISABLED, PLUGIN_LOAD_FAILED
from flext_kernel.plugins.base import PluginState
from flext_kernel.plugins.state import enable_hint
from flext_kernel.result import Failure, FlextResult

if TYPE_CHECKING:
    from flext_eventsourcing.eventstore import FlextEventStore
    from flext_kernel.kernel import FlextKernel

__all__ = ["STORE_HINT", "opened_store", "stores_of"]


def stores_of(kernel: FlextKernel) -> FlextResult[EventStores]:
    """The kernel's ``EventStores``, or a failure naming the ``eventsourcing`` plugin when it is not running.

    The codes are those of every "a plugin this needs is off" failure:
    ``PLUGIN_DISABLED``, ``NOT_FOUND`` (not installed), ``PLUGIN_LOAD_FAILED``;
    ``error_data["hint"]`` says what to do.
    """
    found = kernel.container.get(EventStores)
    if found.is_success:
        return found
    record = kernel.plugins.records.get(NAME)
    if record is None:
        state, code, hint = (
            "not installed",
            NOT_FOUND,
            "install it with 'flext plugin install flext-eventsourcing'",
        )
    elif record.state is PluginState.DISABLED:
        state, code, hint = "disabled", PLUGIN_DISABLED, enable_hint(NAME)
    else:
        state, code, hint = (
            f"{record.state.value} ({record.reason})",
            PLUGIN_LOAD_FAILED,
            f"see 'flext plugin info {NAME}'",
        )
    return FlextResult.fail(
        f"event sourcing is unavailable: plugin {NAME!r} is {state}",
        error_code=code,
        error_data={"plugin": NAME, "hint": hint},
    )


@contextmanager
def opened_store(
    store: str | None,
    *,
    create: bool = True,
    read_only: bool = False,
    before_open: Callable[[FlextKernel], int | None] | None = None,
) -> Iterator[tuple[FlextKernel, FlextEventStore] | int]:
    """Boot the kernel and open the event store at ``store``; yield both, or the exit code of a failure.

    ``store`` is a command's ``--store`` (None: ``$FLEXT_EVENTSTORE_URL``,
    else the default). Both are closed when the block ends. A command that
    only reads passes ``create=False``: a store that is not there is then an
    error (``NOT_FOUND`` naming it, with a hint saying how to create one),
    not a new empty store; a command that writes leaves ``create=True``. A
    command that never appends events passes ``read_only=True`` too: the
    store is opened for reading only where the backend can. A location
    holding something FLEXT did not create is ``NOT_A_FLEXT_STORE``, exit
    code 2 (the user named the wrong file), and is left untouched.
    ``before_open`` runs once the kernel is up, before the store is opened
    (or created): an exit code it returns is yielded instead (a command that
    checks its input against what the plugins know, before writing anything).
    """
    booted = boot_kernel()
    if booted.is_failure:
        yield fail(booted)
        return
    with booted.value as kernel:
        stores = stores_of(kernel)
        if isinstance(stores, Failure):
            yield fail(stores, hint=str(stores.error_data["hint"]))
            return
        refused = None if before_open is None else before_open(kernel)
        if refused is not None:
            yield refused
            return
        opened = stores.value.open_event_store(store, create=create, read_only=read_only)
        if opened.is_failure:
            yield _refused(opened)
            return
        try:
            yield kernel, opened.value
        finally:
            opened.value.close()


def _refused(opened: FlextResult[Any]) -> int:
    """Print why a store could not be opened; a foreign file is bad input, as a wrong path is (exit 2)."""
    hint = str(opened.error_data.get("hint", STORE_HINT))
    if opened.error_code == NOT_A_FLEXT_STORE:
        return emit_error(opened.error or "", NOT_A_FLEXT_STORE, hint=hint, exit_code=EXIT_USAGE)
    return fail(opened, hint=hint)
