"""``flext data ldif inspect FILE...``: what the tap would read from LDIF files, without running it.

Parses the files with the tap's parser and stream rules (no Singer SDK is
loaded) and counts the entries per stream and per change type. A malformed
file is one line, ``error: <file>:<line>: <what is wrong> (VALIDATION_ERROR)``,
and exit code 2. URL values (``attr:< file:///...``) are read as the tap reads
them: refused unless ``--allow-url-values --url-values-dir DIR`` allow them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from flext_kernel.errors import VALIDATION_ERROR
from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import CHANGE_TYPES
from flext_plugin_ldif.records import STREAMS, entries_with_streams, url_values
from flext_sdk.cli import EXIT_USAGE, current, emit, emit_error, emit_table, note

__all__ = ["inspect"]


def inspect(
    files: list[Path],
    /,
    *,
    encoding: str = "utf-8",
    base_dn: str | None = None,
    allow_url_values: bool = False,
    url_values_dir: Path | None = None,
) -> int:
    """Count the entries of LDIF files per stream and change type, or show the first error in them.

    Args:
        files: The LDIF files.
        encoding: The files' text encoding.
        base_dn: Count only entries at or under this DN.
        allow_url_values: Read 'attr:< file:///...' values (off by default: they can name any file).
        url_values_dir: The only directory URL values may read from (with --allow-url-values).

    """
    counts: Counter[tuple[str, str]] = Counter()
    try:
        urls = url_values(
            allow_url_values,
            url_values_dir,
            allow_setting="--allow-url-values",
            directory_setting="--url-values-dir",
            how_to_allow="pass --allow-url-values --url-values-dir <directory of the file>",
        )
        for _, entry, stream, _ in entries_with_streams(
            files, encoding=encoding, base_dn=base_dn, url_values=urls
        ):
            counts[stream, entry.change_type] += 1
    except LdifError as exc:
        return emit_error(str(exc), VALIDATION_ERROR, exit_code=EXIT_USAGE)
    total = sum(counts.values())
    if current().output != "table":
        return emit(
            {
                "files": [str(path) for path in files],
                "entries": total,
                "streams": {stream: _sum(counts, stream=stream) for stream in STREAMS},
                "change_types": {change: _sum(counts, change=change) for change in CHANGE_TYPES},
                "by_stream_and_change_type": {
                    stream: {change: counts[stream, change] for change in CHANGE_TYPES} for stream in STREAMS
                },
            }
        )
    rows: list[dict[str, object]] = [
        {
            "stream": stream,
            **{change: counts[stream, change] for change in CHANGE_TYPES},
            "total": _sum(counts, stream=stream),
        }
        for stream in STREAMS
    ]
    rows.append(
        {
            "stream": "total",
            **{change: _sum(counts, change=change) for change in CHANGE_TYPES},
            "total": total,
        }
    )
    note(f"{total} entries in {len(files)} file{'s' if len(files) != 1 else ''}")
    return emit_table(rows, ["stream", *CHANGE_TYPES, "total"], title="LDIF entries")


def _sum(counts: Counter[tuple[str, str]], *, stream: str | None = None, change: str | None = None) -> int:
    return sum(
        count
        for (entry_stream, entry_change), count in counts.items()
        if stream in (None, entry_stream) and change in (None, entry_change)
    )
