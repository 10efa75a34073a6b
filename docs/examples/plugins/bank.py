"""An event-sourced FLEXT plugin in one file: an aggregate, its events, an upcaster, a projection, commands.

Try it from a checkout (``tests/docs/test_bank_plugin.py`` runs exactly this)::

    flext --plugins-dir docs/examples/plugins bank open acc-1 --owner Ada
    flext --plugins-dir docs/examples/plugins bank deposit acc-1 100
    flext --plugins-dir docs/examples/plugins bank withdraw acc-1 30
    flext events show acc-1                        # what the plugin wrote
    flext --plugins-dir docs/examples/plugins projections run
    flext --plugins-dir docs/examples/plugins bank balances

What each part shows:

* ``Account`` is a ``FlextAggregateRoot``: commands check rules and raise
  events, ``@when`` methods apply them. ``AggregateRepository`` saves and loads
  it through the event store the kernel opened (``FlextEventStore`` in the
  container: ``--store``-less, so ``$FLEXT_EVENTSTORE_URL`` or the default file).
* ``Deposited`` is at schema version 2 (it gained ``channel``); the upcaster
  brings version-1 events, written by older code, up to date on read.
* ``Balances`` is a projection: a document per account, kept by
  ``flext projections run`` exactly once per event; bump ``version`` after
  changing it and the next run rebuilds it beside the live one.
* The commands go through the command bus, so the same handlers serve the
  CLI, a service, or a test.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from flext_eventsourcing import AppendResult
from flext_sdk import (
    AggregateRepository,
    CommandEntry,
    FlextAggregateRoot,
    FlextCommand,
    FlextCommandBus,
    FlextContainer,
    FlextDomainEvent,
    FlextEventStore,
    FlextProjection,
    FlextResult,
    PluginManifest,
    Projection,
    ReadModel,
    RecordedEvent,
    hookimpl,
    when,
)

manifest = PluginManifest(
    name="bank",
    version="1.0.0",
    description="Example: event-sourced bank accounts with a balances projection",
    requires=("eventsourcing",),
    commands=(
        CommandEntry(path=("bank", "open"), target="bank:open_account", help="Open an account."),
        CommandEntry(path=("bank", "deposit"), target="bank:deposit", help="Pay money in."),
        CommandEntry(path=("bank", "withdraw"), target="bank:withdraw", help="Take money out."),
        CommandEntry(
            path=("bank", "balances"), target="bank:balances", help="Balances, from the projection."
        ),
    ),
)


# Events: the facts, named in the past tense. message_type is the stable stored name.


class Opened(FlextDomainEvent):
    message_type: ClassVar[str | None] = "bank.Opened"
    owner: str


class Deposited(FlextDomainEvent):
    message_type: ClassVar[str | None] = "bank.Deposited"
    schema_version: ClassVar[int] = 2
    amount: int
    channel: str = "branch"  # new in version 2


class Withdrawn(FlextDomainEvent):
    message_type: ClassVar[str | None] = "bank.Withdrawn"
    amount: int


def deposited_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 deposits were all made at a branch."""
    return {**payload, "channel": "branch"}


# The aggregate: rules in command methods, state changes only in @when methods.


class Account(FlextAggregateRoot):
    owner: str = ""
    balance: int = 0

    @classmethod
    def open(cls, account_id: str, owner: str) -> Account:
        account = cls(id=account_id)
        account.raise_event(Opened, owner=owner)
        return account

    def deposit(self, amount: int, channel: str) -> None:
        if amount <= 0:
            raise ValueError(f"deposit a positive amount, not {amount}")
        self.raise_event(Deposited, amount=amount, channel=channel)

    def withdraw(self, amount: int) -> None:
        if amount > self.balance:
            raise ValueError(f"cannot withdraw {amount}: the balance is {self.balance}")
        self.raise_event(Withdrawn, amount=amount)

    @when(Opened)
    def _opened(self, event: Opened) -> None:
        self.owner = event.owner

    @when(Deposited)
    def _deposited(self, event: Deposited) -> None:
        self.balance += event.amount

    @when(Withdrawn)
    def _withdrawn(self, event: Withdrawn) -> None:
        self.balance -= event.amount


# The projection: one document per account, for reading without replaying streams.


class Balances(Projection):
    name = "bank-balances"
    version = 1

    @when(Opened)
    def _opened(self, event: RecordedEvent, model: ReadModel) -> None:
        assert isinstance(event.event, Opened)
        model.put(event.stream_id, {"owner": event.event.owner, "balance": 0})

    @when(Deposited, Withdrawn)
    def _moved(self, event: RecordedEvent, model: ReadModel) -> None:
        assert isinstance(event.event, Deposited | Withdrawn)
        sign = 1 if isinstance(event.event, Deposited) else -1
        account = model.get(event.stream_id) or {"owner": "?", "balance": 0}
        model.put(event.stream_id, {**account, "balance": account["balance"] + sign * event.event.amount})


# Commands and their handlers.


class OpenAccount(FlextCommand):
    account_id: str
    owner: str


class Deposit(FlextCommand):
    account_id: str
    amount: int
    channel: str = "cli"


class Withdraw(FlextCommand):
    account_id: str
    amount: int


class AccountHandlers:
    """The handlers, holding the repository they save through."""

    def __init__(self, container: FlextContainer) -> None:
        self._container = container
        self._repository: AggregateRepository | None = None

    def _accounts(self) -> AggregateRepository:
        # The store is opened on first use (a command that never saves never opens it), and its
        # codec learns our classes and upcaster once.
        if self._repository is None:
            store = self._container.resolve(FlextEventStore)  # type: ignore[type-abstract]
            store.codec.register_aggregate(Account, owner="bank")
            store.codec.upcasters.add("bank.Deposited", 1, deposited_v1_to_v2, owner="bank")
            self._repository = AggregateRepository(store)
        return self._repository

    def open(self, command: OpenAccount) -> FlextResult[AppendResult]:
        return self._accounts().save(Account.open(command.account_id, command.owner))

    def deposit(self, command: Deposit) -> FlextResult[AppendResult]:
        return self._change(
            command.account_id, lambda account: account.deposit(command.amount, command.channel)
        )

    def withdraw(self, command: Withdraw) -> FlextResult[AppendResult]:
        return self._change(command.account_id, lambda account: account.withdraw(command.amount))

    def _change(self, account_id: str, change: Any) -> FlextResult[AppendResult]:
        accounts = self._accounts()
        loaded = accounts.load(Account, account_id)
        if loaded.is_failure:
            return loaded  # type: ignore[return-value]
        try:
            change(loaded.value)
        except ValueError as exc:  # a broken business rule is an expected failure, not a bug
            return FlextResult.fail(str(exc), error_code="VALIDATION_ERROR")
        return accounts.save(loaded.value)


# Hooks.

_container: FlextContainer | None = None


@hookimpl
def flext_register_services(container: FlextContainer) -> None:
    global _container
    _container = container


@hookimpl
def flext_register_handlers(command_bus: FlextCommandBus) -> None:
    assert _container is not None
    handlers = AccountHandlers(_container)
    command_bus.register(OpenAccount, handlers.open, owner="bank")
    command_bus.register(Deposit, handlers.deposit, owner="bank")
    command_bus.register(Withdraw, handlers.withdraw, owner="bank")


@hookimpl
def flext_projections() -> list[FlextProjection]:
    return [Balances()]


# CLI commands (imported only when they run).


def _dispatch(command: FlextCommand) -> int:
    from flext_sdk.cli import boot_kernel, emit, fail

    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        result = kernel.command_bus.dispatch(command)
    if result.is_failure:
        return fail(result)
    appended = result.value
    return emit(
        {"stream": appended.stream_id, "version": appended.version},
        human=f"{type(command).__name__}: {appended.stream_id} is at version {appended.version}",
    )


def open_account(account_id: str, *, owner: str) -> int:
    """Open an account.

    Args:
        account_id: The new account's id (its event stream).
        owner: Who holds it.

    """
    return _dispatch(OpenAccount(account_id=account_id, owner=owner))


def deposit(account_id: str, amount: int) -> int:
    """Pay money in.

    Args:
        account_id: The account.
        amount: How much (positive).

    """
    return _dispatch(Deposit(account_id=account_id, amount=amount))


def withdraw(account_id: str, amount: int) -> int:
    """Take money out (never more than the balance).

    Args:
        account_id: The account.
        amount: How much.

    """
    return _dispatch(Withdraw(account_id=account_id, amount=amount))


def balances(*, store: str | None = None) -> int:
    """Balances as the bank-balances projection last saw them (run flext projections run first).

    Args:
        store: The event store; default $FLEXT_EVENTSTORE_URL or the embedded file.

    """
    from flext_eventsourcing import stores_of
    from flext_sdk.cli import boot_kernel, emit_table, fail

    booted = boot_kernel()
    if booted.is_failure:
        return fail(booted)
    with booted.value as kernel:
        opened = stores_of(kernel).flat_map(lambda stores: stores.open_projection_store(store))
        if opened.is_failure:
            return fail(opened)
        with opened.value as projections:
            rows = [{"account": key, **document} for key, document in projections.documents("bank-balances")]
    if not rows:
        print("no balances yet: run flext projections run", file=sys.stderr)
    return emit_table(rows, ["account", "owner", "balance"], title="Balances")
