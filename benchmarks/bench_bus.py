"""The command and event buses against a direct handler call and against mediatr.

Targets (bus issue): command dispatch with no behaviour at most 3x a direct
call of the handler; with three behaviours at most 8x. The three behaviours
are trivial pass-throughs (the cost of the pipeline itself); the shipped
Validation+Logging+Timing stack (logger below its level, as in production)
is held to the same 8x. mediatr (informational peer), a LoggingBehavior that
emits, and event publish to one and three subscribers are reported too.

No ``from __future__ import annotations`` here: mediatr reads the request
type from the handler's annotation object.
"""

import json
import logging
from dataclasses import asdict

import mediatr.mediator
from _timing import Row, ns_per_op
from mediatr import Mediator

from flext_kernel.behaviors import LoggingBehavior, TimingBehavior, ValidationBehavior
from flext_kernel.bus import FlextCommandBus, FlextEventBus, Next
from flext_kernel.messages import FlextCommand, FlextDomainEvent
from flext_kernel.result import FlextResult


class CreateUser(FlextCommand):
    name: str
    age: int


class MediatrCreateUser(FlextCommand):
    """A separate class: mediatr's registry is global and keyed by the class."""

    name: str
    age: int


class UserCreated(FlextDomainEvent):
    name: str


def handle_create_user(command: CreateUser) -> FlextResult[str]:
    return FlextResult.ok(command.name)


def mediatr_handle_create_user(request: MediatrCreateUser) -> FlextResult[str]:
    return FlextResult.ok(request.name)


class PassThrough:
    def handle(self, message: object, next: Next) -> FlextResult[object]:
        return next(message)


def mediatr_pass_through(request: MediatrCreateUser, next):
    return next()


def _command_rows(command: CreateUser, direct: float) -> list[Row]:
    plain = FlextCommandBus()
    plain.register(CreateUser, handle_create_user)
    piped = FlextCommandBus()
    piped.register(CreateUser, handle_create_user)
    for _ in range(3):
        piped.use(PassThrough())
    shipped = FlextCommandBus()
    shipped.register(CreateUser, handle_create_user)
    # LoggingBehavior at the default root level (WARNING): logs nothing, as in
    # production where bus records are INFO; the logged case is a row below.
    shipped.use(ValidationBehavior())
    shipped.use(LoggingBehavior())
    shipped.use(TimingBehavior())
    logged = FlextCommandBus()
    logged.register(CreateUser, handle_create_user)
    quiet = logging.getLogger("bench.bus.logged")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    quiet.setLevel(logging.INFO)
    logged.use(LoggingBehavior(quiet))
    fast_rows = [
        ("FlextCommandBus.dispatch", plain, 3.0, []),
        ("dispatch + 3 pass-through behaviours", piped, 8.0, []),
        (
            "dispatch + Validation+Logging+Timing",
            shipped,
            8.0,
            ["shipped stack; ValidationBehavior re-validates the model with pydantic; logging below INFO"],
        ),
        (
            "dispatch + LoggingBehavior (emitting)",
            logged,
            None,
            ["one INFO record per dispatch, NullHandler"],
        ),
    ]
    rows = []
    for name, bus, target, notes in fast_rows:
        assert bus.dispatch(command).value == "ada"
        rows.append(
            Row(
                "bus",
                name,
                ns_per_op(lambda b=bus: b.dispatch(command)),
                "direct handler call",
                direct,
                target,
                notes,
            )
        )
    return rows


def _mediatr_rows(direct: float) -> list[Row]:
    request = MediatrCreateUser(name="ada", age=36)
    # mediatr's registries are module globals: start clean if run() runs twice.
    mediatr.mediator.__behaviors__.pop(MediatrCreateUser, None)
    Mediator.register_handler(mediatr_handle_create_user)
    mediator = Mediator()
    assert mediator.send(request).value == "ada"
    rows = [
        Row(
            "bus",
            "mediatr Mediator.send",
            ns_per_op(lambda: mediator.send(request)),
            "direct handler call",
            direct,
        )
    ]
    for _ in range(3):
        # mediatr keeps one entry per distinct behaviour object: three functions.
        Mediator.register_behavior(_copy_function(mediatr_pass_through))
    assert mediator.send(request).value == "ada"
    ns = ns_per_op(lambda: mediator.send(request))
    rows.append(Row("bus", "mediatr send + 3 pass-through behaviours", ns, "direct handler call", direct))
    return rows


def _copy_function(fn):
    def copy(request: MediatrCreateUser, next):
        return fn(request, next)

    return copy


def _event_rows() -> list[Row]:
    event = UserCreated(aggregate_id="u-1", name="ada")
    one = FlextEventBus()
    only = _copy_subscriber()
    one.subscribe(UserCreated, only)
    three = FlextEventBus()
    first, second, third = _copy_subscriber(), _copy_subscriber(), _copy_subscriber()
    for subscriber in (first, second, third):
        three.subscribe(UserCreated, subscriber)
    assert one.publish(event).is_success
    assert three.publish(event).is_success
    direct_one = ns_per_op(lambda: only(event))
    direct_three = ns_per_op(lambda: (first(event), second(event), third(event)))
    return [
        Row(
            "bus",
            "FlextEventBus.publish (1 subscriber)",
            ns_per_op(lambda: one.publish(event)),
            "direct subscriber call",
            direct_one,
        ),
        Row(
            "bus",
            "FlextEventBus.publish (3 subscribers)",
            ns_per_op(lambda: three.publish(event)),
            "3 direct subscriber calls",
            direct_three,
        ),
    ]


def _copy_subscriber():
    # A fresh function each time: subscribing the same function twice is refused.
    def subscriber(event: UserCreated) -> FlextResult[None]:
        return FlextResult.ok(None)

    return subscriber


def run() -> list[Row]:
    """Measure dispatch with and without behaviours, mediatr, and event publish."""
    command = CreateUser(name="ada", age=36)
    direct = ns_per_op(lambda: handle_create_user(command))
    rows = _command_rows(command, direct)
    peers = _mediatr_rows(direct)
    rows[0].notes.append(f"faster than mediatr: {rows[0].ns < peers[0].ns}")
    rows[1].notes.append(f"faster than mediatr with 3 behaviours: {rows[1].ns < peers[1].ns}")
    return rows + peers + _event_rows()


if __name__ == "__main__":
    print(json.dumps([asdict(row) | {"ratio": row.ratio, "met": row.met} for row in run()], indent=2))
