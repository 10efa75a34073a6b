"""Each phase's report: counts, problems by code with the first examples, and every item in JSON Lines.

A phase writes ``NN-<phase>.items.jsonl`` as it goes (one item a line:
severity, code, message, entry, line), so a million items cost no memory,
and ``NN-<phase>.report.json`` when it ends: entries in, out, excluded and
failed, the seconds it took, and per code how many items and the first
``EXAMPLES`` of them. ``flext algar migration status`` reads the reports.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

__all__ = ["EXAMPLES", "PhaseReport", "Severity", "read_report"]

EXAMPLES: Final = 5
"""Items kept in the report per code (all of them are in the items file)."""

Severity = Literal["info", "warning", "error"]
"""``info``: done by a documented rule; ``warning``: done, but look; ``error``: an entry or value left out."""


class PhaseReport:
    """The report of one phase run; use as a context manager, ``finish`` writes it."""

    def __init__(
        self, phase: str, base: Path, *, source: Path, output: Path, resume: Mapping[str, int] | None = None
    ) -> None:
        """``resume``: the counts of the run this one finishes (a resumed sync); its items are kept."""
        self.phase = phase
        """The phase's name."""
        self.counts: Counter[str] = Counter()
        """``in``, ``out``, ``excluded``, ``failed`` and phase-specific counts."""
        self.codes: Counter[str] = Counter()
        self._severities: dict[str, str] = {}
        self._examples: dict[str, list[dict[str, Any]]] = {}
        self.base = base
        """Where the phase's files are: ``base.ldif``, ``base.report.json``, ``base.items.jsonl``..."""
        self._source = source
        self._output = output
        self._started = time.monotonic()
        items = base.with_suffix(".items.jsonl")
        if resume is not None:  # the killed run's items stay, and count: its refusals are this run's too
            self.counts.update(resume)
            if items.exists():
                for line in items.read_text(encoding="utf-8").splitlines():
                    try:
                        kept = json.loads(line)
                    except ValueError:
                        continue  # the last line a kill cut short
                    self._count(kept)
        self._items = items.open("a" if resume is not None else "w", encoding="utf-8")
        self.summary: dict[str, Any] = {}
        """Phase-specific results added to the report (lists, tables)."""

    def item(
        self, severity: Severity, code: str, message: str, *, dn: str | None = None, line: int | None = None,
        **extra: Any,
    ) -> None:  # fmt: skip
        """Report one thing a person should know, naming the entry and the line where there is one."""
        record = {"severity": severity, "code": code, "message": message, "dn": dn, "line": line, **extra}
        self._items.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._count(record)

    def _count(self, record: dict[str, Any]) -> None:
        code = str(record.get("code"))
        self.codes[code] += 1
        self._severities[code] = str(record.get("severity"))
        examples = self._examples.setdefault(code, [])
        if len(examples) < EXAMPLES:
            examples.append(record)

    def finish(self) -> dict[str, Any]:
        """Write ``NN-<phase>.report.json`` and return it."""
        self._items.close()
        report = {
            "phase": self.phase,
            "input": str(self._source),
            "output": str(self._output),
            "items_file": str(self.base.with_suffix(".items.jsonl")),
            "counts": {key: self.counts[key] for key in ("in", "out", "excluded", "failed")}
            | {
                key: value
                for key, value in sorted(self.counts.items())
                if key not in ("in", "out", "excluded", "failed")
            },
            "problems": {
                severity: sum(n for code, n in self.codes.items() if self._severities[code] == severity)
                for severity in ("error", "warning", "info")
            },
            "codes": {
                code: {"severity": self._severities[code], "count": count, "examples": self._examples[code]}
                for code, count in sorted(self.codes.items())
            },
            "seconds": round(time.monotonic() - self._started, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **self.summary,
        }
        path = self.base.with_suffix(".report.json")
        partial = path.with_suffix(".json.partial")
        partial.write_text(
            json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        partial.replace(path)  # a report is there whole or not at all
        return report

    def __enter__(self) -> PhaseReport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._items.close()


def read_report(path: Path) -> dict[str, Any] | None:
    """A phase report written by ``finish``, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
