"""The LDIF to LDIF phases of a migration: validate, hierarchy, schema, users, groups, acl, output.

Each phase reads one LDIF file through the ``ldif`` plugin's ``LdifReader``
(the previous phase's output; ``validate`` reads the OID export), writes its
own ``<output>/NN-<phase>.ldif`` and its report (``report``), and holds one
entry at a time: what it remembers is a set of normal DNs (``validate``,
``hierarchy``, ``groups``), never the entries. Output is written to a
``.partial`` file renamed when the phase ends, so a phase's file is there
whole or not at all. docs/algar.md says what each phase does and reports.

With a live source (``source.url``), ``validate`` reads ``<output>/00-source.ldif``, a snapshot of
the server that ``run_phases`` takes (``ldap_source.export_source``) only when it is missing or when
asked to: a run repeated or resumed mid-migration never reads a server that changed in between.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import quote, unquote

from flext_kernel.errors import NOT_FOUND, VALIDATION_ERROR
from flext_plugin_algar.ldap_source import export_source
from flext_plugin_algar.ldif_out import BaseRewrite, format_record, parent_of, split_rdns
from flext_plugin_algar.project import ExcludeRule, Project, Rules
from flext_plugin_algar.report import PhaseReport, read_report
from flext_plugin_algar.schema_map import (
    ALLOWED_ONLY_BY,
    ATTRIBUTES_KEPT,
    CLASSES_KEPT,
    CLASSES_MAPPED,
    OPERATIONAL,
    PHASE,
)
from flext_sdk import FlextResult
from flext_sdk.contracts.ldif import LdifProblem, LdifReader, LdifRecord

__all__ = [
    "DISABLED_VALUE",
    "OUD_SCHEMES",
    "PHASES",
    "SOURCE_SNAPSHOT",
    "Migration",
    "phase_paths",
    "plan",
    "read_source",
    "run_phase",
    "run_phases",
    "source_path",
]

PHASES: Final = ("validate", "hierarchy", "schema", "users", "groups", "acl", "output")
"""The LDIF to LDIF phases, in order."""
SOURCE_SNAPSHOT: Final = "00-source.ldif"
"""With a live source, the snapshot of the server ``validate`` reads (in the output directory)."""
OUD_SCHEMES: Final = frozenset(
    {
        "SSHA",
        "SSHA256",
        "SSHA384",
        "SSHA512",
        "SHA",
        "SHA256",
        "SHA384",
        "SHA512",
        "CRYPT",
        "MD5",
        "SMD5",
        "PBKDF2",
        "PBKDF2-SHA256",
        "PBKDF2-SHA512",
        "AES",
        "3DES",
        "BLOWFISH",
        "RC4",
    }
)
"""``userPassword`` schemes OUD verifies (its password storage schemes): carried byte for byte."""

_REFERENCES: Final = ("member", "uniquemember", "owner", "manager", "secretary", "seealso", "roleoccupant")
_PERSON: Final = frozenset({"person", "organizationalperson", "inetorgperson"})
_GROUP: Final = frozenset({"groupofnames", "groupofuniquenames", "groupofurls", "orcldynamicgroup"})
DISABLED_VALUE: Final = "TRUE"
"""``ds-pwp-account-disabled`` of an account OID had ``orclisenabled: DISABLED``: OUD's schema gives the
attribute the Boolean syntax (RFC 4517: ``TRUE``/``FALSE``) and documents it as "TRUE if the user's
account has been disabled"; a strict Boolean syntax (slapd's) refuses ``true``, so ``TRUE`` is the one
value every server takes."""
_CACHE_LIMIT: Final = 200_000  # DNs whose normal form is remembered (about 40 MB at most)
_LDAP_URL_DN = re.compile(r"ldap:///([^\"?)]+)")


@dataclass(frozen=True)
class Migration:
    """What every phase needs: the project, its rules, the LDIF reader and the suffix rewrite."""

    project: Project
    """``algar.yaml``."""
    rules: Rules
    """``rules.yaml``."""
    reader: LdifReader
    """The ``ldif`` plugin's reader, from the container."""
    rewrite: BaseRewrite
    """Source suffix to target suffix."""
    target_normal: str
    """The target suffix's normal form."""
    _normals: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, project: Project, rules: Rules, reader: LdifReader) -> FlextResult[Migration]:
        """Check the base DNs with the reader and build the migration."""
        source = reader.normalize_dn(project.base_dn.source)
        target = reader.normalize_dn(project.base_dn.target)
        if source is None or target is None:
            bad = project.base_dn.source if source is None else project.base_dn.target
            return FlextResult.fail(f"base_dn: {bad!r} is not a DN", error_code=VALIDATION_ERROR)
        return FlextResult.ok(
            cls(
                project,
                rules,
                reader,
                BaseRewrite(project.base_dn.source, project.base_dn.target, source),
                target,
            )
        )

    def normal(self, dn: str) -> str | None:
        """``reader.normalize_dn``, remembered: member and manager values name the same DNs many times."""
        cache = self._normals
        if dn in cache:
            return cache[dn]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        normal = cache[dn] = self.reader.normalize_dn(dn)
        return normal

    @property
    def out(self) -> Path:
        """The output directory."""
        return self.project.path(self.project.output)


def phase_paths(migration: Migration, phase: str) -> tuple[Path, Path]:
    """``(input LDIF, base path)`` of ``phase``: outputs are ``base.ldif``, ``base.report.json``..."""
    index = PHASES.index(phase)
    base = migration.out / f"{index + 1:02d}-{phase}"
    if index == 0:
        return source_path(migration), base
    return migration.out / f"{index:02d}-{PHASES[index - 1]}.ldif", base


def source_path(migration: Migration) -> Path:
    """What ``validate`` reads: the export (``source.ldif``), or the snapshot of the live source."""
    ldif = migration.project.source.ldif
    return migration.out / SOURCE_SNAPSHOT if ldif is None else migration.project.path(ldif)


def plan(migration: Migration) -> list[dict[str, Any]]:
    """Each phase, its files, and its state: ``done`` (report newer than input), ``stale`` or ``pending``."""
    rows = []
    for phase in PHASES:
        source, base = phase_paths(migration, phase)
        report = read_report(base.with_suffix(".report.json"))
        output = base.with_suffix(".ldif")
        state = "pending"
        if report is not None and output.exists():
            fresh = source.exists() and source.stat().st_mtime <= output.stat().st_mtime
            state = "done" if fresh else "stale"
        rows.append({"phase": phase, "input": str(source), "output": str(output), "state": state})
    return rows


def run_phase(migration: Migration, phase: str) -> FlextResult[dict[str, Any]]:
    """Run one phase; its input must be there (the export, or the previous phase's output)."""
    reports = list(run_phases(migration, (phase,)))
    return reports[-1]  # with a live source, validate's comes after the source's


def run_phases(
    migration: Migration,
    phases: Sequence[str],
    *,
    refresh_source: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Iterator[FlextResult[dict[str, Any]]]:
    """Run ``phases`` (in ``PHASES`` order), yielding each one's report as it ends; stop at the first failure.

    validate and hierarchy read their input whole; the phases after them change entries one at a
    time, so consecutive ones run as one chain over a single read of the first one's input, each
    still writing its own LDIF and report.

    With a live source, a run that includes ``validate`` first yields the ``source`` report of
    ``read_source`` (the server is read only when the snapshot is missing or ``refresh_source`` is
    set; ``progress`` gets the entries read after each page; ``"reused": true`` when the snapshot
    there was kept); a failure to read is the run's only result. validate's report also tells
    which snapshot it read (``source``).
    """
    ordered = [phase for phase in PHASES if phase in phases]
    snapshot: dict[str, Any] | None = None
    if migration.project.source.ldif is None and ordered[:1] == [PHASES[0]]:
        read = read_source(migration, refresh=refresh_source, progress=progress)
        yield read
        if read.is_failure:
            return
        snapshot = {
            key: read.value.get(key)
            for key in ("input", "base_dn", "page_size", "taken_at", "reused", "output", "seconds")
        } | {"entries": read.value["counts"]["out"], "pages": read.value["counts"].get("pages")}
    while ordered:
        chain = [ordered.pop(0)]
        while chain[-1] in _TRANSFORMS and ordered and ordered[0] in _TRANSFORMS:
            if PHASES.index(ordered[0]) != PHASES.index(chain[-1]) + 1:
                break
            chain.append(ordered.pop(0))
        source, _ = phase_paths(migration, chain[0])
        if not source.exists():
            before = (
                "the export" if chain[0] == PHASES[0] else f"phase {PHASES[PHASES.index(chain[0]) - 1]!r}"
            )
            yield FlextResult.fail(f"{source}: no such file (run {before} first)", error_code=NOT_FOUND)
            return
        migration.out.mkdir(parents=True, exist_ok=True)
        extra = {"source": snapshot} if snapshot is not None and chain[0] == PHASES[0] else {}
        for report in _run_chain(migration, source, chain, extra):
            yield FlextResult.ok(report)


def read_source(
    migration: Migration, *, refresh: bool = False, progress: Callable[[int], None] | None = None
) -> FlextResult[dict[str, Any]]:
    """The live source's snapshot ``00-source.ldif``: read from the server if missing or ``refresh``.

    Returns its report (``00-source.report.json``: entries, pages, the URL, ``taken_at``), with
    ``reused`` true when the snapshot already there was kept. A failed read leaves the snapshot
    there before (if any) as it was.
    """
    url = migration.project.source.url
    if url is None:
        return FlextResult.fail(
            "source: the project reads an export (source.ldif), not a live server (source.url)",
            error_code=VALIDATION_ERROR,
        )
    snapshot = source_path(migration)
    base = snapshot.with_suffix("")
    if snapshot.exists() and not refresh:
        taken = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(snapshot.stat().st_mtime))
        report_file = base.with_suffix(".report.json")
        # A report older than the snapshot describes an earlier read (another tool wrote the file since).
        fresh = report_file.exists() and report_file.stat().st_mtime >= snapshot.stat().st_mtime
        stored = (read_report(report_file) if fresh else None) or _placed(snapshot, url)
        return FlextResult.ok({**stored, "reused": True, "taken_at": stored.get("taken_at", taken)})
    migration.out.mkdir(parents=True, exist_ok=True)
    with PhaseReport("source", base, source=snapshot, output=snapshot) as report:
        done = export_source(migration.project, snapshot, progress=progress)
        if done.is_failure:
            base.with_suffix(".items.jsonl").unlink(missing_ok=True)
            return done
        read = done.value
        report.counts["in"] = report.counts["out"] = read["entries"]
        report.counts["pages"] = read["pages"]
        if read["referrals"]:
            report.counts["referrals"] = read["referrals"]
            report.item(
                "warning",
                "SOURCE_REFERRAL",
                f"{read['referrals']} referrals under {read['base_dn']!r} were not followed: "
                "read the servers they name separately",
                count=read["referrals"],
            )
        report.summary.update(
            input=url,
            base_dn=read["base_dn"],
            page_size=migration.project.source.page_size,
            taken_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(snapshot.stat().st_mtime)),
            reused=False,
        )
        return FlextResult.ok(report.finish())


def _placed(snapshot: Path, url: str) -> dict[str, Any]:
    """The report of a snapshot put there without one (or written since it): its entries counted."""
    with snapshot.open("rb") as handle:
        entries = sum(line.startswith(b"dn:") for line in handle)
    counts = {"in": entries, "out": entries, "excluded": 0, "failed": 0}
    return {
        "phase": "source", "input": url, "output": str(snapshot),
        "items_file": str(snapshot.with_suffix(".items.jsonl")), "counts": counts,
        "problems": {"error": 0, "warning": 0, "info": 0}, "codes": {}, "seconds": 0,
    }  # fmt: skip


def _run_chain(
    migration: Migration, source: Path, chain: list[str], extra: Mapping[str, Any]
) -> list[dict[str, Any]]:
    with ExitStack() as stack:
        opened: list[tuple[str, PhaseReport, IO[str]]] = []
        for phase in chain:
            _, base = phase_paths(migration, phase)
            report = stack.enter_context(
                PhaseReport(phase, base, source=source, output=base.with_suffix(".ldif"))
            )
            handle = stack.enter_context(
                base.with_suffix(".ldif.partial").open("w", encoding="utf-8", newline="\n")
            )
            opened.append((phase, report, handle))
        opened[0][1].summary.update(extra)
        first = opened[0]
        if first[0] in _WHOLE:
            _WHOLE[first[0]](migration, source, first[2], first[1])
        else:
            records: Iterator[LdifRecord] = _records(migration, source, first[1], count=False)
            last: list[Any] = [None, ""]
            for name, stage, out in opened:
                if name == "output":
                    out.write("version: 1\n\n")
                records = _tee(_TRANSFORMS[name](migration, source, records, stage), out, stage, last)
            for _ in records:
                pass
    done = []
    for name, stage, _ in opened:
        _, base = phase_paths(migration, name)
        base.with_suffix(".ldif.partial").replace(base.with_suffix(".ldif"))
        # The chain's files were closed last phase first; stamp them in chain order, so that no
        # phase's input looks newer than its output to 'plan' (which would call it stale).
        os.utime(base.with_suffix(".ldif"))
        done.append(stage.finish())
    return done


def _tee(
    records: Iterator[LdifRecord], handle: IO[str], report: PhaseReport, last: list[Any]
) -> Iterator[LdifRecord]:
    """Write each record as it passes.

    ``last`` (shared by the chain's tees) holds the record the phase before wrote and its text, reused
    when this phase left the entry as it was (most entries, in most phases).
    """
    for record in records:
        before, text = last
        if before is None or record.dn != before.dn or record.attributes != before.attributes:
            text = format_record(record.dn, record.attributes.items())
            last[0], last[1] = record, text
        handle.write(text)
        report.counts["out"] += 1
        yield record


def _records(
    migration: Migration, path: Path, report: PhaseReport, *, encoding: str = "utf-8", count: bool = True
) -> Iterator[LdifRecord]:
    for item in migration.reader.read(path, encoding=encoding):
        if isinstance(item, LdifProblem):
            report.counts["failed"] += 1
            report.item("error", item.code, item.message, dn=item.dn, line=item.line, file=item.source)
            continue
        if count:
            report.counts["in"] += 1
        yield item


def _write(
    handle: IO[str], report: PhaseReport, dn: str, attributes: Mapping[str, tuple[str | bytes, ...]]
) -> None:
    handle.write(format_record(dn, attributes.items()))
    report.counts["out"] += 1


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def _classes(record: LdifRecord | Mapping[str, tuple[str | bytes, ...]]) -> set[str]:
    attributes = record.attributes if isinstance(record, LdifRecord) else record
    return {_text(value).lower() for value in attributes.get("objectclass", ())}


# -- validate ---------------------------------------------------------------------------------------------


def _validate(migration: Migration, source: Path, handle: IO[str], report: PhaseReport) -> None:
    """LDIF and DN syntax (the reader's problems), duplicates, entries without objectClass, dangling refs.

    What is valid is written unchanged.
    """
    seen: dict[str, int] = {}
    forward: list[tuple[str, int, str, str, str]] = []  # references to DNs not seen yet
    source_ldif = migration.project.source.ldif
    encoding = migration.project.source.encoding if source_ldif is not None else "utf-8"  # the snapshot's
    for record in _records(migration, source, report, encoding=encoding):
        if record.is_change and record.change_type != "add":
            report.counts["failed"] += 1
            report.item(
                "error",
                "VALIDATE_CHANGE_RECORD",
                f"a '{record.change_type}' change record is not an entry of an export; left out",
                dn=record.dn,
                line=record.line,
            )
            continue
        first = seen.get(record.normal_dn)
        if first is not None:
            report.counts["failed"] += 1
            report.item(
                "error",
                "VALIDATE_DUPLICATE_DN",
                f"the same entry as line {first}; the first is kept",
                dn=record.dn,
                line=record.line,
            )
            continue
        if not record.attributes.get("objectclass"):
            report.counts["failed"] += 1
            report.item(
                "error",
                "VALIDATE_NO_OBJECTCLASS",
                "an entry without objectClass; left out",
                dn=record.dn,
                line=record.line,
            )
            continue
        seen[record.normal_dn] = record.line
        for name in _REFERENCES:
            for value in record.attributes.get(name, ()):
                normal = migration.normal(_text(value))
                if normal is None:
                    report.item(
                        "warning",
                        "VALIDATE_BAD_DN_VALUE",
                        f"{name} value {_text(value)!r} is not a DN",
                        dn=record.dn,
                        line=record.line,
                    )
                elif normal not in seen:
                    forward.append((record.dn, record.line, name, _text(value), normal))
        _write(handle, report, record.dn, record.attributes)
    for dn, line, name, value, normal in forward:
        if normal not in seen:
            report.counts["dangling"] += 1
            report.item(
                "warning",
                "VALIDATE_DANGLING_REFERENCE",
                f"{name} {value!r} is not in the export",
                dn=dn,
                line=line,
            )


# -- hierarchy --------------------------------------------------------------------------------------------


def _hierarchy(migration: Migration, source: Path, handle: IO[str], report: PhaseReport) -> None:
    """Exclusion rules, DN rewrite, parents before children (one temporary file per depth), orphans."""
    normalize = migration.normal
    under = [(normalize(rule.under), rule) for rule in migration.rules.exclude if rule.under is not None]
    by_class = {
        rule.objectclass.lower(): rule for rule in migration.rules.exclude if rule.objectclass is not None
    }
    scratch = migration.out / f".{source.stem}.depths"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    buckets: dict[int, IO[str]] = {}
    try:
        for record in _records(migration, source, report):
            reason = _excluded(record, under, by_class)
            if reason is not None:
                report.counts["excluded"] += 1
                report.item("info", "HIERARCHY_EXCLUDED", f"excluded by a rule: {reason}", dn=record.dn)
                continue
            moved = migration.rewrite(record.dn, record.normal_dn)
            if moved is None:
                report.counts["excluded"] += 1
                report.item(
                    "warning",
                    "HIERARCHY_OUTSIDE_BASE",
                    f"not under {migration.rewrite.source}; left out",
                    dn=record.dn,
                )
                continue
            attributes = dict(record.attributes)
            for name in ("manager", "secretary", "seealso", "roleoccupant"):
                if name in attributes:
                    attributes[name] = tuple(_moved(migration, value) for value in attributes[name])
            rdns = split_rdns(moved)
            parent = ",".join(rdns[1:])
            header = [
                normalize(moved) or moved.lower(),
                (normalize(parent) or parent.lower()) if parent else "",
                moved,
            ]
            if len(rdns) not in buckets:
                path = scratch / f"{len(rdns):04d}.ldif"
                buckets[len(rdns)] = path.open("w", encoding="utf-8", newline="\n")
            # Each record is kept with its normal DN and its parent's, so the second pass parses nothing.
            buckets[len(rdns)].write(json.dumps(header) + "\n" + format_record(moved, attributes.items()))
        for bucket in buckets.values():
            bucket.close()
        written = {migration.target_normal}  # OUD's suffix entry is made with the backend, if not here
        base_entry = False
        for depth in sorted(buckets):
            for (normal, parent_normal, moved), text in _bucket(scratch / f"{depth:04d}.ldif"):
                if normal != migration.target_normal and parent_normal not in written:
                    report.counts["excluded"] += 1
                    report.item(
                        "error",
                        "HIERARCHY_ORPHAN",
                        f"its parent {parent_of(moved)!r} is not in the export (or was left out): "
                        "the entry is left out",
                        dn=moved,
                    )
                    continue
                written.add(normal)
                base_entry = base_entry or normal == migration.target_normal
                handle.write(text)
                report.counts["out"] += 1
        if not base_entry:
            report.item(
                "warning",
                "HIERARCHY_NO_BASE_ENTRY",
                f"the export has no entry for the suffix {migration.rewrite.source!r}: the target must have "
                f"{migration.rewrite.target!r} before the load (OUD creates it with the backend)",
            )
    finally:
        for bucket in buckets.values():
            bucket.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _bucket(path: Path) -> Iterator[tuple[list[str], str]]:
    """The ``(header, LDIF text)`` of each record of a depth file.

    Records end at a blank line: the writer never writes one inside a record.
    """
    with path.open(encoding="utf-8", newline="\n") as handle:
        header: list[str] | None = None
        lines: list[str] = []
        for line in handle:
            if header is None:
                header = json.loads(line)
            elif line == "\n":
                lines.append(line)
                yield header, "".join(lines)
                header, lines = None, []
            else:
                lines.append(line)


def _excluded(
    record: LdifRecord, under: list[tuple[str | None, ExcludeRule]], by_class: dict[str, ExcludeRule]
) -> str | None:
    for normal, rule in under:
        if normal is not None and (record.normal_dn == normal or record.normal_dn.endswith("," + normal)):
            return rule.reason
    for name in _classes(record):
        if name in by_class:
            return by_class[name].reason
    return None


def _moved(migration: Migration, value: str | bytes) -> str | bytes:
    if isinstance(value, bytes):
        return value
    normal = migration.normal(value)
    moved = migration.rewrite(value, normal) if normal is not None else None
    return value if moved is None else moved


# -- schema -----------------------------------------------------------------------------------------------


def _schema(
    migration: Migration, source: Path, records: Iterator[LdifRecord], report: PhaseReport
) -> Iterator[LdifRecord]:
    """Object classes and attributes by the documented table; unknown ones kept and reported."""
    unknown: dict[tuple[str, str], list[Any]] = {}
    dropped: Counter[str] = Counter()
    mapped: Counter[str] = Counter()
    extra_drop = {name.lower() for name in migration.rules.drop_attributes}
    extensible, extensible_first = 0, ""
    for record in records:
        report.counts["in"] += 1
        attributes: dict[str, tuple[str | bytes, ...]] = {}
        for name, values in record.attributes.items():
            base = name.split(";", 1)[0]
            if name == "objectclass":
                attributes[name] = _mapped_classes(values, mapped, unknown, record.dn)
                if "orclprivilegegroup" in _classes(record):
                    report.item(
                        "warning",
                        "SCHEMA_PRIVILEGE_GROUP",
                        "an OID privilege group becomes a plain "
                        "group: grant the matching OUD privileges (ds-privilege-name) by hand",
                        dn=record.dn,
                    )
            elif base in OPERATIONAL or base in extra_drop:
                dropped[base] += 1
            else:
                if base not in PHASE and base not in ATTRIBUTES_KEPT:
                    _count_unknown(unknown, ("attribute", base), record.dn)
                attributes[name] = values
        if _keep_through_extensible(record, attributes):
            extensible += 1
            extensible_first = extensible_first or record.dn
        yield replace(record, attributes=attributes)
    if extensible:
        report.item(
            "info",
            "SCHEMA_EXTENSIBLE",
            f"{extensible} entries keep an attribute only an OID class allowed (displayName on a group, "
            "through orclGroup) by adding extensibleObject",
            dn=extensible_first,
            count=extensible,
        )
    for (kind, name), (count, first) in sorted(unknown.items()):
        report.item(
            "warning",
            f"SCHEMA_UNKNOWN_{kind.upper()}",
            f"{kind} {name!r} has no OUD mapping: kept as "
            f"is in {count} entries; add it to the OUD schema or exclude it by a rule",
            dn=first,
            count=count,
        )
    for name, count in sorted(dropped.items()):
        report.item(
            "info",
            "SCHEMA_DROPPED",
            f"operational attribute {name!r} dropped from {count} entries",
            count=count,
        )
    for name, count in sorted(mapped.items()):
        target = CLASSES_MAPPED[name]
        done = f"became {target}" if target else "removed (its attributes are mapped)"
        report.item(
            "info", "SCHEMA_CLASS_MAPPED", f"object class {name!r} {done} in {count} entries", count=count
        )
    report.summary["dropped_attributes"] = dict(sorted(dropped.items()))


def _keep_through_extensible(record: LdifRecord, attributes: dict[str, tuple[str | bytes, ...]]) -> bool:
    """Add ``extensibleObject`` when a removed OID class was all that allowed an attribute still there."""
    classes = _classes(record)
    needed = {
        name
        for removed, allowed in ALLOWED_ONLY_BY.items()
        if removed in classes
        for name in attributes
        if name.split(";", 1)[0] in allowed
    }
    kept = {_text(value).lower() for value in attributes.get("objectclass", ())}
    if not needed or kept & {"inetorgperson", "extensibleobject"}:
        return False
    attributes["objectclass"] = (*attributes.get("objectclass", ()), "extensibleObject")
    return True


def _mapped_classes(
    values: tuple[str | bytes, ...], mapped: Counter[str], unknown: dict[tuple[str, str], list[Any]], dn: str
) -> tuple[str, ...]:
    result: list[str] = []
    for value in values:
        text = _text(value)
        lower = text.lower()
        if lower in CLASSES_MAPPED:
            mapped[lower] += 1
            target = CLASSES_MAPPED[lower]
            if target is not None and target.lower() not in {name.lower() for name in result}:
                result.append(target)
            continue
        if lower not in CLASSES_KEPT:
            _count_unknown(unknown, ("objectclass", lower), dn)
        if lower not in {name.lower() for name in result}:
            result.append(text)
    return tuple(result)


def _count_unknown(unknown: dict[tuple[str, str], list[Any]], key: tuple[str, str], dn: str) -> None:
    found = unknown.setdefault(key, [0, dn])
    found[0] += 1


# -- users ------------------------------------------------------------------------------------------------


def _users(
    migration: Migration, source: Path, records: Iterator[LdifRecord], report: PhaseReport
) -> Iterator[LdifRecord]:
    """Password hashes carried byte for byte; OID-only schemes reported with the accounts to reset.

    ``orclisenabled: DISABLED`` becomes ``ds-pwp-account-disabled: TRUE``; OID verifiers are dropped.
    """
    resets = report.base.with_suffix(".password-resets.txt").open("w", encoding="utf-8")
    schemes: Counter[str] = Counter()
    with resets:
        for record in records:
            report.counts["in"] += 1
            attributes = dict(record.attributes)
            if _PERSON & _classes(record):
                report.counts["accounts"] += 1
            if "userpassword" in attributes:
                kept = tuple(
                    _password(value, record.dn, report, schemes) for value in attributes["userpassword"]
                )
                if None in kept:  # an account to reset, listed once
                    report.counts["password_resets"] += 1
                    resets.write(record.dn + "\n")
                attributes["userpassword"] = tuple(value for value in kept if value is not None)
                if not attributes["userpassword"]:
                    del attributes["userpassword"]
            for name in [
                name for name in attributes if name.split(";", 1)[0] in ("orclpassword", "authpassword")
            ]:
                del attributes[name]
                report.counts["oid_verifiers_dropped"] += 1
            enabled = attributes.pop("orclisenabled", None)
            if enabled and _text(enabled[0]).upper() == "DISABLED":
                attributes["ds-pwp-account-disabled"] = (DISABLED_VALUE,)
                report.counts["disabled"] += 1
            yield replace(record, attributes=attributes)
    report.summary["password_schemes"] = dict(sorted(schemes.items()))
    if report.counts["oid_verifiers_dropped"]:
        report.item(
            "info",
            "USERS_OID_VERIFIER_DROPPED",
            "orclPassword/authPassword (OID database verifiers) "
            f"dropped from {report.counts['oid_verifiers_dropped']} entries: OUD has no use for them",
        )


def _password(value: str | bytes, dn: str, report: PhaseReport, schemes: Counter[str]) -> str | bytes | None:
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    end = raw.find(b"}")
    if not raw.startswith(b"{") or end < 0:
        schemes["(cleartext)"] += 1
        report.item(
            "warning",
            "USERS_CLEARTEXT_PASSWORD",
            "a cleartext userPassword: OUD hashes it on add; check why OID held it in clear",
            dn=dn,
        )
        return value
    scheme = raw[1:end].decode("ascii", errors="replace").upper()
    schemes[scheme] += 1
    if scheme in OUD_SCHEMES:
        return value
    report.item(
        "warning",
        "USERS_PASSWORD_RESET",
        f"{{{scheme}}} is an OID-only scheme OUD cannot verify: the "
        "value is left out and the account needs a password reset",
        dn=dn,
        scheme=scheme,
    )
    return None


# -- groups -----------------------------------------------------------------------------------------------


def _groups(
    migration: Migration, source: Path, records: Iterator[LdifRecord], report: PhaseReport
) -> Iterator[LdifRecord]:
    """Member, uniqueMember and owner DNs moved to the target suffix; dynamic groups made groupOfURLs.

    Nested groups are counted; a dynamic group's labeledURI becomes memberURL, its base DN moved.
    """
    groups = {
        record.normal_dn
        for record in _records(migration, source, report, count=False)
        if _GROUP & _classes(record)
    }
    for record in records:
        report.counts["in"] += 1
        classes = _classes(record)
        if not _GROUP & classes:
            yield record
            continue
        report.counts["groups"] += 1
        attributes = dict(record.attributes)
        for name in ("member", "uniquemember", "owner"):
            if name in attributes:
                attributes[name] = tuple(
                    _member(migration, report, record.dn, name, v, groups) for v in attributes[name]
                )
        if "groupofurls" in classes or "labeleduri" in attributes:
            _dynamic(migration, report, record.dn, attributes)
        elif not attributes.get("member") and not attributes.get("uniquemember"):
            report.item(
                "warning",
                "GROUPS_EMPTY",
                "a static group without members: OUD's groupOfNames and groupOfUniqueNames require one",
                dn=record.dn,
            )
        yield replace(record, attributes=attributes)


def _member(
    migration: Migration, report: PhaseReport, dn: str, name: str, value: str | bytes, groups: set[str]
) -> str | bytes:
    text = _text(value)
    normal = migration.normal(text)
    if normal is None:
        report.item("warning", "GROUPS_BAD_MEMBER_DN", f"{name} {text!r} is not a DN: kept as is", dn=dn)
        return value
    moved = migration.rewrite(text, normal)
    if moved is None:
        report.item(
            "warning",
            "GROUPS_MEMBER_OUTSIDE_BASE",
            f"{name} {text!r} is not under {migration.rewrite.source}: kept as is",
            dn=dn,
        )
        return value
    if name != "owner" and migration.normal(moved) in groups:
        report.counts["nested_members"] += 1
    report.counts["members"] += name != "owner"
    return moved


def _dynamic(
    migration: Migration, report: PhaseReport, dn: str, attributes: dict[str, tuple[str | bytes, ...]]
) -> None:
    report.counts["dynamic_groups"] += 1
    urls = [_url(migration, report, dn, _text(value)) for value in attributes.pop("labeleduri", ())]
    attributes["memberurl"] = (*attributes.get("memberurl", ()), *urls)
    classes = [_text(value) for value in attributes.get("objectclass", ())]
    lower = {name.lower() for name in classes}
    if "groupofurls" not in lower:
        classes.append("groupOfURLs")
    if not attributes.get("uniquemember"):
        classes = [name for name in classes if name.lower() != "groupofuniquenames"]
    if not attributes.get("member"):
        classes = [name for name in classes if name.lower() != "groupofnames"]
    attributes["objectclass"] = tuple(classes)


def _url(migration: Migration, report: PhaseReport, dn: str, url: str) -> str:
    scheme, _, rest = url.partition("://")
    host, slash, tail = rest.partition("/")
    if scheme.lower() != "ldap" or not slash:
        report.item(
            "warning", "GROUPS_BAD_URL", f"labeledURI {url!r} is not an ldap:/// URL: kept as is", dn=dn
        )
        return url
    if host:
        report.item(
            "warning",
            "GROUPS_URL_HOST",
            f"labeledURI {url!r} names host {host!r}: OUD evaluates a dynamic group on its own data only",
            dn=dn,
        )
    base, mark, query = tail.partition("?")
    if "orcl" in query.lower():
        report.item(
            "warning",
            "GROUPS_URL_OID_ATTRIBUTE",
            f"labeledURI {url!r} filters on an OID attribute the migration maps or drops: rewrite the filter "
            "for OUD (orclisenabled=ENABLED is (!(ds-pwp-account-disabled=TRUE)))",
            dn=dn,
        )
    written = unquote(base)
    normal = migration.normal(written)
    moved = migration.rewrite(written, normal) if normal is not None else None
    if moved is None:
        report.item(
            "warning",
            "GROUPS_URL_OUTSIDE_BASE",
            f"labeledURI {url!r}: its base is not under {migration.rewrite.source}: kept as is",
            dn=dn,
        )
        return url
    moved = quote(moved, safe="=,+;") if "%" in base else moved
    return f"{scheme}://{host}/{moved}{mark}{query}"


# -- acl --------------------------------------------------------------------------------------------------


def _acl(
    migration: Migration, source: Path, records: Iterator[LdifRecord], report: PhaseReport
) -> Iterator[LdifRecord]:
    """``orclaci``/``orclentrylevelaci`` to ``aci`` with the translator (docs/algar.md, "ACL translation").

    DNs in the ACIs are moved to the target suffix; the cross-policy-point warnings come at the end.
    """
    from flext_plugin_algar.acl import AclKind, global_aci_removals, translate_acl, translate_entries

    kinds = (("orclaci", AclKind.PRESCRIPTIVE), ("orclentrylevelaci", AclKind.ENTRY_LEVEL))
    collected: list[tuple[str, AclKind, str]] = []
    for record in records:
        report.counts["in"] += 1
        attributes = dict(record.attributes)
        acis: list[str | bytes] = list(attributes.get("aci", ()))
        for name, kind in kinds:
            for index, value in enumerate(attributes.pop(name, ())):
                text = _text(value)
                done = translate_acl(text, entry_dn=record.dn, kind=kind, index=index)
                collected.append((record.dn, kind, text))
                report.counts["oid_acls"] += 1
                report.counts["oid_acls_failed"] += done.failed
                for item in done.items:
                    report.item(
                        item.severity.value,
                        item.code,
                        item.message,
                        dn=record.dn,
                        text=item.text,
                        clause=item.clause or None,
                    )
                acis += [_aci_dns(migration, aci) for aci in done.acis]
        if acis:
            attributes["aci"] = tuple(acis)
            report.counts["acis"] += len(acis) - len(record.attributes.get("aci", ()))
        yield replace(record, attributes=attributes)
    cross = {"ACL_INHERITED_GRANT", "ACL_DENY_OVERRIDES_NEARER_GRANT"}
    for translation in translate_entries(collected):
        for item in translation.items:
            if item.code in cross:
                report.item(
                    item.severity.value, item.code, item.message, dn=translation.entry_dn, text=item.text
                )
    report.summary["global_aci_removals"] = global_aci_removals()


def _aci_dns(migration: Migration, aci: str) -> str:
    def move(found: re.Match[str]) -> str:
        return "ldap:///" + str(_moved(migration, found.group(1)))

    return _LDAP_URL_DN.sub(move, aci)


# -- output -----------------------------------------------------------------------------------------------


def _output(
    migration: Migration, source: Path, records: Iterator[LdifRecord], report: PhaseReport
) -> Iterator[LdifRecord]:
    """The LDIF for ``ldapadd``: parents first, every entry under the target suffix with an objectClass."""
    suffix = "," + migration.target_normal
    for record in records:
        report.counts["in"] += 1
        classes = _classes(record)
        if record.normal_dn != migration.target_normal and not record.normal_dn.endswith(suffix):
            report.counts["failed"] += 1
            report.item("error", "OUTPUT_OUTSIDE_TARGET", "not under the target suffix", dn=record.dn)
            continue
        kind = "users" if _PERSON & classes else "groups" if _GROUP & classes else "containers"
        report.counts[kind] += 1
        yield record
    target = migration.project.target
    report.summary["load"] = (
        f"ldapadd -x -H {target.url} -D '{target.bind_dn}' -W -c -f {source.parent / '07-output.ldif'}"
    )


_Whole = Callable[[Migration, Path, IO[str], PhaseReport], None]
_Transform = Callable[[Migration, Path, Iterator[LdifRecord], PhaseReport], Iterator[LdifRecord]]
_WHOLE: Final[dict[str, _Whole]] = {"validate": _validate, "hierarchy": _hierarchy}
_TRANSFORMS: Final[dict[str, _Transform]] = {
    "schema": _schema,
    "users": _users,
    "groups": _groups,
    "acl": _acl,
    "output": _output,
}
