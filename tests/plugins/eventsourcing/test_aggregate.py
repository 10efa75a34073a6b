"""FlextAggregateRoot: raising and applying events, replay, snapshots of state."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from flext_eventsourcing.aggregate import FlextAggregateRoot, aggregate_type_name, when
from flext_kernel.errors import NO_HANDLER, VALIDATION_ERROR, FlextError
from flext_kernel.messages import FlextDomainEvent


class Opened(FlextDomainEvent):
    owner: str


class Deposited(FlextDomainEvent):
    amount: int


class BigDeposited(Deposited):
    """Handled by the handler of its base class."""


class Closed(FlextDomainEvent):
    pass


class Account(FlextAggregateRoot):
    aggregate_type: ClassVar[str | None] = "bank.Account"
    owner: str = ""
    balance: int = 0
    deposits: list[int] = Field(default_factory=list)

    def deposit(self, amount: int) -> None:
        if amount <= 0:
            raise ValueError("deposit a positive amount")
        self.raise_event(Deposited, amount=amount)

    @when(Opened)
    def _opened(self, event: Opened) -> None:
        self.owner = event.owner

    @when(Deposited)
    def _deposited(self, event: Deposited) -> None:
        if event.amount > 1_000_000:
            raise RuntimeError("the handler refuses")
        self.balance += event.amount
        self.deposits = [*self.deposits, event.amount]


class SavingsAccount(Account):
    aggregate_type: ClassVar[str | None] = None
    interest: int = 0

    @when(Deposited)
    def _deposited_with_interest(self, event: Deposited) -> None:
        self.balance += event.amount
        self.interest += 1


def opened(account_id: str = "a1") -> Account:
    account = Account(id=account_id)
    account.raise_event(Opened, owner="ada")
    return account


def test_raising_fills_stream_fields_applies_and_records() -> None:
    account = opened()
    event = account.raise_event(Deposited, amount=5, correlation_id="req-1")
    assert (event.aggregate_id, event.aggregate_type, event.version) == ("a1", "bank.Account", 2)
    assert event.correlation_id == "req-1"
    assert (account.owner, account.balance, account.version) == ("ada", 5, 2)
    assert [type(e) for e in account.uncommitted_events] == [Opened, Deposited]
    assert account.committed_version == 0


def test_a_built_event_is_placed_in_the_stream() -> None:
    account = opened()
    built = Deposited(aggregate_id="a1", amount=3, aggregate_type="custom", version=99)
    event = account.raise_event(built)
    assert event.event_id == built.event_id
    assert (event.version, event.aggregate_type) == (2, "custom")
    with pytest.raises(FlextError, match="not 'a1'") as raised:
        account.raise_event(Deposited(aggregate_id="other", amount=1))
    assert raised.value.error_code == VALIDATION_ERROR
    with pytest.raises(FlextError, match="not both"):
        account.raise_event(built, amount=4)  # type: ignore[call-overload]
    assert account.version == 2


def test_a_handler_that_raises_records_nothing() -> None:
    account = opened()
    with pytest.raises(RuntimeError, match="refuses"):
        account.raise_event(Deposited, amount=2_000_000)
    assert (account.version, account.balance, len(account.uncommitted_events)) == (1, 0, 1)
    with pytest.raises(ValueError, match="positive"):
        account.deposit(0)
    assert account.version == 1


def test_an_event_without_a_handler_is_a_bug() -> None:
    account = opened()
    with pytest.raises(FlextError, match="no @when method for Closed") as raised:
        account.raise_event(Closed)
    assert raised.value.error_code == NO_HANDLER
    assert account.version == 1


def test_a_subclass_event_uses_its_base_class_handler() -> None:
    account = opened()
    account.raise_event(BigDeposited, amount=7)
    assert account.balance == 7
    assert BigDeposited in Account.handled_event_types()  # the match is cached


def test_subclasses_inherit_and_override_handlers() -> None:
    savings = SavingsAccount(id="s1")
    savings.raise_event(Opened, owner="grace")
    savings.raise_event(Deposited, amount=10)
    assert (savings.owner, savings.balance, savings.interest, savings.deposits) == ("grace", 10, 1, [])
    assert set(Account.handled_event_types()) >= {Opened, Deposited}
    assert aggregate_type_name(SavingsAccount) == f"{__name__}.SavingsAccount"
    assert aggregate_type_name(Account) == "bank.Account"


def test_replay_applies_in_order_and_refuses_gaps() -> None:
    source = opened()
    source.deposit(2)
    source.deposit(3)
    events = source.uncommitted_events
    replayed = Account(id="a1")
    replayed.apply_all(events)
    assert (replayed.balance, replayed.version, replayed.uncommitted_events) == (5, 3, ())
    one_by_one = Account(id="a1")
    one_by_one.apply(events[0])
    with pytest.raises(FlextError, match="at version 1; cannot apply an event with version 3") as raised:
        one_by_one.apply(events[2])
    assert raised.value.error_code == VALIDATION_ERROR
    gappy = Account(id="a1")
    with pytest.raises(FlextError, match="cannot apply an event with version 3"):
        gappy.apply_all([events[0], events[2]])
    assert gappy.version == 1  # what was applied before the gap stays applied


def test_mark_committed_keeps_the_version() -> None:
    account = opened()
    account.deposit(1)
    account.mark_committed()
    assert (account.version, account.committed_version, account.uncommitted_events) == (2, 2, ())


def test_equality_is_class_state_and_version() -> None:
    account, same = opened(), opened()
    same.mark_committed()
    assert account == same  # uncommitted events do not count
    later = Account(id="a1", owner="ada")
    assert later != account  # same state, version 0
    assert SavingsAccount(id="a1") != Account(id="a1")


def test_snapshot_state_round_trips_at_its_version() -> None:
    account = opened()
    account.deposit(4)
    state = account.snapshot_state()
    assert state == {"id": "a1", "owner": "ada", "balance": 4, "deposits": [4]}
    import json

    restored = Account.from_snapshot_state(json.dumps(state), account.version)
    assert (restored, restored.version, restored.uncommitted_events) == (account, 2, ())


def test_ids_may_be_uuids_and_must_not_be_empty() -> None:
    key = uuid.uuid4()
    assert Account(id=key).id == str(key)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1 character"):
        Account(id="")


def test_when_needs_event_classes() -> None:
    with pytest.raises(FlextError, match="FlextDomainEvent subclasses"):
        when()
    with pytest.raises(FlextError, match="FlextDomainEvent subclasses"):
        when(int)  # type: ignore[arg-type]


@given(st.lists(st.integers(1, 1000), max_size=30), st.data())
def test_replay_and_snapshot_plus_tail_rebuild_the_same_state(
    amounts: list[int], data: st.DataObject
) -> None:
    import json

    live = opened()
    for amount in amounts:
        live.deposit(amount)
    events = live.uncommitted_events
    replayed = Account(id="a1")
    replayed.apply_all(events)
    assert replayed == live
    assert replayed.version == live.version == len(amounts) + 1
    cut = data.draw(st.integers(1, len(events)))
    head = Account(id="a1")
    head.apply_all(events[:cut])
    from_snapshot = Account.from_snapshot_state(json.dumps(head.snapshot_state()), head.version)
    from_snapshot.apply_all(events[cut:])
    assert from_snapshot == live
    assert from_snapshot.version == live.version
