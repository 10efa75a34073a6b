"""A tour of the FLEXT kernel: a small directory service wired the way plugins wire theirs.

Run it with ``python docs/examples/kernel_tour.py``. It prints what happens at
each step and exits non-zero if anything does not behave as described, so the
test suite runs it too (tests/docs/test_examples.py).

The "directory" here is a dict; in FLEXT it would be an LDAP server behind a
plugin. What the tour shows is the kernel around it: the container builds the
service graph, the command bus validates and handles a rename, the event bus
tells every interested party, and the query bus serves reads from a cache that
the rename invalidates.
"""

from __future__ import annotations

import sys

from pydantic import Field

from flext_kernel import (
    FlextCommand,
    FlextCommandBus,
    FlextContainer,
    FlextDomainEvent,
    FlextEventBus,
    FlextQuery,
    FlextQueryBus,
    FlextResult,
    QueryCachingBehavior,
    TimingBehavior,
    ValidationBehavior,
    command_handler,
    event_handler,
    query_handler,
    register_handlers,
    to_json,
)

# Messages: the typed contracts between plugins.


class RenameEntry(FlextCommand):
    """Give a directory entry a new common name."""

    uid: str
    cn: str = Field(min_length=1)


class GetEntry(FlextQuery):
    """Read one entry's common name."""

    uid: str


class EntryRenamed(FlextDomainEvent):
    """An entry's common name changed."""

    old_cn: str
    new_cn: str


# Services: what a plugin would register in the container.


class Directory:
    """The data, standing in for an LDAP server."""

    def __init__(self) -> None:
        self.entries = {"ada": "Ada Lovelace", "alan": "Alan Turing"}
        self.reads = 0


class AuditLog:
    """Where events end up; a plugin would write them to the event store."""

    def __init__(self) -> None:
        self.lines: list[str] = []


class DirectoryService:
    """The plugin's handlers; the container builds it from its annotations."""

    def __init__(self, directory: Directory, events: FlextEventBus) -> None:
        self.directory = directory
        self.events = events

    @command_handler
    def rename(self, command: RenameEntry) -> FlextResult[str]:
        """Rename, then tell the event bus; the event's failures become the command's."""
        old = self.directory.entries.get(command.uid)
        if old is None:
            return FlextResult.fail(f"no entry uid={command.uid}", error_code="NOT_FOUND")
        self.directory.entries[command.uid] = command.cn
        event = EntryRenamed(aggregate_id=command.uid, old_cn=old, new_cn=command.cn)
        return self.events.publish(event).map(lambda _: command.cn)

    @query_handler
    def get(self, query: GetEntry) -> FlextResult[str]:
        """Read one entry; counts reads so the tour can show the cache at work."""
        self.directory.reads += 1
        cn = self.directory.entries.get(query.uid)
        return FlextResult.ok(cn) if cn is not None else FlextResult.fail("no entry", error_code="NOT_FOUND")


class AuditSubscriber:
    """A second 'plugin' that only listens."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    @event_handler
    def on_renamed(self, event: EntryRenamed) -> None:
        """Keep one line per rename."""
        self.log.lines.append(f"{event.aggregate_id}: {event.old_cn!r} -> {event.new_cn!r}")


def not_reserved(command: RenameEntry) -> FlextResult[None]:
    """Refuse reserved names; ValidationBehavior runs this before the handler."""
    if command.cn.lower() == "root":
        return FlextResult.fail("cn 'root' is reserved", error_code="VALIDATION_ERROR")
    return FlextResult.ok(None)


def build() -> tuple[FlextContainer, FlextCommandBus, FlextQueryBus, TimingBehavior]:
    """Wire everything as the plugin manager will: services first, then handlers."""
    container = FlextContainer()
    commands, queries, events = FlextCommandBus(), FlextQueryBus(), FlextEventBus()
    container.register(FlextEventBus, events)
    container.register_singleton(Directory, owner="directory")
    container.register_singleton(AuditLog, owner="audit")
    container.register_singleton(DirectoryService, owner="directory")
    container.register_singleton(AuditSubscriber, owner="audit")
    container.validate().unwrap()  # any missing service or cycle would stop us here

    timing = TimingBehavior()
    cache = QueryCachingBehavior(ttl=60.0, invalidated_by=[RenameEntry])
    commands.use(ValidationBehavior({RenameEntry: not_reserved}))
    commands.use(timing)
    commands.use(cache.invalidator)
    queries.use(cache)

    for service, owner in ((DirectoryService, "directory"), (AuditSubscriber, "audit")):
        register_handlers(
            [container.resolve(service)],
            command_bus=commands,
            query_bus=queries,
            event_bus=events,
            owner=owner,
        )
    return container, commands, queries, timing


def main() -> int:
    """Run the tour; return 0 when every step behaved as the docs say."""
    container, commands, queries, timing = build()
    directory = container.resolve(Directory)
    audit = container.resolve(AuditLog)
    checks: list[tuple[str, bool]] = []

    def step(title: str, result: FlextResult[object], ok: bool) -> None:
        shown = (
            f"ok {result.value!r}" if result.is_success else f"failed: {result.error} ({result.error_code})"
        )
        print(f"{title:<44} {shown}")
        checks.append((title, ok))

    first = queries.execute(GetEntry(uid="ada"))
    again = queries.execute(GetEntry(uid="ada"))
    step("query GetEntry(ada)", first, first.value == "Ada Lovelace")
    step("same query again (served from the cache)", again, directory.reads == 1)

    renamed = commands.dispatch(RenameEntry(uid="ada", cn="Ada King"))
    step("command RenameEntry(ada -> Ada King)", renamed, renamed.is_success)
    fresh = queries.execute(GetEntry(uid="ada"))
    step("query after the rename (cache invalidated)", fresh, fresh.value == "Ada King")

    reserved = commands.dispatch(RenameEntry(uid="alan", cn="root"))
    step("command RenameEntry(alan -> root)", reserved, reserved.error_code == "VALIDATION_ERROR")
    missing = commands.dispatch(RenameEntry(uid="bob", cn="Bob"))
    step("command RenameEntry(bob -> Bob)", missing, missing.error_code == "NOT_FOUND")

    print(f"\naudit log (event subscriber): {audit.lines}")
    checks.append(("one audit line", audit.lines == ["ada: 'Ada Lovelace' -> 'Ada King'"]))
    print(f"a command on the wire (JSON envelope): {to_json(RenameEntry(uid='ada', cn='Ada King'))}")
    print(f"command timings: { {name: int(s['count']) for name, s in timing.stats().items()} } dispatches")
    container.close()

    failed = [title for title, ok in checks if not ok]
    if failed:
        print(f"\nerror: these steps did not behave as documented: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("\nkernel tour: every step behaved as documented")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
