"""What changed in the source since the last ``oud sync``, and what those entries become on the target.

``oud sync`` keeps, after each successful run, a *snapshot* of the source as it
was synced: an SQLite file (``SNAPSHOT``, in the output directory) with one row
per source entry, its normal DN, its DN as written, a hash of its content, its
``orclguid`` and what became of it (``synced`` or ``excluded``). ``scan`` reads
the new source once, hashes every entry and writes the next snapshot beside the
old one (``.partial``); only entries whose hash, DN or state changed are kept,
in a scratch LDIF, so memory grows with the changes, not with the directory.
``prepare`` then takes just those entries through what the full migration does
to each entry (the hierarchy phase's exclusion rules, orphan check and DN
rewrite, then the ``schema``, ``users``, ``groups``, ``acl`` and ``output``
transforms of ``phases``), so a synced entry is what a full migration would
have written. ``commit`` renames the snapshot into place: until then the old
one stands, so a run that is killed is simply run again. docs/algar.md,
"Keeping OUD in step: oud sync", gives the design and its limits.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from flext_plugin_algar.ldif_out import format_record, split_rdns
from flext_plugin_algar.phases import _TRANSFORMS, Migration, _excluded, _moved, _records
from flext_plugin_algar.report import PhaseReport
from flext_plugin_algar.schema_map import OPERATIONAL
from flext_sdk.contracts.ldif import LdifRecord, LdifValue

__all__ = [
    "BASE",
    "CHAIN",
    "SNAPSHOT",
    "Desired",
    "Gone",
    "Prepared",
    "Scan",
    "content_hash",
    "fingerprint",
    "prepare",
    "scan",
]

BASE: Final = "10-oud-sync"
"""The base name of ``oud sync``'s files in the output directory (report, items, changes)."""
SNAPSHOT: Final = f"{BASE}.snapshot.sqlite"
"""The snapshot of the source as last synced."""
CHAIN: Final = ("schema", "users", "groups", "acl", "output")
"""The per-entry phases a changed entry goes through, in order (``phases._TRANSFORMS``)."""
_FORMAT: Final = 1  # bump when the hash or what the transforms do changes: every entry is then compared
_GUID: Final = "orclguid"
_SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    normal TEXT PRIMARY KEY, dn TEXT NOT NULL, parent TEXT NOT NULL, hash TEXT NOT NULL,
    guid TEXT, excluded INTEGER NOT NULL, state TEXT
);
CREATE INDEX entries_guid ON entries (guid);
"""

State = Literal["synced", "excluded"]
"""What became of a source entry: it is on the target as migrated, or a rule leaves it out."""


def content_hash(dn: str, attributes: Mapping[str, tuple[LdifValue, ...]]) -> str:
    """A hash of an entry as the migration sees it: the DN as written and every non-operational value.

    Value order does not count (LDAP values are a set); operational attributes (timestamps,
    ``orclguid``) do not either, since the migration drops them: touching an entry is no change.
    """
    digest = hashlib.blake2b(dn.encode("utf-8"), digest_size=16)
    for name in sorted(attributes):
        if name.split(";", 1)[0] in OPERATIONAL:
            continue
        digest.update(b"\x00" + name.encode("utf-8") + b"\x00")
        for value in sorted(v.encode("utf-8") if isinstance(v, str) else v for v in attributes[name]):
            digest.update(len(value).to_bytes(4, "big") + value)
    return digest.hexdigest()


def fingerprint(migration: Migration) -> str:
    """What, besides an entry, decides what it becomes: the suffix mapping and the rules.

    Under a snapshot taken with another fingerprint, every entry counts as changed (and is compared
    with the target); the snapshot still says which entries were synced, for the deletes.
    """
    project = migration.project
    text = "\n".join(
        (str(_FORMAT), project.base_dn.source, project.base_dn.target, migration.rules.model_dump_json())
    )
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class Scan:
    """The result of reading the new source against the last snapshot."""

    db: sqlite3.Connection
    """The next snapshot (``SNAPSHOT.partial``), with the old one attached as ``old`` when there is one."""
    path: Path
    """Where the next snapshot goes when committed."""
    partial: Path
    """Where it is written until then."""
    changed: Path
    """A scratch LDIF of the entries that changed (as in the source)."""
    baseline: bool
    """No snapshot: every entry is compared with the target, and nothing is deleted."""
    everything: bool = False
    """The snapshot was taken under other rules or another suffix mapping: every entry counts as changed."""
    counts: dict[str, int] = field(default_factory=dict)
    """``entries`` read, ``changed``, ``unchanged``, ``failed`` (records the reader refused)."""

    def gone(self) -> list[Gone]:
        """Entries of the last snapshot that are on the target and no longer in the source."""
        if self.baseline:
            return []
        rows = self.db.execute(
            "SELECT o.normal, o.dn, o.guid FROM old.entries o LEFT JOIN entries n ON n.normal = o.normal "
            "WHERE n.normal IS NULL AND o.state = 'synced'"
        )
        return [Gone(normal, dn, guid) for normal, dn, guid in rows]

    def previous(self, normal: str) -> tuple[str, State | None] | None:
        """``(dn, state)`` of the entry in the last snapshot, or None."""
        if self.baseline:
            return None
        row = self.db.execute("SELECT dn, state FROM old.entries WHERE normal = ?", (normal,)).fetchone()
        return None if row is None else (row[0], row[1])

    def renamed_from(self, normal: str, guid: str | None) -> Gone | None:
        """The old entry a new DN is, by ``orclguid``: synced, and whose DN is gone from the source."""
        if self.baseline or guid is None:
            return None
        row = self.db.execute(
            "SELECT o.normal, o.dn, o.guid FROM old.entries o LEFT JOIN entries n ON n.normal = o.normal "
            "WHERE o.guid = ? AND o.state = 'synced' AND n.normal IS NULL AND o.normal != ?",
            (guid, normal),
        ).fetchone()
        return None if row is None else Gone(*row)

    def settle(self, normal: str, state: State) -> None:
        """Record what became of a changed entry (one left unsettled keeps its old row, if any)."""
        self.db.execute("UPDATE entries SET state = ? WHERE normal = ?", (state, normal))

    def commit(self, *, kept_old: list[str]) -> None:
        """Write the next snapshot in place of the old one (atomically).

        Changed entries left unsettled (refused by the target, orphans) go back to their old row, or
        out, so the next run takes them again; ``kept_old`` are old entries whose delete or rename
        did not happen, kept for the same reason.
        """
        db = self.db
        if not self.baseline:
            db.execute(
                "INSERT OR REPLACE INTO entries SELECT * FROM old.entries WHERE normal IN "
                "(SELECT normal FROM entries WHERE state IS NULL)"
            )
            db.executemany(
                "INSERT OR REPLACE INTO entries SELECT * FROM old.entries WHERE normal = ?",
                [(normal,) for normal in kept_old],
            )
        db.execute("DELETE FROM entries WHERE state IS NULL")
        db.execute("COMMIT")
        if not self.baseline:
            db.execute("DETACH DATABASE old")
        db.close()
        self.partial.replace(self.path)
        self.changed.unlink(missing_ok=True)

    def close(self) -> None:
        """Drop the next snapshot unwritten (the old one stays) and the scratch file."""
        self.db.close()
        self.partial.unlink(missing_ok=True)
        self.changed.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Gone:
    """An entry of the last snapshot: its source normal DN, its DN as written, its ``orclguid``."""

    normal: str
    """The source normal DN."""
    dn: str
    """The source DN as written."""
    guid: str | None
    """Its ``orclguid``, if the source carried one."""


def scan(migration: Migration, source: Path, report: PhaseReport) -> Scan:
    """Read ``source`` once: hash every entry into the next snapshot, keep the changed ones aside.

    Records the reader refuses, change records, duplicates and entries without ``objectClass`` are
    left out as ``validate`` leaves them (and reported the same way).
    """
    path = migration.out / SNAPSHOT
    partial = _beside(report, ".snapshot.sqlite.partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial, isolation_level=None)  # transactions by hand: ATTACH needs none open
    mark = fingerprint(migration)
    attached = _attach(db, path)
    baseline = attached is None
    everything = attached is not None and attached != mark
    db.executescript(_SCHEMA)
    db.execute("BEGIN")  # one transaction for the whole run: nothing is synced to disk per entry
    db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (mark,))
    changed = _beside(report, ".changed-source.ldif")
    under = [(migration.normal(rule.under), rule) for rule in migration.rules.exclude if rule.under]
    by_class = {rule.objectclass.lower(): rule for rule in migration.rules.exclude if rule.objectclass}
    counts = {"entries": 0, "changed": 0, "unchanged": 0, "failed": 0}
    seen_lookup = "SELECT 1 FROM entries WHERE normal = ?"
    old_lookup = "SELECT hash, state FROM old.entries WHERE normal = ?"
    with changed.open("w", encoding="utf-8", newline="\n") as handle:
        for record in _records(migration, source, report, encoding=migration.project.source.encoding):
            if not _acceptable(db, seen_lookup, record, report):
                counts["failed"] += 1
                continue
            counts["entries"] += 1
            digest = content_hash(record.dn, record.attributes)
            excluded = _excluded(record, under, by_class) is not None
            old = None if baseline else db.execute(old_lookup, (record.normal_dn,)).fetchone()
            unchanged = not everything and old is not None and old[0] == digest and old[1] is not None
            guid = record.attributes.get(_GUID)
            db.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.normal_dn,
                    record.dn,
                    ",".join(split_rdns(record.normal_dn)[1:]),
                    digest,
                    _text(guid[0]).upper() if guid else None,
                    excluded,
                    old[1] if unchanged and old is not None else None,
                ),
            )
            if unchanged:
                counts["unchanged"] += 1
                continue
            counts["changed"] += 1
            handle.write(format_record(record.dn, record.attributes.items()))
    return Scan(db, path, partial, changed, baseline, everything=everything, counts=counts)


def _beside(report: PhaseReport, suffix: str) -> Path:
    """A file of this run next to its report (a dry run's files are not a real run's)."""
    return report.base.with_name(report.base.name + suffix)


def _attach(db: sqlite3.Connection, path: Path) -> str | None:
    """Attach the last snapshot as ``old``; its fingerprint, or None when there is none to read."""
    if not path.exists():
        return None
    db.execute("ATTACH DATABASE ? AS old", (str(path),))
    try:
        row = db.execute("SELECT value FROM old.meta WHERE key = 'fingerprint'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None:  # not a snapshot (or a damaged one): no baseline
        db.execute("DETACH DATABASE old")
        return None
    return str(row[0])


def _acceptable(db: sqlite3.Connection, lookup: str, record: LdifRecord, report: PhaseReport) -> bool:
    if record.is_change and record.change_type != "add":
        report.item(
            "error",
            "VALIDATE_CHANGE_RECORD",
            f"a '{record.change_type}' change record is not an entry of an export; left out",
            dn=record.dn,
            line=record.line,
        )
        return False
    if db.execute(lookup, (record.normal_dn,)).fetchone() is not None:
        report.item(
            "error", "VALIDATE_DUPLICATE_DN", "the same entry as before; the first is kept", dn=record.dn,
            line=record.line,
        )  # fmt: skip
        return False
    if not record.attributes.get("objectclass"):
        report.item(
            "error", "VALIDATE_NO_OBJECTCLASS", "an entry without objectClass; left out", dn=record.dn,
            line=record.line,
        )  # fmt: skip
        return False
    return True


@dataclass(frozen=True, slots=True)
class Desired:
    """A changed entry as the full migration would write it, and where it was before."""

    source_normal: str
    """Its normal DN in the source (the snapshot's key)."""
    dn: str
    """Its DN on the target."""
    attributes: Mapping[str, tuple[LdifValue, ...]]
    """Its attributes on the target (lower-case names)."""
    was: Gone | None = None
    """The entry it was in the last snapshot, when its DN changed and ``orclguid`` says it is the same."""


@dataclass
class Prepared:
    """The changed entries, split by what the migration makes of them."""

    desired: list[Desired] = field(default_factory=list)
    """Entries to be on the target as written here."""
    left_out: list[tuple[str, str | None]] = field(default_factory=list)
    """``(source normal DN, target DN)`` of changed entries a rule leaves out (deleted if synced)."""
    orphans: list[str] = field(default_factory=list)
    """Source normal DNs of changed entries whose parent is missing or left out."""
    renamed: set[str] = field(default_factory=set)
    """Source normal DNs of old entries a ``Desired.was`` stands for (not deleted)."""


def prepare(migration: Migration, scanned: Scan, report: PhaseReport) -> Prepared:
    """Take the changed entries through the hierarchy rules and the per-entry phases (``CHAIN``)."""
    prepared = Prepared()
    moved_file = _beside(report, ".changed.ldif")
    sources: dict[str, tuple[str, Gone | None]] = {}  # target normal -> (source normal, renamed from)
    source_base = migration.normal(migration.rewrite.source) or ""
    with moved_file.open("w", encoding="utf-8", newline="\n") as handle:
        for record in _records(migration, scanned.changed, report, count=False):
            row = scanned.db.execute(
                "SELECT excluded, guid FROM entries WHERE normal = ?", (record.normal_dn,)
            ).fetchone()
            target = migration.rewrite(record.dn, record.normal_dn)
            if row[0] or target is None:
                why = "excluded by a rule" if row[0] else f"not under {migration.rewrite.source}"
                report.item("info", "OUD_SYNC_LEFT_OUT", f"{why}: not on the target", dn=record.dn)
                prepared.left_out.append((record.normal_dn, target))
                continue
            if not _rooted(scanned.db, record.normal_dn, source_base):
                report.item(
                    "error", "HIERARCHY_ORPHAN", "its parent is not in the source (or is left out): "
                    "the entry is left out", dn=record.dn,
                )  # fmt: skip
                prepared.orphans.append(record.normal_dn)
                continue
            attributes = dict(record.attributes)
            for name in ("manager", "secretary", "seealso", "roleoccupant"):
                if name in attributes:
                    attributes[name] = tuple(_moved(migration, value) for value in attributes[name])
            was = scanned.renamed_from(record.normal_dn, row[1])
            sources[migration.normal(target) or target.lower()] = (record.normal_dn, was)
            handle.write(format_record(target, attributes.items()))
    saved, report.counts = report.counts, type(report.counts)()
    try:
        records: Iterator[LdifRecord] = _records(migration, moved_file, report, count=False)
        for name in CHAIN:
            records = _TRANSFORMS[name](migration, moved_file, records, report)
        for record in records:
            source_normal, was = sources[record.normal_dn]
            prepared.desired.append(Desired(source_normal, record.dn, record.attributes, was))
            if was is not None:
                prepared.renamed.add(was.normal)
    finally:
        report.summary["transform_counts"] = {
            key: value for key, value in sorted(report.counts.items()) if key not in ("in", "out")
        }
        report.summary.pop("load", None)  # the output transform's ldapadd hint is the full load's
        report.counts = saved
    return prepared


def _rooted(db: sqlite3.Connection, normal: str, base: str) -> bool:
    """Whether every superior of ``normal`` up to the source suffix is in the source and not left out."""
    current = normal
    for _ in range(256):  # deeper than any directory; a loop in bad data must end
        if current == base:
            return True  # the suffix entry need not be in the export: OUD makes it with the backend
        row = db.execute("SELECT parent, excluded FROM entries WHERE normal = ?", (current,)).fetchone()
        if row is None or (current != normal and row[1]) or not row[0]:
            return False
        current = row[0]
    return False


def _text(value: LdifValue) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")
