"""``sync``: the phase after ``output``, loading ``07-output.ldif`` into the target, idempotently.

The entries are read through the ``ldif`` plugin's ``LdifReader`` and sent in
batches of ``batch_size``. For each batch the target's current entries are
read first (``Directory.read``: a base search per entry); a
missing entry is added, an existing one gets only the modifications that make
it equal the source (``directory.changes``), an equal one nothing. So a
re-run adds nothing twice and changes only what differs, and a sync stopped
anywhere (the target went away, a kill) is finished by running it again.
Nothing is ever deleted.

An entry the server refuses (a schema violation, a missing parent) is an
error item naming the entry, its line, the LDAP result code and the server's
message; the sync goes on. A lost connection ends it with a failure naming
the entry and the batch. ``on_batch`` hears of each batch once the target
holds it (``SyncProgress.position``: entries of the file handled so far), and
``resume_from`` skips that many entries: the run journal resumes with them.

``dry_run`` reads the target the same way and changes nothing: what it would
send is written as LDIF change records (``changetype: add`` / ``modify``) to
``08-sync.dry-run.ldif``, with its own report. docs/algar.md, "Loading and
checking the target", says more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_algar.directory import (
    ENTRY_REFUSALS,
    Change,
    Directory,
    Refusal,
    TargetEntry,
    changes,
    connect,
)
from flext_plugin_algar.errors import LDAP_OPERATION_FAILED
from flext_plugin_algar.ldif_out import format_record
from flext_plugin_algar.oud_sync import MANAGED_OPERATIONAL
from flext_plugin_algar.phases import Migration, phase_paths
from flext_plugin_algar.pipeline import AddAnswer
from flext_plugin_algar.report import PhaseReport
from flext_sdk import FlextResult
from flext_sdk.contracts.ldif import LdifProblem, LdifRecord

__all__ = ["DRY_RUN_FILE", "REPORT_BASE", "Pacer", "SyncProgress", "modify_record", "output_ldif", "run_sync"]

REPORT_BASE: Final = "08-sync"
"""``<output>/08-sync.report.json`` and ``.items.jsonl``: the report of the last sync."""
DRY_RUN_FILE: Final = "08-sync.dry-run.ldif"
"""What a dry run would send, as LDIF change records (its report beside it, ``08-sync.dry-run.*``)."""
_ALREADY_EXISTS: Final = 68


@dataclass(frozen=True)
class SyncProgress:
    """Where a sync is: reported after each batch the target holds."""

    position: int
    """Entries of ``07-output.ldif`` handled and confirmed on the target so far (skipped ones included)."""
    last_dn: str
    """The last entry of the batch."""
    counts: Mapping[str, int]
    """The report's counts so far (``in``, ``added``, ``modified``, ``unchanged``, ``failed``...)."""


def output_ldif(migration: Migration) -> Path:
    """The file sync loads and verify compares: the ``output`` phase's LDIF."""
    _, base = phase_paths(migration, "output")
    return base.with_suffix(".ldif")


def run_sync(
    migration: Migration,
    *,
    dry_run: bool = False,
    resume_from: int = 0,
    on_batch: Callable[[SyncProgress], None] | None = None,
    resumed_counts: Mapping[str, int] | None = None,
) -> FlextResult[dict[str, Any]]:
    """Apply ``07-output.ldif`` to the project's target (see the module docstring); the report's dict.

    The report is ``PhaseReport.finish()``'s, with ``resumed_from``, ``target`` and ``dry_run``. A
    resumed sync passes the killed run's last counts (``resumed_counts``): its report then adds up
    both runs, and keeps the killed run's items (an entry it saw refused is still named).
    """
    source = output_ldif(migration)
    if not source.exists():
        return FlextResult.fail(
            f"{source}: no such file (run 'flext algar migration run' first: sync loads its output)",
            error_code=NOT_FOUND,
            error_data={"file": str(source)},
        )
    if resume_from < 0:
        return FlextResult.fail(f"resume_from {resume_from} is negative", error_code=VALIDATION_ERROR)
    if not dry_run:  # a report left by an earlier sync no longer says what the target holds
        (migration.out / REPORT_BASE).with_suffix(".report.json").unlink(missing_ok=True)
    connected = connect(migration.project)
    if connected.is_failure:
        return FlextResult.fail(connected.error or "", connected.error_code, connected.error_data)
    with connected.value as directory:
        return _sync(migration, directory, source, dry_run, resume_from, on_batch, resumed_counts)


def _sync(
    migration: Migration,
    directory: Directory,
    source: Path,
    dry_run: bool,
    resume_from: int,
    on_batch: Callable[[SyncProgress], None] | None,
    resumed_counts: Mapping[str, int] | None = None,
) -> FlextResult[dict[str, Any]]:
    out = migration.out
    # with_suffix replaces the last suffix only: ".ldif" here keeps "08-sync.dry-run.report.json" together
    base = out / DRY_RUN_FILE if dry_run else out / REPORT_BASE
    if not dry_run:  # a report left by an earlier sync no longer says what the target holds
        base.with_suffix(".report.json").unlink(missing_ok=True)
    with ExitStack() as stack:
        resume = resumed_counts if resume_from and not dry_run else None
        report = stack.enter_context(
            PhaseReport(
                "sync", base, source=source, output=out / DRY_RUN_FILE if dry_run else source, resume=resume
            )
        )
        report.summary.update(target=directory.url, dry_run=dry_run, resumed_from=resume_from)
        changes_out: IO[str] | None = None
        if dry_run:
            partial = (out / DRY_RUN_FILE).with_suffix(".ldif.partial")
            changes_out = stack.enter_context(partial.open("w", encoding="utf-8", newline="\n"))
            changes_out.write("version: 1\n\n")
        loader = _Loader(migration, directory, report, changes_out, scan=not resume_from)
        stack.callback(loader.close)
        position = resume_from
        for number, batch in enumerate(_batches(migration, source, report, resume_from), start=1):
            done = loader.batch(batch)
            if done.is_failure:
                first, last = position + 1, position + len(batch)
                return FlextResult.fail(
                    f"sync stopped in batch {number} (entries {first}-{last} of {source.name}): {done.error}",
                    error_code=done.error_code,
                    error_data={**(done.error_data or {}), "batch": number, "position": position},
                )
            position += len(batch)
            if on_batch is not None:
                on_batch(SyncProgress(position, batch[-1].dn, dict(report.counts)))
        if changes_out is not None:
            changes_out.close()
            (out / DRY_RUN_FILE).with_suffix(".ldif.partial").replace(out / DRY_RUN_FILE)
        counts = report.counts
        counts["out"] = counts["added"] + counts["modified"] + counts["unchanged"]
        for key in ("added", "modified", "unchanged"):
            counts[key] += 0  # present in the report even when zero
        return FlextResult.ok(report.finish())


def _batches(
    migration: Migration, source: Path, report: PhaseReport, skip: int
) -> Iterator[list[LdifRecord]]:
    """The file's entries in batches of ``batch_size``, after the first ``skip``; problems reported."""
    size = migration.project.batch_size
    batch: list[LdifRecord] = []
    seen = 0
    for item in migration.reader.read(source):
        if isinstance(item, LdifProblem):
            report.counts["failed"] += 1
            report.item("error", item.code, item.message, dn=item.dn, line=item.line, file=item.source)
            continue
        seen += 1
        if seen <= skip:
            continue
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


_SCAN_AHEAD: Final = 20_000
"""Target entries the scan holds read ahead of the file at most; past that an entry is read by itself."""


class _Scan:
    """The target's entries under the suffix, read page by page as far as the file needs them.

    The idempotency check of a sync from the start: one paged subtree search (``Directory.pages``)
    instead of a base search per entry. A server returns the entries of a sync's load in the order it
    stored them, which is the file's; an entry read ahead of the file waits in memory until its record
    comes (at most ``_SCAN_AHEAD`` of them). ``find`` says: the target's entry, None (the search is
    over: the target has no such entry) or ``_UNKNOWN`` (too far ahead, or the server refused the
    search, a size limit for instance: read that one by itself).
    """

    def __init__(
        self, directory: Directory, base: str, names: frozenset[str], normal: Callable[[str], str | None]
    ) -> None:
        self.names = names
        """The operational attribute names read (a record with others is read by itself)."""
        self._pages = directory.pages(base, names)
        self._normal = normal
        self._ahead: dict[str, TargetEntry] = {}
        self._over = False
        self._refused = False
        """The server refused the search (a size limit, no paging): the rest is read entry by entry."""

    def find(self, normal_dn: str) -> FlextResult[TargetEntry | object | None]:
        entry = self._ahead.pop(normal_dn, None)
        while entry is None and not self._over and not self._refused and len(self._ahead) < _SCAN_AHEAD:
            page = next(self._pages, None)
            if page is None:
                self._over = True
                break
            if page.is_failure:
                if page.error_code != LDAP_OPERATION_FAILED:
                    return FlextResult.fail(page.error or "", page.error_code, page.error_data)
                self._refused = True  # a size limit, no paging...: every entry is read by itself
                break
            for found in page.value:
                key = self._normal(found.dn) or found.dn.lower()
                if key == normal_dn:
                    entry = found
                else:
                    self._ahead[key] = found
        if entry is not None:
            return FlextResult.ok(entry)
        return FlextResult.ok(None if self._over and not self._refused else _UNKNOWN)

    def close(self) -> None:
        """End the search and close its connection."""
        self._pages.close()  # type: ignore[attr-defined]  # a generator


_UNKNOWN: Final = object()


class _Loader:
    """Applies batches to the target (or writes them as change records on a dry run).

    Adds go through ``Directory.pipeline`` (several in flight, parents answered before their children
    are sent); a modify, a read and the end of a batch first wait for every add in flight, so when
    ``on_batch`` hears of a batch the target holds all of it.
    """

    def __init__(
        self,
        migration: Migration,
        directory: Directory,
        report: PhaseReport,
        changes_out: IO[str] | None,
        *,
        scan: bool,
    ) -> None:
        self._migration = migration
        self._directory = directory
        self._report = report
        self._changes_out = changes_out
        self._pace = Pacer(migration.project.rate_limit)
        self._pipeline = directory.pipeline() if changes_out is None else None
        self._scanning = scan
        """Compare with one paged search of the target (a sync from the start) rather than base reads."""
        self._scan: _Scan | None = None
        self._add_first = False
        """Add without reading first: set after a batch found none of its entries on the target."""
        self._existed = 0
        self._sent: dict[int, LdifRecord] = {}
        self._next = 0
        self._exists: list[tuple[LdifRecord, Refusal]] = []
        """Adds answered entryAlreadyExists: read and compared once the pipeline is drained."""

    def close(self) -> None:
        """Close the scan's connection, if one is open."""
        if self._scan is not None:
            self._scan.close()

    def batch(self, batch: Sequence[LdifRecord]) -> FlextResult[None]:
        """Add or modify each entry of the batch; a failure: the target is lost.

        A sync from the start compares through ``_Scan``. A resumed one reads the batch's entries
        first (a base search each); while the target is being filled (the last batch found none of its
        entries there) each entry is simply added, and only one the server already has is read and
        compared, as ``ldapadd`` does.
        """
        if self._scanning:
            done = self._batch_scanned(batch)
        elif self._add_first and self._changes_out is None:
            done = self._batch_add_first(batch)
        else:
            done = self._batch_read_first(batch)
        if done.is_failure:
            return done
        return self._settle()

    def _batch_scanned(self, batch: Sequence[LdifRecord]) -> FlextResult[None]:
        if self._scan is None:
            names = {name.lower() for record in batch for name in record.attributes}
            names |= set(MANAGED_OPERATIONAL)  # what OUD keeps operational and the migration writes
            operational = frozenset(names & self._directory.schema.operational)
            suffix = self._migration.project.base_dn.target
            self._scan = _Scan(self._directory, suffix, operational, self._migration.normal)
        for record in batch:
            if not self._admit(record):
                continue
            found = self._scan.find(record.normal_dn)
            if found.is_failure:
                return FlextResult.fail(found.error or "", found.error_code, found.error_data)
            entry = found.value
            if entry is not None and not {name.lower() for name in record.attributes} <= self._known(record):
                entry = _UNKNOWN  # the scan did not read all of this record's operational attributes
            if isinstance(entry, TargetEntry):
                done = self._modify(record, entry.attributes)
            elif entry is None:
                done = self._add(record)
            else:  # _UNKNOWN
                done = self._compare(record)
            if done.is_failure:
                return done
        return FlextResult.ok(None)

    def _known(self, record: LdifRecord) -> set[str]:
        """The record's attribute names the scan read: the user ones and its operational ``names``."""
        scan = self._scan
        operational = self._directory.schema.operational
        return {name.lower() for name in record.attributes if name.lower() not in operational} | (
            set(scan.names) if scan is not None else set()
        )

    def _batch_read_first(self, batch: Sequence[LdifRecord]) -> FlextResult[None]:
        names = {name for record in batch for name in record.attributes}
        read = self._directory.read([r.dn for r in batch], names)
        if read.is_failure:
            return FlextResult.fail(read.error or "", read.error_code, read.error_data)
        normal = self._migration.normal
        existing = {normal(entry.dn) or entry.dn.lower(): entry for entry in read.value}
        for record in batch:
            if not self._admit(record):
                continue
            entry = existing.get(record.normal_dn)
            done = self._add(record) if entry is None else self._modify(record, entry.attributes)
            if done.is_failure:
                return done
        self._add_first = not existing
        return FlextResult.ok(None)

    def _batch_add_first(self, batch: Sequence[LdifRecord]) -> FlextResult[None]:
        self._existed = 0
        for record in batch:
            if not self._admit(record):
                continue
            done = self._add(record)
            if done.is_failure:
                return done
        done = self._settle()
        self._add_first = self._existed * 2 < len(batch)  # mostly there already: read first again
        return done

    def _admit(self, record: LdifRecord) -> bool:
        """Count the record in, hold to the rate limit; False (reported) when it is not an entry."""
        self._report.counts["in"] += 1
        self._pace()
        if record.is_change and record.change_type != "add":
            self._refused(record, "read", Refusal(0, "notAnEntry", f"a {record.change_type} record"))
            return False
        return True

    def _add(self, record: LdifRecord) -> FlextResult[None]:
        if self._changes_out is not None or self._pipeline is None:
            if self._changes_out is not None:
                self._changes_out.write(
                    format_record(record.dn, [("changetype", ("add",)), *record.attributes.items()])
                )
            self._report.counts["added"] += 1
            return FlextResult.ok(None)
        token = self._next
        self._next += 1
        self._sent[token] = record
        sent = self._pipeline.send(token, record.dn, record.normal_dn, record.attributes)
        if sent.is_failure:
            return _naming(sent, self._unconfirmed())
        self._answered(sent.value)
        return FlextResult.ok(None)

    def _answered(self, answers: Sequence[AddAnswer]) -> None:
        for answer in answers:
            record = self._sent.pop(int(answer.token))  # type: ignore[call-overload]  # an int token
            if answer.code == 0:
                self._report.counts["added"] += 1
                continue
            refusal = Refusal(answer.code, answer.name, answer.message)
            if answer.code == _ALREADY_EXISTS:  # added since it was read, or not read (add first)
                self._existed += 1
                self._exists.append((record, refusal))
            else:
                self._refused(record, "add", refusal)

    def _drain(self) -> FlextResult[None]:
        if self._pipeline is None or not self._pipeline.in_flight:
            return FlextResult.ok(None)
        drained = self._pipeline.drain()
        if drained.is_failure:
            return _naming(drained, self._unconfirmed())
        self._answered(drained.value)
        return FlextResult.ok(None)

    def _unconfirmed(self) -> LdifRecord:
        """The first entry sent and not answered: where a lost connection leaves the target."""
        return next(iter(self._sent.values()))

    def _settle(self) -> FlextResult[None]:
        """Wait for every add in flight, then compare the entries the target already had."""
        drained = self._drain()
        if drained.is_failure:
            return drained
        while self._exists:
            record, refusal = self._exists.pop(0)
            found = self._directory.read_one(record.dn, record.attributes)
            if found.is_failure:
                return _naming(found, record)
            if found.value is None:
                self._refused(record, "add", refusal)
                continue
            done = self._modify(record, found.value.attributes)
            if done.is_failure:
                return done
        return FlextResult.ok(None)

    def _compare(self, record: LdifRecord) -> FlextResult[None]:
        """Read one entry by itself (a base search) and add or modify it."""
        drained = self._drain()
        if drained.is_failure:
            return drained
        found = self._directory.read_one(record.dn, record.attributes)
        if found.is_failure:
            if (found.error_data or {}).get("result") in ENTRY_REFUSALS:
                return self._add(record)  # this DN cannot be read: its add names why
            return _naming(found, record)
        return self._add(record) if found.value is None else self._modify(record, found.value.attributes)

    def _modify(self, record: LdifRecord, current: Mapping[str, Sequence[bytes]]) -> FlextResult[None]:
        wanted = changes(record.attributes, current, self._migration.normal, self._directory.schema)
        if not wanted:
            self._report.counts["unchanged"] += 1
            return FlextResult.ok(None)
        if self._changes_out is not None:
            self._changes_out.write(modify_record(record.dn, wanted))
        else:
            drained = self._drain()
            if drained.is_failure:
                return drained
            done = self._directory.modify(record.dn, wanted)
            if done.is_failure:
                return _naming(done, record)
            if done.value is not None:
                self._refused(record, "modify", done.value)
                return FlextResult.ok(None)
        self._report.counts["modified"] += 1
        attributes = sorted({change.attribute for change in wanted})
        self._report.item(
            "info",
            "SYNC_MODIFIED",
            f"{'would change' if self._changes_out is not None else 'changed'} {', '.join(attributes)}",
            dn=record.dn,
            line=record.line,
            attributes=attributes,
        )
        return FlextResult.ok(None)

    def _refused(self, record: LdifRecord, operation: str, refusal: Refusal) -> None:
        self._report.counts["failed"] += 1
        self._report.item(
            "error",
            "SYNC_REFUSED",
            f"the target refused the {operation}: {refusal}",
            dn=record.dn,
            line=record.line,
            operation=operation,
            result_code=refusal.code,
            server_message=refusal.message,
        )


def _naming(failure: FlextResult[Any], record: LdifRecord) -> FlextResult[None]:
    return FlextResult.fail(
        f"at entry {record.dn!r} (line {record.line}): {failure.error}",
        error_code=failure.error_code,
        error_data={**(failure.error_data or {}), "dn": record.dn, "line": record.line},
    )


def modify_record(dn: str, modifications: Sequence[Change]) -> str:
    """``modifications`` of ``dn`` as an LDIF ``changetype: modify`` record, ended by a blank line."""
    parts = [format_record(dn, [("changetype", ("modify",))]).removesuffix("\n")]
    for change in modifications:
        parts.append(_lines([(change.operation, (change.attribute,)), (change.attribute, change.values)]))
        parts.append("-\n")
    return "".join(parts) + "\n"


def _lines(attributes: Sequence[tuple[str, Sequence[str | bytes]]]) -> str:
    """``name: value`` lines as ``format_record`` writes them (base64 and folding), without a DN."""
    text = format_record("x", attributes)
    return text[len("dn: x\n") : -1]


class Pacer:
    """Holds a loop to at most ``rate`` calls a second (none when ``rate`` is 0): call it once per entry."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._calls = 0

    def __call__(self) -> None:
        """Wait until this call is due: the n-th comes (n - 1) / rate seconds after the first or later."""
        if self._rate <= 0:
            return
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._calls / self._rate
        self._calls += 1
        if due > now:
            self._sleep(due - now)
