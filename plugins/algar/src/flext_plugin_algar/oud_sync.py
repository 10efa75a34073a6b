"""``oud sync``: apply to the target only what changed in the source since the last sync.

``sync_changes`` scans the source against the last snapshot (``incremental``),
takes the changed entries through the migration's per-entry phases, compares
each with what the target holds, and applies, in this order, per entry from
the top of the tree down: a ``modrdn`` when the entry moved (found by
``orclguid``), an ``add`` when the target lacks it, a ``modify`` of only the
attributes that differ; then the ``delete`` of the entries gone from the
source, children before parents. Every operation is decided by reading the
target first, so a run killed part way and run again applies nothing twice;
the snapshot is replaced only at the end. ``dry_run`` reads the target, applies
nothing and gives the operations as LDIF change records (``to_ldif``).

The report (``PhaseReport``, base ``<output>/10-oud-sync``, or
``10-oud-sync-dry-run`` for a dry run) counts ``added``, ``modified``,
``deleted``, ``renamed``, ``unchanged``, ``failed``, ``left_out`` and
``orphans``; every operation the target refused is an item naming the entry
and the server's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from flext_kernel.errors import NOT_FOUND
from flext_plugin_algar.directory import Change, Directory, Schema
from flext_plugin_algar.incremental import BASE, Desired, Prepared, Scan, prepare, scan
from flext_plugin_algar.ldif_out import format_record, split_rdns
from flext_plugin_algar.phases import Migration, phase_paths
from flext_plugin_algar.project import Project
from flext_plugin_algar.report import PhaseReport
from flext_sdk import FlextResult
from flext_sdk.contracts.ldif import LdifValue

__all__ = [
    "LIVE_SOURCE",
    "MANAGED_OPERATIONAL",
    "Operation",
    "Target",
    "connect",
    "source_of",
    "sync_changes",
    "to_ldif",
]

MANAGED_OPERATIONAL: Final = ("aci", "ds-pwp-account-disabled")
"""Attributes OUD keeps as operational that the migration writes: read and compared like the others."""

Kind = Literal["add", "modify", "delete", "modrdn"]
"""What an operation does (the LDIF ``changetype``)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One change to the target, as ``ldapmodify`` would take it."""

    kind: Kind
    """``add``, ``modify``, ``delete`` or ``modrdn``."""
    dn: str
    """The entry it applies to (for ``modrdn``, its DN before)."""
    attributes: Mapping[str, tuple[LdifValue, ...]] = field(default_factory=dict)
    """The entry, for ``add``."""
    modifications: tuple[Change, ...] = ()
    """For ``modify``."""
    new_rdn: str | None = None
    """For ``modrdn``: the new RDN (the old RDN's values are deleted)."""
    new_superior: str | None = None
    """For ``modrdn``: the new parent, when it changes."""


def to_ldif(operation: Operation) -> str:
    """The operation as an LDIF change record (RFC 2849), ended by a blank line."""
    pairs: list[tuple[str, tuple[LdifValue, ...]]] = [("changetype", (operation.kind,))]
    if operation.kind == "add":
        pairs += list(operation.attributes.items())
    elif operation.kind == "modrdn":
        pairs += [("newrdn", (operation.new_rdn or "",)), ("deleteoldrdn", ("1",))]
        if operation.new_superior is not None:
            pairs.append(("newsuperior", (operation.new_superior,)))
    text = format_record(operation.dn, pairs)
    if operation.kind != "modify":
        return text
    parts = [text.removesuffix("\n")]
    for change in operation.modifications:
        lines: list[tuple[str, tuple[LdifValue, ...]]] = [(change.operation, (change.attribute,))]
        if change.values:
            lines.append((change.attribute, change.values))
        parts.append(_body(lines) + "-\n")
    return "".join(parts) + "\n"


def _body(pairs: Sequence[tuple[str, tuple[LdifValue, ...]]]) -> str:
    """LDIF lines of ``pairs`` without the ``dn:`` line and the blank line ``format_record`` adds."""
    return format_record("", pairs).split("\n", 1)[1].removesuffix("\n")


class Target:
    """The target for ``oud sync``: ``directory.Directory``, with operations as ``Operation`` values.

    An operation the server refuses for its entry is a refusal message, not a failure; a lost
    connection is a failure (``LDAP_CONNECTION_LOST``).
    """

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        """The bound connection (``directory.connect``)."""

    def read(self, dn: str, names: Iterable[str] = ()) -> FlextResult[dict[str, tuple[bytes, ...]] | None]:
        """The entry's user attributes, and the operational ones named or ``MANAGED_OPERATIONAL``."""
        read = self.directory.read_one(dn, (*names, *MANAGED_OPERATIONAL))
        if read.is_failure:
            return FlextResult.fail(read.error or "", read.error_code, read.error_data)
        return FlextResult.ok(None if read.value is None else dict(read.value.attributes))

    def apply(self, operation: Operation) -> FlextResult[str | None]:
        """Apply ``operation``: None when done, the server's refusal when it refused; a failure when lost."""
        directory = self.directory
        if operation.kind == "add":
            done = directory.add(operation.dn, operation.attributes)
        elif operation.kind == "modify":
            done = directory.modify(operation.dn, operation.modifications)
        elif operation.kind == "delete":
            done = directory.delete(operation.dn)
        else:
            done = directory.rename(
                operation.dn, operation.new_rdn or "", new_superior=operation.new_superior
            )
        if done.is_failure:
            return FlextResult.fail(done.error or "", done.error_code, done.error_data)
        return FlextResult.ok(None if done.value is None else str(done.value))

    def close(self) -> None:
        """Unbind."""
        self.directory.close()


def connect(project: Project) -> FlextResult[Target]:
    """Bind to ``project.target`` (``directory.connect``: the password from its secret reference)."""
    from flext_plugin_algar.directory import connect as bind

    bound = bind(project)
    if bound.is_failure:
        return FlextResult.fail(bound.error or "", bound.error_code, bound.error_data)
    return FlextResult.ok(Target(bound.value))


LIVE_SOURCE: Final = f"{BASE}.source.ldif"
"""In the output directory: oud sync's own read of a live source (``source.url``), taken at each run.

Not ``00-source.ldif``, the migration's snapshot: an oud sync between two phases of a run, or before a
resumed one, must not change what the run reads."""


def source_of(migration: Migration) -> Path:
    """What oud sync reads: the export (``source.ldif``), or its own read of a live source."""
    if migration.project.source.url is not None:
        return migration.out / LIVE_SOURCE
    source, _ = phase_paths(migration, "validate")
    return source


def sync_changes(
    migration: Migration,
    *,
    dry_run: bool = False,
    connector: Callable[[Project], FlextResult[Target]] = connect,
) -> FlextResult[dict[str, Any]]:
    """Scan, prepare, compare with the target and (unless ``dry_run``) apply; the finished report.

    The target is bound first, so a wrong address or password fails before the source is read. A
    failure (the target lost) leaves the last snapshot as it was.
    """
    source = source_of(migration)
    if not source.exists():
        what = "oud sync's read of the live source" if migration.project.source.url else "the source export"
        return FlextResult.fail(f"{source}: no such file ({what})", error_code=NOT_FOUND)
    connected = connector(migration.project)
    if connected.is_failure:
        return FlextResult.fail(connected.error or "", connected.error_code, connected.error_data)
    target = connected.value
    migration.out.mkdir(parents=True, exist_ok=True)
    base = migration.out / (f"{BASE}-dry-run" if dry_run else BASE)
    changes = base.with_name(base.name + ".changes.ldif")
    try:
        with PhaseReport("oud-sync", base, source=source, output=changes) as report:
            scanned = scan(migration, source, report)
            committed = False
            try:
                invalid = (
                    report.counts.pop("failed", 0) + scanned.counts["failed"]
                )  # the reader's, validate's
                prepared = prepare(migration, scanned, report)
                done = _Run(migration, scanned, prepared, target, report, dry_run).go()
                if done.is_failure:
                    return FlextResult.fail(done.error or "", done.error_code, done.error_data)
                if not dry_run:
                    scanned.commit(kept_old=done.value)
                    committed = True
            finally:
                if not committed:
                    scanned.close()
            report.counts["in"] = scanned.counts["entries"]
            report.counts["invalid"] = invalid
            report.summary["baseline"] = scanned.baseline
            report.summary["dry_run"] = dry_run
            report.summary["changes_file"] = str(changes)
            return FlextResult.ok(report.finish())
    finally:
        target.close()


class _Run:
    """One sync's walk over the changed entries, then over the deleted ones."""

    def __init__(
        self,
        migration: Migration,
        scanned: Scan,
        prepared: Prepared,
        target: Target,
        report: PhaseReport,
        dry_run: bool,
    ) -> None:
        self.migration = migration
        self.scanned = scanned
        self.prepared = prepared
        self.target = target
        self.report = report
        self.dry_run = dry_run
        self.moves: list[tuple[str, str]] = []  # (normal DN before, DN after) of each modrdn, in order
        self.kept_old: list[str] = []
        counts = report.counts
        for key in ("added", "modified", "deleted", "renamed", "unchanged", "failed", "left_out", "orphans"):
            counts[key] = 0
        counts["unchanged"] = scanned.counts["unchanged"]
        counts["orphans"] = len(prepared.orphans)
        self.changes = report.base.with_name(report.base.name + ".changes.ldif").open(
            "w", encoding="utf-8", newline="\n"
        )

    def go(self) -> FlextResult[list[str]]:
        """Apply (or, in a dry run, write down) every change; the old rows to keep on failure."""
        try:
            return self._go()
        except _Lost as lost:
            return FlextResult.fail(lost.result.error or "", lost.result.error_code, lost.result.error_data)
        finally:
            self.changes.close()

    def _go(self) -> FlextResult[list[str]]:
        for entry in sorted(self.prepared.desired, key=lambda desired: len(split_rdns(desired.dn))):
            done = self._entry(entry)
            if done.is_failure:
                return FlextResult.fail(done.error or "", done.error_code, done.error_data)
        for normal, target_dn in self.prepared.left_out:
            left = self._left_out(normal, target_dn)
            if left.is_failure:
                return FlextResult.fail(left.error or "", left.error_code, left.error_data)
        for normal, old_dn in self._deletions():
            gone = self._delete(old_dn)
            if gone.is_failure:
                return FlextResult.fail(gone.error or "", gone.error_code, gone.error_data)
            if not gone.value:
                self.kept_old.append(normal)
        return FlextResult.ok(self.kept_old)

    def _left_out(self, normal: str, target_dn: str | None) -> FlextResult[None]:
        """A changed entry a rule now leaves out: deleted from the target if it was synced before."""
        self.report.counts["left_out"] += 1
        previous = self.scanned.previous(normal)
        if previous is not None and previous[1] == "synced":
            old_dn = self._target_dn(previous[0], normal) or target_dn
            if old_dn is not None:
                gone = self._delete(old_dn)
                if gone.is_failure:
                    return FlextResult.fail(gone.error or "", gone.error_code, gone.error_data)
                if not gone.value:
                    return FlextResult.ok(None)  # stays unsettled: its old row is kept, tried again
        self.scanned.settle(normal, "excluded")
        return FlextResult.ok(None)

    # -- changed entries --------------------------------------------------------------------------------

    def _entry(self, entry: Desired) -> FlextResult[None]:
        """Rename, add or modify ``entry`` as the target needs; settle it in the snapshot when done."""
        located = self._locate(entry)
        if located.is_failure:
            return FlextResult.fail(located.error or "", located.error_code, located.error_data)
        where, current = located.value
        normal = self.migration.normal
        ok = True
        if current is None:
            ok = self._apply(Operation("add", entry.dn, attributes=entry.attributes), "added", entry)
        else:
            assert where is not None
            if normal(where) != normal(entry.dn):
                moved = self._rename(where, entry, current)
                if moved.is_failure:
                    return FlextResult.fail(moved.error or "", moved.error_code, moved.error_data)
                ok, current = moved.value
            if ok and current is not None:
                changes = modifications(entry.attributes, current, normal, self.target.directory.schema)
                if changes:
                    ok = self._apply(
                        Operation("modify", entry.dn, modifications=tuple(changes)), "modified", entry
                    )
                elif normal(where) == normal(entry.dn):
                    self.report.counts["unchanged"] += 1
        if ok:
            self.scanned.settle(entry.source_normal, "synced")
        elif entry.was is not None:
            self.kept_old.append(entry.was.normal)
        return FlextResult.ok(None)

    def _locate(self, entry: Desired) -> FlextResult[tuple[str | None, dict[str, tuple[bytes, ...]] | None]]:
        """Where the entry is on the target now (its old place if it moved, else its DN) and its values."""
        places: list[str] = []
        if entry.was is not None:
            old = self._target_dn(entry.was.dn, entry.was.normal)
            if old is not None:
                # applied runs see earlier renames done; a dry run sees the target as it is
                places.append(old if self.dry_run else self._mapped(old))
        places.append(entry.dn)
        for place in places:
            read = self.target.read(place, entry.attributes)
            if read.is_failure:
                return FlextResult.fail(read.error or "", read.error_code, read.error_data)
            if read.value is not None:
                return FlextResult.ok((self._mapped(place) if self.dry_run else place, read.value))
        return FlextResult.ok((None, None))

    def _rename(
        self, where: str, entry: Desired, current: dict[str, tuple[bytes, ...]]
    ) -> FlextResult[tuple[bool, dict[str, tuple[bytes, ...]] | None]]:
        """``modrdn`` from ``where`` to ``entry.dn``; the entry's values after it (simulated in a dry run)."""
        normal = self.migration.normal
        rdns, old_rdns = split_rdns(entry.dn), split_rdns(where)
        superior = ",".join(rdns[1:])
        same_parent = normal(",".join(old_rdns[1:])) == normal(superior)
        operation = Operation(
            "modrdn", where, new_rdn=rdns[0], new_superior=None if same_parent else superior
        )
        if not self._apply(operation, "renamed", entry):
            return FlextResult.ok((False, None))
        self.moves.append((normal(where) or where.lower(), entry.dn))
        if self.dry_run:
            return FlextResult.ok((True, _after_modrdn(current, old_rdns[0], rdns[0])))
        read = self.target.read(entry.dn, entry.attributes)
        if read.is_failure:
            return FlextResult.fail(read.error or "", read.error_code, read.error_data)
        return FlextResult.ok((True, read.value))

    # -- deleted entries --------------------------------------------------------------------------------

    def _deletions(self) -> list[tuple[str, str]]:
        """``(source normal, target DN)`` of the synced entries gone from the source, children first."""
        found = []
        for gone in self.scanned.gone():
            if gone.normal in self.prepared.renamed:
                continue
            target_dn = self._target_dn(gone.dn, gone.normal)
            if target_dn is not None:
                found.append((gone.normal, target_dn))
        return sorted(found, key=lambda pair: -len(split_rdns(pair[1])))

    def _delete(self, old_dn: str) -> FlextResult[bool]:
        """Delete the entry if the target has it (where earlier renames put it); True when it is gone."""
        places = [self._mapped(old_dn)] if not self.dry_run else [old_dn, self._mapped(old_dn)]
        for place in dict.fromkeys(places):
            read = self.target.read(place)
            if read.is_failure:
                return FlextResult.fail(read.error or "", read.error_code, read.error_data)
            if read.value is not None:
                return FlextResult.ok(self._apply(Operation("delete", self._mapped(place)), "deleted", None))
        return FlextResult.ok(True)

    # -- helpers ----------------------------------------------------------------------------------------

    def _apply(self, operation: Operation, count: str, entry: Desired | None) -> bool:
        """Write the change record, apply it (unless a dry run); False when the target refused it."""
        self.changes.write(to_ldif(operation))
        if not self.dry_run:
            done = self.target.apply(operation)
            if done.is_failure:
                raise _Lost(done)
            if done.value is not None:
                self.report.counts["failed"] += 1
                self.report.item(
                    "error",
                    "OUD_SYNC_REFUSED",
                    f"the target refused the {operation.kind}: {done.value}",
                    dn=operation.dn,
                )
                return False
        self.report.counts[count] += 1
        return True

    def _target_dn(self, source_dn: str, source_normal: str) -> str | None:
        return self.migration.rewrite(source_dn, source_normal)

    def _mapped(self, dn: str) -> str:
        """``dn`` after the renames applied so far (a child moves with its parent)."""
        normal = self.migration.normal(dn) or dn.lower()
        for before, after in self.moves:
            if normal == before:
                dn = after
            elif normal.endswith("," + before):
                keep = len(split_rdns(normal)) - len(split_rdns(before))
                dn = ",".join([*split_rdns(dn)[:keep], after])
            else:
                continue
            normal = self.migration.normal(dn) or dn.lower()
        return dn


class _Lost(Exception):
    """The target went away mid-apply: carries the failure up to ``sync_changes`` (never leaves it)."""

    def __init__(self, result: FlextResult[Any]) -> None:
        super().__init__(result.error)
        self.result = result


def modifications(
    desired: Mapping[str, tuple[LdifValue, ...]],
    current: Mapping[str, tuple[bytes, ...]],
    normal: Callable[[str], str | None],
    schema: Schema,
) -> list[Change]:
    """What makes ``current`` (the target's values) equal ``desired``.

    ``directory.changes``, plus the removal of a ``MANAGED_OPERATIONAL`` attribute the source no
    longer has (an ACL taken away), which ``changes`` leaves alone as the server's own business.
    """
    from flext_plugin_algar.directory import changes

    done = changes(desired, current, normal, schema)
    for name in MANAGED_OPERATIONAL:
        if name in current and name not in desired and not any(c.attribute == name for c in done):
            done.append(Change("delete", name, ()))
    return done


def _after_modrdn(
    current: Mapping[str, tuple[bytes, ...]], old_rdn: str, new_rdn: str
) -> dict[str, tuple[bytes, ...]]:
    """The entry's values after a ``modrdn`` with ``deleteoldrdn: 1`` (what a dry run expects)."""
    values = dict(current)
    for name, value in _ava(old_rdn):
        values[name] = tuple(v for v in values.get(name, ()) if v.lower() != value.lower())
        if not values[name]:
            del values[name]
    for name, value in _ava(new_rdn):
        if value.lower() not in {v.lower() for v in values.get(name, ())}:
            values[name] = (*values.get(name, ()), value)
    return values


def _ava(rdn: str) -> list[tuple[str, bytes]]:
    """The ``(attribute, value)`` pairs of an RDN (``+`` joins several), values unescaped."""
    from ldap3.utils.dn import parse_dn

    pairs = []
    for name, value, _ in parse_dn(rdn, escape=False, strip=True):
        pairs.append((name.lower(), _unescape(value)))
    return pairs


def _unescape(value: str) -> bytes:
    raw = bytearray()
    index = 0
    while index < len(value):
        character = value[index]
        if character == "\\" and index + 2 < len(value) + 1 and _is_hex(value[index + 1 : index + 3]):
            raw.append(int(value[index + 1 : index + 3], 16))
            index += 3
        elif character == "\\" and index + 1 < len(value):
            raw += value[index + 1].encode("utf-8")
            index += 2
        else:
            raw += character.encode("utf-8")
            index += 1
    return bytes(raw)


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)
