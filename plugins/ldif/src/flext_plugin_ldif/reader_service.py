"""The ``LdifReader`` service (``flext_sdk.contracts.ldif``): this plugin's parser for other plugins.

Registered in the container by ``plugin.flext_register_services``; other
plugins (``algar``) resolve it and never import this package. It is
``read_ldif`` and ``normalize_dn`` behind the contract, with one difference:
a record the parser refuses is an ``LdifProblem`` (file, line, reason) in the
stream instead of an ``LdifError`` that ends it, and reading goes on with
the next record. The parser reads ahead in blocks, so when it fails, the
records it had read but not yet yielded are read again one by one from
their byte offsets (``read_ldif_part``); a file without errors is read in
one streaming pass, as ``read_ldif`` reads it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Generator, Iterator
from os import PathLike

from flext_plugin_ldif.dn import DnNormalizer
from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import LdifEntry, read_ldif_part
from flext_sdk.contracts.ldif import LDIF_DN, LDIF_FILE, LdifItem, LdifModification, LdifProblem, LdifRecord

__all__ = ["LdifReaderService"]


class LdifReaderService:
    """The ``LdifReader`` of the ldif plugin: its parser and its DN normal form, problems as items."""

    def __init__(self) -> None:
        self._normalizer = DnNormalizer()

    def normalize_dn(self, dn: str) -> str | None:
        """The normal form of ``dn`` (``flext_plugin_ldif.dn``), or None when it is not a DN."""
        try:
            return self._normalizer(dn)
        except ValueError:
            return None

    def read(self, path: str | PathLike[str], *, encoding: str = "utf-8") -> Iterator[LdifItem]:
        """Every record of the file as an ``LdifRecord``; a record that cannot be read as an ``LdifProblem``.

        URL values are refused (each such record is a problem), as ``read_ldif`` refuses them by default.
        """
        source = str(path)
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            yield LdifProblem(source, None, f"cannot read the file: {exc.strerror or exc}", LDIF_FILE)
            return
        start, first_line = 0, 1
        while start < size:
            last = 0  # the dn line of the last record yielded from this part
            try:
                for entry in read_ldif_part(path, start, size, first_line, encoding=encoding):
                    last = entry.line
                    yield self._item(entry, source)
                return
            except LdifError as error:
                if error.line is None:
                    yield LdifProblem(source, None, error.reason, LDIF_FILE)
                    return
                resume = yield from self._around(path, source, start, first_line, last, error, encoding)
            if resume is None:
                return
            start, first_line = resume

    def _around(
        self,
        path: str | PathLike[str],
        source: str,
        start: int,
        first_line: int,
        last: int,
        error: LdifError,
        encoding: str,
    ) -> Generator[LdifItem, None, tuple[int, int] | None]:
        """The records the parser did not yield before ``error``, one by one, then the problem.

        Returns where to go on: the record after the bad one (None at the end of the file).
        """
        line = error.line or 0
        for record_start, record_end, record_first, record_last in _records_from(path, start, first_line):
            if record_first <= last:
                continue  # yielded already
            if record_last < line:  # read ahead by the parser but not yielded: read it alone
                try:
                    for entry in read_ldif_part(
                        path, record_start, record_end, record_first, encoding=encoding
                    ):
                        yield self._item(entry, source)
                except LdifError as alone:
                    yield LdifProblem(source, alone.line, alone.reason)
                continue
            yield LdifProblem(source, line, error.reason)
            return (record_end, record_last + 2) if record_first <= line else (record_start, record_first)
        yield LdifProblem(source, line, error.reason)
        return None

    def _item(self, entry: LdifEntry, source: str) -> LdifItem:
        normal = self.normalize_dn(entry.dn)
        if normal is None:
            return LdifProblem(source, entry.line, f"{entry.dn!r} is not a DN", LDIF_DN, entry.dn)
        binary = entry.binary
        attributes = {
            name: tuple(base64.b64decode(v) for v in values) if name in binary else tuple(values)
            for name, values in entry.attributes.items()
        }
        modifications = tuple(
            LdifModification(
                change.operation,
                change.attribute,
                tuple(base64.b64decode(v) for v in change.values) if change.binary else change.values,
            )
            for change in entry.modifications
        )
        return LdifRecord(
            source, entry.line, entry.dn, normal, attributes, entry.change_type,  # type: ignore[arg-type]  # the parser's change types are ChangeType's
            entry.is_change, modifications, entry.new_rdn, entry.delete_old_rdn, entry.new_superior,
        )  # fmt: skip


def _records_from(
    path: str | PathLike[str], start: int, first_line: int
) -> Iterator[tuple[int, int, int, int]]:
    """``(start, end, first line, last line)`` of each record from byte ``start`` (line ``first_line``) on."""
    with open(path, "rb") as handle:
        handle.seek(start)
        offset, number = start, first_line - 1
        begin: tuple[int, int] | None = None
        end = start
        for raw in handle:
            number += 1
            if raw.rstrip(b"\r\n") == b"":
                if begin is not None:  # the record ends after this blank line
                    yield begin[0], offset + len(raw), begin[1], number - 1
                    begin = None
            elif begin is None:
                begin = (offset, number)
            offset += len(raw)
            end = offset
        if begin is not None:
            yield begin[0], end, begin[1], number
