"""``verify``: the source after mapping (``07-output.ldif``) against the target, entry by entry.

Each source entry is looked up on the target (in batches, as sync reads
them) and compared attribute by attribute with ``directory.differences``:
DNs by their normal form (``Migration.normal``), attribute names
case-insensitively, values decoded (binary as bytes); the target's
operational attributes are left out unless the source entry has them. An
entry is *missing* (in the source, not on the target), *different* (an
attribute-level diff: what only the source has, what only the target has)
or the same. Then every DN under the target suffix is listed (a paged
search) and each one the source does not have is *extra*.

Memory stays bounded: one batch of entries at a time, and for "extra" a set
of 16-byte digests of the source's normal DNs (about 100 bytes each, 100 MB
for a million entries). The report is ``09-verify.report.json`` (counts, the
first examples per kind) and ``09-verify.items.jsonl`` (every difference);
``clean`` is true when nothing is missing, extra or different.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from flext_kernel.errors import NOT_FOUND
from flext_plugin_algar.directory import Difference, Directory, connect, differences
from flext_plugin_algar.phases import Migration
from flext_plugin_algar.report import PhaseReport
from flext_plugin_algar.sync import output_ldif
from flext_sdk import FlextResult
from flext_sdk.contracts.ldif import LdifProblem, LdifRecord

__all__ = ["REPORT_BASE", "run_verify", "shown"]

REPORT_BASE: Final = "09-verify"
"""``<output>/09-verify.report.json`` and ``.items.jsonl``."""
_BATCH: Final = 500
_SHOWN: Final = 5
_SECRET: Final = frozenset({"userpassword", "authpassword"})


def run_verify(migration: Migration) -> FlextResult[dict[str, Any]]:
    """Compare ``07-output.ldif`` with the target; the report's dict (``clean``, counts, examples)."""
    source = output_ldif(migration)
    if not source.exists():
        return FlextResult.fail(
            f"{source}: no such file (run 'flext algar migration run' first: verify compares its output)",
            error_code=NOT_FOUND,
            error_data={"file": str(source)},
        )
    connected = connect(migration.project)
    if connected.is_failure:
        return FlextResult.fail(connected.error or "", connected.error_code, connected.error_data)
    with connected.value as directory:
        return _verify(migration, directory, source)


def _verify(migration: Migration, directory: Directory, source: Path) -> FlextResult[dict[str, Any]]:
    base = migration.out / REPORT_BASE
    with PhaseReport("verify", base, source=source, output=base.with_suffix(".report.json")) as report:
        report.summary["target"] = directory.url
        seen: set[bytes] = set()
        for batch in _batches(migration, source, report):
            done = _compare(migration, directory, batch, report, seen)
            if done.is_failure:
                return FlextResult.fail(
                    f"verify stopped at entry {batch[0].dn!r} (line {batch[0].line}): {done.error}",
                    error_code=done.error_code,
                    error_data=done.error_data,
                )
        extra = _extra(migration, directory, report, seen)
        if extra.is_failure:
            return FlextResult.fail(extra.error or "", extra.error_code, extra.error_data)
        counts = report.counts
        for key in ("same", "missing", "different", "extra"):
            counts[key] += 0  # present in the report even when zero
        counts["out"] = counts["same"]
        report.summary["clean"] = not (
            counts["missing"] or counts["different"] or counts["extra"] or counts["failed"]
        )
        return FlextResult.ok(report.finish())


def _batches(migration: Migration, source: Path, report: PhaseReport) -> Iterator[list[LdifRecord]]:
    batch: list[LdifRecord] = []
    for item in migration.reader.read(source):
        if isinstance(item, LdifProblem):
            report.counts["failed"] += 1
            report.item("error", item.code, item.message, dn=item.dn, line=item.line, file=item.source)
            continue
        batch.append(item)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _compare(
    migration: Migration,
    directory: Directory,
    batch: Sequence[LdifRecord],
    report: PhaseReport,
    seen: set[bytes],
) -> FlextResult[None]:
    names = {name for record in batch for name in record.attributes}
    read = directory.read([record.dn for record in batch], names)
    if read.is_failure:
        return FlextResult.fail(read.error or "", read.error_code, read.error_data)
    found = {migration.normal(entry.dn) or entry.dn.lower(): entry for entry in read.value}
    for record in batch:
        report.counts["in"] += 1
        seen.add(_digest(record.normal_dn))
        entry = found.get(record.normal_dn)
        if entry is None:
            report.counts["missing"] += 1
            report.item(
                "error", "VERIFY_MISSING", "in the source, not on the target", dn=record.dn, line=record.line
            )
            continue
        diff = differences(record.attributes, entry.attributes, migration.normal, directory.schema)
        if not diff:
            report.counts["same"] += 1
            continue
        report.counts["different"] += 1
        report.item(
            "error",
            "VERIFY_DIFFERENT",
            f"differs in {', '.join(d.attribute for d in diff)}",
            dn=record.dn,
            line=record.line,
            differences=[_shown_difference(d) for d in diff],
        )
    return FlextResult.ok(None)


def _extra(
    migration: Migration, directory: Directory, report: PhaseReport, seen: set[bytes]
) -> FlextResult[None]:
    for listed in directory.dns(migration.project.base_dn.target):
        if listed.is_failure:
            return FlextResult.fail(listed.error or "", listed.error_code, listed.error_data)
        dn = listed.value
        if _digest(migration.normal(dn) or dn.lower()) not in seen:
            report.counts["extra"] += 1
            report.item("error", "VERIFY_EXTRA", "on the target, not in the source", dn=dn)
    return FlextResult.ok(None)


def _digest(normal_dn: str) -> bytes:
    return hashlib.blake2b(normal_dn.encode("utf-8"), digest_size=16).digest()


def _shown_difference(difference: Difference) -> dict[str, Any]:
    name = difference.attribute
    return {
        "attribute": name,
        "only_in_source": shown(name, difference.missing),
        "only_in_target": shown(name, difference.surplus),
    }


def shown(attribute: str, values: Sequence[str | bytes]) -> list[str]:
    """Values as a report shows them: text as is, binary as ``base64:...``, password hashes hidden.

    At most five values, then ``... and N more``; long values are cut at 200 characters.
    """
    texts: list[str] = []
    for value in values[:_SHOWN]:
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if attribute.split(";", 1)[0] in _SECRET:
            scheme = raw[: raw.find(b"}") + 1].decode("ascii", "replace") if raw.startswith(b"{") else ""
            texts.append(f"{scheme}<hidden, {len(raw)} bytes>")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = "base64:" + base64.b64encode(raw).decode("ascii")
        texts.append(text if len(text) <= 200 else text[:200] + "...")
    if len(values) > _SHOWN:
        texts.append(f"... and {len(values) - _SHOWN} more")
    return texts
