"""A streaming RFC 2849 LDIF parser: one entry at a time, whatever the size of the file.

``read_ldif(path)`` and ``parse_ldif(text_or_lines)`` yield ``LdifEntry``
objects as they are read; nothing but the current record is held in memory,
so a file of millions of entries is parsed in flat memory.

What is understood (RFC 2849):

- an optional ``version: 1`` line at the top;
- comments (``#``), including comments folded over several lines;
- folded lines: a line starting with one space continues the previous line
  (the space is dropped);
- ``attr: value``, ``attr:: base64`` and ``attr:< file:///path`` (see "URL
  values" below); attribute options (``cn;lang-en``);
- LF or CRLF line ends; records separated by blank lines;
- change records: ``changetype: add|delete|modify|modrdn|moddn`` with
  ``control:`` lines, ``add:``/``replace:``/``delete:`` modifications ended
  by ``-``, ``newrdn``, ``deleteoldrdn`` and ``newsuperior``.

Attribute names are read through the schema (``flext_plugin_ldif.schema``):
case-insensitive, aliases merged under the canonical name (``commonName`` and
``2.5.4.3`` are ``cn``), options lower-cased and kept apart (``cn;lang-pt``).
Values are kept as written, but for the spaces and tabs OpenLDAP drops after
the ``:``. An attribute whose syntax holds octets (``jpegPhoto``, ``audio``,
``userCertificate``, ``userPassword``, the ``;binary`` option...) has all its
values as base64 strings and is listed in ``binary``, whatever its bytes; a
text attribute is given the same way, in that entry, when one of its values is
not UTF-8 or holds a NUL. Folded lines are joined before their bytes are
decoded, so a fold may cut a multi-byte character.

Where RFC 2849 leaves room, the parser reads as OpenLDAP's ``ldapadd`` does: a
line of spaces continues the line before it (so it does not separate records,
and alone it is an error), and the trailer ``ldapsearch`` writes without
``-L`` (``search: N`` / ``result: 0 Success``) is accepted, while any other
result (a size limit...) is an error, since the file then lacks entries.
Deliberately lenient, because real exports are: values may hold non-ASCII
text in the file's encoding, attribute names may hold ``_``, the final ``-``
of a modify record may be missing, content and change records may be mixed.

URL values (``attr:< file:///path``) are **refused unless allowed**: a URL
value makes whoever reads the LDIF file read *another* file, so an untrusted
LDIF file could pull ``/etc/shadow`` or a private key into the loaded data.
Pass ``url_values=UrlValues.under(directory)`` to read ``file:`` URLs of files
under that directory (resolved: symlinks and ``..`` cannot lead out of it).
Other schemes (``http:``, ``ftp:``...) are never read.

A file that is not LDIF raises ``LdifError`` naming the file and line, what is
wrong and how to fix it.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import errno
import os
import re
import stat
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from os import PathLike
from pathlib import Path
from typing import IO, Final
from urllib.parse import unquote, urlsplit

from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.schema import DEFAULT_SCHEMA, Schema

__all__ = [
    "CHANGE_TYPES",
    "MODIFY_OPERATIONS",
    "Control",
    "LdifEntry",
    "Modification",
    "SearchResult",
    "UrlValues",
    "parse_ldif",
    "read_ldif",
    "read_ldif_part",
    "record_boundaries",
]

CHANGE_TYPES: Final = ("add", "delete", "modify", "modrdn")
"""The change types an entry can have (``moddn`` is read as ``modrdn``; content records are ``add``)."""
MODIFY_OPERATIONS: Final = frozenset({"add", "delete", "replace", "increment"})
"""The operations of a modify record (``increment`` is RFC 4525)."""

_ATTRIBUTE_NAME = re.compile(r"(?:[A-Za-z][A-Za-z0-9_-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9_-]+)*")
_RESERVED = frozenset({"dn", "changetype"})
_CHANGETYPES = {"add": "add", "delete": "delete", "modify": "modify", "modrdn": "modrdn", "moddn": "modrdn"}
_NAME_CACHE_LIMIT = 4096
_SHOWN = 60  # characters of an offending line quoted in an error message
_CHUNK = 1 << 20  # characters read at a time
_FILL = " \t\v\f"  # what OpenLDAP drops between ':' and a value (C isspace)
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte not in the encoding, read with surrogateescape
_HOW_TO_ALLOW: Final = "pass url_values=UrlValues.under(<directory of the file>) to read_ldif or parse_ldif"


@dataclass(frozen=True, slots=True)
class Modification:
    """One ``add:``/``delete:``/``replace:`` block of a modify record."""

    operation: str
    """``add``, ``delete``, ``replace`` or ``increment``."""
    attribute: str
    """The lower-cased attribute description it changes (``cn;lang-en``)."""
    values: tuple[str, ...] = ()
    """The values (none for "delete all values" and "replace with nothing")."""
    binary: bool = False
    """True when some value is not UTF-8: then every value is a base64 string."""


@dataclass(frozen=True, slots=True)
class Control:
    """A ``control:`` line of a change record."""

    oid: str
    """The control's OID."""
    critical: bool = False
    """Its criticality."""
    value: str | None = None
    """Its value, or None."""
    binary: bool = False
    """True when the value is not UTF-8 and is given as a base64 string."""


@dataclass(frozen=True, slots=True)
class LdifEntry:
    """One LDIF record: a directory entry, or a change to one."""

    dn: str
    """The distinguished name, as written."""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    """Lower-cased attribute description to its values, in file order (empty for delete/modrdn/modify)."""
    change_type: str = "add"
    """``add`` (also for plain content records), ``delete``, ``modify`` or ``modrdn``."""
    line: int = 0
    """The line of the record's ``dn:``."""
    is_change: bool = False
    """True when the record had a ``changetype:`` line (``changetype: add`` vs a content record)."""
    modifications: tuple[Modification, ...] = ()
    """The modifications of a modify record, in order."""
    new_rdn: str | None = None
    """``newrdn`` of a modrdn record."""
    delete_old_rdn: bool | None = None
    """``deleteoldrdn`` of a modrdn record."""
    new_superior: str | None = None
    """``newsuperior`` of a modrdn record, if given."""
    controls: tuple[Control, ...] = ()
    """The ``control:`` lines of a change record."""
    binary: frozenset[str] = frozenset()
    """Attributes whose values are all base64 strings, because one of them is not UTF-8."""


@dataclass(frozen=True, slots=True)
class UrlValues:
    """Which ``attr:< URL`` values (RFC 2849) the parser reads: by default (``UrlValues()``) none.

    A URL value makes the reader of an LDIF file read another file, chosen by
    whoever wrote the LDIF. Read by default, an untrusted file could pull any
    file the process can read (``/etc/shadow``, ``~/.ssh/id_rsa``) into the
    loaded data; so they are read only where the user allowed them, and only
    from one directory the user chose.
    """

    directory: Path | None = None
    """The directory (resolved: no symlinks, no ``..``) whose files ``file:`` URLs may name; None: none."""
    how_to_allow: str = _HOW_TO_ALLOW
    """How the user allows URL values where they run the parser: the end of the refusal message."""
    directory_setting: str = "UrlValues.under(directory)"
    """Where the user set the directory (a setting's name), for the messages about it."""

    @classmethod
    def under(
        cls,
        directory: str | PathLike[str],
        *,
        how_to_allow: str = _HOW_TO_ALLOW,
        directory_setting: str = "UrlValues.under(directory)",
    ) -> UrlValues:
        """Allow ``file:`` URLs of files under ``directory`` (``~`` expanded; resolved now, once).

        Raises:
            LdifError: ``directory`` does not exist or is not a directory.

        """
        given = os.path.expanduser(os.fspath(directory))
        try:
            resolved = Path(given).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            resolved = None
        if resolved is None or not resolved.is_dir():
            raise LdifError(given, None, f"no such directory; check {directory_setting}")
        return cls(resolved, how_to_allow, directory_setting)


_REFUSE: Final = UrlValues()


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The trailer ``ldapsearch`` prints without ``-L`` (``search: 2`` / ``result: 0 Success``)."""

    code: int
    """The LDAP result code (0: the search returned everything it found)."""
    text: str
    """The result's text (``Success``, ``Size limit exceeded``...)."""
    line: int
    """The line of ``search:``."""


def read_ldif(
    path: str | PathLike[str],
    *,
    encoding: str = "utf-8",
    url_values: UrlValues | None = None,
    schema: Schema = DEFAULT_SCHEMA,
    on_search_result: Callable[[SearchResult], None] | None = None,
) -> Iterator[LdifEntry]:
    """Yield the entries of an LDIF file one by one, reading it as it goes.

    Args:
        path: The file.
        encoding: The file's text encoding (a UTF-8 byte order mark is skipped).
        url_values: Which ``attr:< URL`` values may be read; by default none (see ``UrlValues``).
        schema: Attribute aliases and binary syntaxes (``flext_plugin_ldif.schema``).
        on_search_result: Called with each ``ldapsearch`` trailer whose result is 0 (Success).

    Raises:
        LdifError: The file cannot be opened, is not in ``encoding``, is not LDIF, has a URL
            value that ``url_values`` does not allow, or ends with an ``ldapsearch`` result
            other than 0.

    """
    source = str(path)
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise LdifError(source, None, f"unknown encoding {encoding!r}; use a Python codec name") from None
    try:
        # newline="": line ends are read untranslated, so a stray CR inside a line is seen (and refused).
        # surrogateescape: bytes that are not in the encoding are kept (as lone surrogates) until the
        # folded lines are joined, since a fold may cut a multi-byte character in two.
        handle = open(  # noqa: SIM115  (closed by the with below; the generator spans the reads)
            path,
            encoding="utf-8-sig" if codec == "utf-8" else encoding,
            errors="surrogateescape",
            newline="",
        )
    except OSError as exc:
        raise LdifError(source, None, f"cannot read the file: {exc.strerror or exc}") from None
    context = _Context(source, url_values or _REFUSE, schema, encoding, on_search_result)
    with handle:
        yield from _parse(iter(partial(handle.read, _CHUNK), ""), context)


def read_ldif_part(
    path: str | PathLike[str],
    start: int,
    end: int,
    first_line: int,
    *,
    encoding: str = "utf-8",
    url_values: UrlValues | None = None,
    schema: Schema = DEFAULT_SCHEMA,
    on_search_result: Callable[[SearchResult], None] | None = None,
) -> Iterator[LdifEntry]:
    """The entries of the bytes ``start:end`` of an LDIF file, which begin a record at line ``first_line``.

    For reading one file in parts, in parallel: ``start`` must be 0 or the
    first byte after an empty line (``record_boundaries`` finds such places),
    and every error names its line in the whole file. A part that does not
    start the file takes no ``version:`` line and no byte order mark.

    Raises:
        LdifError: As ``read_ldif``.

    """
    source = str(path)
    try:
        codec = codecs.lookup(encoding).name
        # A byte order mark can only open the file.
        decoding = "utf-8-sig" if codec == "utf-8" and start == 0 else encoding
        decoder = codecs.getincrementaldecoder(decoding)(errors="surrogateescape")
        handle = open(path, "rb")  # noqa: SIM115  (closed by the with below)
    except LookupError:
        raise LdifError(source, None, f"unknown encoding {encoding!r}; use a Python codec name") from None
    except OSError as exc:
        raise LdifError(source, None, f"cannot read the file: {exc.strerror or exc}") from None
    context = _Context(source, url_values or _REFUSE, schema, encoding, on_search_result)

    def chunks() -> Iterator[str]:
        handle.seek(start)
        left = end - start
        while left > 0:
            data = handle.read(min(_CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield decoder.decode(data)
        yield decoder.decode(b"", final=True)

    with handle:
        yield from _parse(chunks(), context, line=first_line, version_allowed=start == 0)


def record_boundaries(path: str | PathLike[str], parts: int) -> list[tuple[int, int, int]]:
    r"""Cut a file into about ``parts`` byte ranges that each start a record: ``(start, end, first_line)``.

    A cut is made just after an empty line (``\n\n`` or ``\n\r\n``), the only
    place where one record surely ends and the next begins; a record larger
    than a part makes fewer parts.

    Raises:
        OSError: The file cannot be read.

    """
    size = os.path.getsize(path)
    cuts: list[int] = []
    ranges: list[tuple[int, int, int]] = []
    with open(path, "rb") as handle:
        for number in range(1, parts):
            target = size * number // parts
            if cuts and target <= cuts[-1]:
                continue  # a record larger than a part: the previous cut is past this one
            cut = _next_boundary(handle, target)
            if cut is None or cut >= size:
                break
            cuts.append(cut)
        line, counted = 1, 0
        for start, end in zip([0, *cuts], [*cuts, size], strict=True):
            handle.seek(counted)
            line += _count_lines(handle, start - counted)
            counted = start
            ranges.append((start, end, line))
    return ranges


def _next_boundary(handle: IO[bytes], target: int) -> int | None:
    """The first offset at or after ``target`` that follows an empty line, or None."""
    handle.seek(max(target - 2, 0))
    offset = handle.tell()
    tail = b""
    while block := handle.read(_CHUNK):
        data = tail + block
        found = [index for index in (data.find(b"\n\n"), data.find(b"\n\r\n")) if index >= 0]
        if found:
            index = min(found)
            return offset - len(tail) + index + (2 if data[index + 1 : index + 2] == b"\n" else 3)
        tail = data[-2:]
        offset += len(block)
    return None


def _count_lines(handle: IO[bytes], length: int) -> int:
    count = 0
    while length > 0:
        data = handle.read(min(_CHUNK, length))
        if not data:
            break
        count += data.count(b"\n")
        length -= len(data)
    return count


def parse_ldif(
    text: str | Iterable[str],
    *,
    source: str = "<string>",
    url_values: UrlValues | None = None,
    schema: Schema = DEFAULT_SCHEMA,
    on_search_result: Callable[[SearchResult], None] | None = None,
) -> Iterator[LdifEntry]:
    """Yield the entries of LDIF text, given whole or as lines.

    Args:
        text: The LDIF document, or an iterable of its lines (a line without its line end gets one).
        source: The name used in error messages.
        url_values: Which ``attr:< URL`` values may be read; by default none (see ``UrlValues``).
        schema: Attribute aliases and binary syntaxes (``flext_plugin_ldif.schema``).
        on_search_result: Called with each ``ldapsearch`` trailer whose result is 0 (Success).

    Raises:
        LdifError: The text is not LDIF, has a URL value that ``url_values`` does not allow, or
            ends with an ``ldapsearch`` result other than 0.

    """
    context = _Context(source, url_values or _REFUSE, schema, "utf-8", on_search_result)
    if isinstance(text, str):
        return _parse((text,), context)
    return _parse((line if line[-1:] == "\n" else line + "\n" for line in text), context)


class _Context:
    """What every step of parsing one input needs: where it is, what is allowed, the name caches."""

    __slots__ = (
        "base64_names", "binary_names", "encoding", "names", "on_search_result", "schema", "source", "urls",
    )  # fmt: skip

    def __init__(
        self,
        source: str,
        urls: UrlValues,
        schema: Schema,
        encoding: str,
        on_search_result: Callable[[SearchResult], None] | None,
    ) -> None:
        self.source = source
        self.urls = urls
        self.schema = schema
        self.encoding = encoding
        self.on_search_result = on_search_result
        # Attribute description as written -> canonical name, for valid names of *text* attributes
        # only: a hit proves the line's name is valid and its values are text (the fast path).
        self.names: dict[str, str] = {}
        # The same for valid names of binary attributes (their plain values take the slow path).
        self.binary_names: dict[str, str] = {}
        # 'name:' (the key of a 'name:: base64' line) -> canonical name, for binary attributes: the
        # fast path of base64 values, which stay as written once validated.
        self.base64_names: dict[str, str] = {}


def _parse(
    chunks: Iterable[str], context: _Context, *, line: int = 1, version_allowed: bool = True
) -> Iterator[LdifEntry]:
    """The entries of LDIF text given in chunks of any size, starting at line ``line``."""
    first = version_allowed
    for lines in _records(chunks, context, line):
        if first:
            first = False
            if lines.texts[0][:8].lower() == "version:":
                _check_version(lines, context.source)
                del lines.texts[0]
                lines.first += 1
                if lines.numbers is not None:
                    del lines.numbers[0]
                if not lines.texts:
                    continue
        if lines.texts[0][:7].lower() == "search:":
            _search_result(lines, context)
            continue
        yield _entry(lines, context)


class _Lines:
    """The logical (unfolded, comment-free) lines of one record, and where each starts in the file."""

    __slots__ = ("first", "numbers", "texts")

    def __init__(self, texts: list[str], first: int, numbers: list[int] | None = None) -> None:
        self.texts = texts
        self.first = first  # line number of texts[0] when no line was folded or commented out
        self.numbers = numbers  # the line number of each text otherwise

    def line(self, index: int) -> int:
        """The file line where logical line ``index`` starts."""
        return self.first + index if self.numbers is None else self.numbers[index]


def _records(chunks: Iterable[str], context: _Context, line: int = 1) -> Iterator[_Lines]:
    """Split text into records (at blank lines) and their logical lines.

    This is where every character of the input passes, so it works on whole
    chunks with string methods (implemented in C) rather than line by line: CR
    LF becomes LF and NUL or a lone CR is refused with one scan per chunk, and
    records are cut where two line ends meet. Only a record holding a folded
    line, a comment or bytes not in the encoding takes the line-by-line path.
    """
    source = context.source
    pending: list[str] = []  # the text of incomplete records, in pieces; it starts at line number `line`
    held_cr = ""  # a CR that ended the previous chunk (its LF may start the next one)
    for chunk in chunks:
        if held_cr:
            chunk = held_cr + chunk
            held_cr = ""
        if "\r" in chunk:
            if chunk[-1] == "\r":
                chunk, held_cr = chunk[:-1], "\r"
            chunk = chunk.replace("\r\n", "\n")
        if "\r" in chunk or "\x00" in chunk:
            raise _control_character(source, line, "".join(pending) + chunk)
        if not chunk:
            continue
        if pending and "\n\n" not in chunk and not (chunk[0] == "\n" and pending[-1][-1] == "\n"):
            pending.append(chunk)  # still inside a (large) record: gather pieces, join once
            continue
        text = "".join(pending) + chunk if pending else chunk
        cut = text.rfind("\n\n")
        if cut < 0:
            pending = [text]
            continue
        pending = [text[cut + 2 :]] if cut + 2 < len(text) else []
        block = text[:cut]
        del text  # a record may be large (a group of 200,000 members): hold one copy of it, not two
        line = yield from _cut(block, line, context)
    if held_cr:
        raise _control_character(source, line, "".join(pending) + held_cr)
    if pending:
        yield from _cut("".join(pending), line, context)


def _cut(block: str, line: int, context: _Context) -> Generator[_Lines, None, int]:
    """The records of a block of whole records starting at line ``line``; returns the line after it."""
    escaped = _ESCAPED_BYTE.search(block) is not None  # bytes not in the encoding somewhere in it
    for part in block.split("\n\n") if "\n\n" in block else (block,):
        # Runs of blank lines leave line ends at the start or end of a part.
        if part[:1] == "\n":
            stripped = part.lstrip("\n")
            line += len(part) - len(stripped)
            part = stripped
        body = part.rstrip("\n") if part[-1:] == "\n" else part
        if body:
            lines = _record_lines(body, line, context, escaped and _ESCAPED_BYTE.search(body) is not None)
            if lines is not None:
                yield lines
        line += part.count("\n") + 2
    return line


def _record_lines(part: str, first: int, context: _Context, escaped: bool) -> _Lines | None:
    """The logical lines of one record's text (None if it holds only comments).

    ``escaped``: the text holds bytes that are not in the encoding (lone
    surrogates); they must make valid text once folded lines are joined.
    """
    if not escaped and part[0] != " " and part[0] != "#" and "\n " not in part and "\n#" not in part:
        return _Lines(part.split("\n"), first)
    texts: list[str] = []
    numbers: list[int] = []
    in_comment = False  # the last logical line was a comment: continuation lines belong to it
    for number, raw in enumerate(part.split("\n"), first):
        if raw[:1] == " ":
            if texts and not in_comment:
                texts[-1] += raw[1:]
            elif not in_comment:
                # OpenLDAP reads a line of spaces as the continuation of the line before it, so it
                # does not end a record; with nothing before it, ldapadd refuses it too.
                blank = " (a line of spaces does not separate records: leave it empty)"
                raise LdifError(
                    context.source,
                    number,
                    "this line starts with a space, which continues the line before it, but there is "
                    "no line to continue; remove the leading space" + ("" if raw.strip(" ") else blank),
                )
        elif raw[:1] == "#":
            in_comment = True
        else:
            texts.append(raw)
            numbers.append(number)
            in_comment = False
    if escaped:
        for index, text in enumerate(texts):
            if _ESCAPED_BYTE.search(text) is not None:
                texts[index] = _decoded(text, numbers[index], context)
    return _Lines(texts, first, numbers) if texts else None


def _decoded(text: str, number: int, context: _Context) -> str:
    """A logical line whose undecodable bytes (lone surrogates) must decode now that it is joined.

    Raises:
        LdifError: The bytes still are not valid in the encoding.

    """
    encoding = context.encoding
    try:
        return text.encode(encoding, "surrogateescape").decode(encoding)
    except UnicodeError as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise LdifError(
            context.source,
            number,
            f"the bytes are not valid {encoding} ({reason}); set the encoding to the file's real "
            "encoding (for example latin-1) or re-export the file as UTF-8",
        ) from None


def _search_result(lines: _Lines, context: _Context) -> None:
    """Check the trailer ``ldapsearch`` writes without ``-L``: ``search: N`` then ``result: CODE TEXT``.

    Raises:
        LdifError: It is not that trailer, or the result is not 0: then the search stopped early
            (a size or time limit, an error), so the file does not hold every entry asked for.

    """
    fields: dict[str, str] = {}
    for index, text in enumerate(lines.texts[1:], 1):
        name, colon, value = text.partition(":")
        if not colon or name.lower() not in ("result", "matched", "text", "ref", "control"):
            raise LdifError(
                context.source,
                lines.line(index),
                f"unexpected {_shown(text)} after 'search:'; an ldapsearch trailer holds 'result:', "
                "'matched:', 'text:' and 'ref:' lines, and entries start with 'dn:'",
            )
        fields.setdefault(name.lower(), value.strip(" \t"))
    code_text, _, result_text = fields.get("result", "").partition(" ")
    if not code_text.isdigit():
        raise LdifError(
            context.source,
            lines.line(0),
            "an ldapsearch trailer ('search:') without a 'result: <code> <text>' line",
        )
    result = SearchResult(int(code_text), result_text, lines.line(0))
    if result.code != 0:
        detail = f"; {fields['text']}" if fields.get("text") else ""
        raise LdifError(
            context.source,
            result.line,
            f"the search that wrote this file ended with 'result: {result.code} {result.text}'{detail}, "
            "so the file does not hold every entry it asked for; export again without the limit or "
            "error (for a size limit, ldapsearch -z 0 or a paged search with -E pr=1000/noprompt)",
        )
    if context.on_search_result is not None:
        context.on_search_result(result)


def _entry(lines: _Lines, context: _Context) -> LdifEntry:
    """Build the entry of one record."""
    texts = lines.texts
    number = lines.line(0)
    name, dn, raw = _attrval(number, texts[0], context)
    if name != "dn":
        if name == "version":
            reason = "'version:' may appear only once, as the first line of the file"
        else:
            reason = (
                f"a record must start with 'dn: <distinguished name>', found {_shown(texts[0])}; "
                "separate records with one blank line"
            )
        raise LdifError(context.source, number, reason)
    dn = _text(raw, dn, "the base64 DN is not UTF-8; a DN must be UTF-8 text", number, context)
    index = 1
    while index < len(texts) and texts[index][:8].lower() == "control:":
        index += 1
    if index < len(texts) and texts[index][:11].lower() == "changetype:":
        controls = tuple(_control(lines.line(at), texts[at], context) for at in range(1, index))
        return _change(lines, index, dn, controls, context)
    # Without a changetype, "control:" lines are attributes of a content record.
    attributes, binary = _attributes(lines, 1, context)
    return LdifEntry(dn=dn, attributes=attributes, line=number, binary=binary)


def _text(raw: bytes | None, value: str, problem: str, number: int, context: _Context) -> str:
    """The text of a value that must be text (a DN, a new RDN): ``value``, or ``raw`` decoded."""
    if raw is None:
        return value
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LdifError(context.source, number, problem) from None


def _attributes(lines: _Lines, start: int, context: _Context) -> tuple[dict[str, list[str]], frozenset[str]]:
    """The ``attr: value`` lines of a record from ``start``, as a dict of canonical names to values.

    Every attribute line of every entry passes here. The common line is a
    plain ``name: value`` of a text attribute whose name was seen before:
    ``context.names`` holds only valid names of text attributes (no ``:``),
    so a hit there proves the line is exactly that and the value starts after
    ``": "``. Everything else (binary attributes, base64, new names) takes
    ``_add_slow``.
    """
    names = context.names.get
    base64_names = context.base64_names.get
    attributes: dict[str, list[str]] = {}
    existing = attributes.get
    fill = _FILL
    binary: set[str] | None = None
    for index, text in enumerate(lines.texts[start:] if start else lines.texts, start):
        key, separator, value = text.partition(": ")
        name = names(key) if separator else None
        if name is not None and (binary is None or name not in binary):
            values = existing(name)
            if values is not None:
                values.append(value.lstrip(fill))
                continue
            if name not in _RESERVED:
                attributes[name] = [value.lstrip(fill)]
                continue
        elif name is None and separator and key[-1:] == ":":
            # 'name:: base64' of a known binary attribute: the value stays base64, once validated.
            name = base64_names(key)
            encoded = value.strip(fill)
            if name is not None and _valid_base64(encoded):
                if binary is None:
                    binary = set()
                binary.add(name)
                values = existing(name)
                if values is None:
                    attributes[name] = [encoded]
                else:
                    values.append(encoded)
                continue
        binary = _add_slow(attributes, binary, lines.line(index), text, context)
    return attributes, frozenset(binary) if binary else frozenset()


def _valid_base64(text: str) -> bool:
    """True when ``text`` is strict base64 (the slow path then explains what is wrong with it)."""
    try:
        binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return False
    return True


def _add_slow(
    attributes: dict[str, list[str]], binary: set[str] | None, number: int, text: str, context: _Context
) -> set[str] | None:
    """Add the value of a line that is not a plain value of a known text attribute.

    Returns:
        The attributes whose values are base64 (None while there are none).

    """
    name, value, raw = _attrval(number, text, context)
    values = attributes.get(name)
    if values is None:
        if name in _RESERVED:
            raise _misplaced(name, number, context.source)
        values = attributes[name] = []
    if context.schema.is_binary(name):
        if binary is None:
            binary = set()
        binary.add(name)
        values.append(_b64(raw if raw is not None else value.encode("utf-8")))
        return binary
    if raw is not None:
        decoded = _as_text(raw)
        if decoded is None:
            if binary is None:
                binary = set()
            _add_binary(values, raw, name, binary)
            return binary
        value = decoded
    if binary is not None and name in binary:
        values.append(_b64(value.encode("utf-8")))
    else:
        values.append(value)
    return binary


def _as_text(raw: bytes) -> str | None:
    """The text of a base64 or URL value of a text attribute, or None when it must stay base64.

    None when the bytes are not UTF-8, or when they hold a NUL: no LDAP
    string syntax allows one, and a NUL in text makes PostgreSQL (and other
    targets) refuse the whole insert batch.
    """
    if b"\x00" in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _add_binary(values: list[str], raw: bytes, name: str, binary: set[str]) -> None:
    """Append a value to a text attribute whose values are now all base64 (one is not text)."""
    if name not in binary:
        binary.add(name)
        values[:] = [_b64(item.encode("utf-8")) for item in values]
    values.append(_b64(raw))


def _change(
    lines: _Lines, index: int, dn: str, controls: tuple[Control, ...], context: _Context
) -> LdifEntry:
    """Build the entry of a change record whose ``changetype:`` line is line ``index``."""
    source = context.source
    number = lines.line(0)
    line, text = lines.line(index), lines.texts[index]
    given = text[11:].strip(_FILL)
    change_type = _CHANGETYPES.get(given.lower())
    if change_type is None:
        raise LdifError(
            source, line, f"unknown changetype {given!r}; use add, delete, modify, modrdn or moddn"
        )
    rest = index + 1
    if change_type == "add":
        attributes, binary = _attributes(lines, rest, context)
        if not attributes:
            raise LdifError(source, line, "a 'changetype: add' record needs at least one attribute line")
        return LdifEntry(dn, attributes, "add", number, is_change=True, controls=controls, binary=binary)
    if change_type == "delete":
        if rest < len(lines.texts):
            raise LdifError(
                source,
                lines.line(rest),
                "a 'changetype: delete' record has nothing after the changetype line; "
                "end the record with a blank line",
            )
        return LdifEntry(dn, {}, "delete", number, is_change=True, controls=controls)
    if change_type == "modrdn":
        return _modrdn(lines, rest, dn, controls, context)
    modifications = _modifications(lines, rest, context)
    return LdifEntry(
        dn, {}, "modify", number, is_change=True, controls=controls, modifications=modifications
    )  # fmt: skip


def _modifications(lines: _Lines, index: int, context: _Context) -> tuple[Modification, ...]:
    """The ``add:``/``delete:``/``replace:`` blocks of a modify record, from line ``index``."""
    source = context.source
    texts = lines.texts
    modifications: list[Modification] = []
    while index < len(texts):
        number, text = lines.line(index), texts[index]
        operation, colon, described = text.partition(":")
        operation = operation.lower()
        if operation not in MODIFY_OPERATIONS or not colon:
            raise LdifError(
                source,
                number,
                f"expected 'add: <attribute>', 'delete: <attribute>' or 'replace: <attribute>' to start a "
                f"modification, found {_shown(text)}; end each modification with a line holding only '-'",
            )
        attribute = _attribute_name(described.strip(_FILL), number, text, context, cache=False)
        index += 1
        values: list[str] = []
        raws: list[bytes | None] = []
        while index < len(texts):
            number, text = lines.line(index), texts[index]
            index += 1
            if text.rstrip(" ") == "-":
                break
            name, value, raw = _attrval(number, text, context)
            if name != attribute:
                raise LdifError(
                    source,
                    number,
                    f"the value line for {name!r} is inside the modification of {attribute!r}; "
                    "the values of a modification must be of its attribute, and each modification "
                    "must end with a line holding only '-'",
                )
            if raw is not None and not context.schema.is_binary(name):
                decoded = _as_text(raw)
                if decoded is not None:
                    value, raw = decoded, None
            values.append(value)
            raws.append(raw)
        binary = context.schema.is_binary(attribute) or any(raw is not None for raw in raws)
        if binary:
            values = [
                _b64(raw if raw is not None else value.encode("utf-8"))
                for value, raw in zip(values, raws, strict=True)
            ]
        modifications.append(Modification(operation, attribute, tuple(values), binary))
    if not modifications:
        raise LdifError(
            source,
            lines.line(index - 1),
            "a 'changetype: modify' record needs at least one 'add:', 'delete:' or 'replace:' block",
        )
    return tuple(modifications)


def _modrdn(
    lines: _Lines, index: int, dn: str, controls: tuple[Control, ...], context: _Context
) -> LdifEntry:
    """Build a modrdn/moddn record: ``newrdn``, ``deleteoldrdn``, then an optional ``newsuperior``."""
    source = context.source
    fields: dict[str, str] = {}
    expected = ["newrdn", "deleteoldrdn", "newsuperior"]
    texts = lines.texts
    for position in range(index, len(texts)):
        number, text = lines.line(position), texts[position]
        name, value, raw = _attrval(number, text, context)
        if name not in expected:
            raise LdifError(
                source,
                number,
                f"unexpected {_shown(text)} in a modrdn record; it takes 'newrdn:', then 'deleteoldrdn: 0' "
                "or 'deleteoldrdn: 1', then optionally 'newsuperior:', in that order",
            )
        value = _text(raw, value, f"the base64 {name} is not UTF-8; a DN must be UTF-8 text", number, context)
        del expected[: expected.index(name) + 1]
        fields[name] = value
    last = lines.line(len(texts) - 1)
    if "newrdn" not in fields or "deleteoldrdn" not in fields:
        missing = "newrdn" if "newrdn" not in fields else "deleteoldrdn"
        raise LdifError(source, last, f"the modrdn record has no '{missing}:' line; add one")
    if fields["deleteoldrdn"] not in ("0", "1"):
        raise LdifError(source, last, f"deleteoldrdn must be 0 or 1, not {fields['deleteoldrdn']!r}")
    return LdifEntry(
        dn,
        {},
        "modrdn",
        lines.line(0),
        is_change=True,
        controls=controls,
        new_rdn=fields["newrdn"],
        delete_old_rdn=fields["deleteoldrdn"] == "1",
        new_superior=fields.get("newsuperior"),
    )


def _control(number: int, text: str, context: _Context) -> Control:
    """Parse ``control: <oid> [true|false] [: value | :: base64 | :< url]``."""
    source = context.source
    spec = text[8:].lstrip(_FILL)
    head, colon, tail = spec.partition(":")
    parts = head.split()
    if not parts or not re.fullmatch(r"[0-9]+(?:\.[0-9]+)*", parts[0]) or len(parts) > 2:
        raise LdifError(
            source,
            number,
            f"bad control line {_shown(text)}; write 'control: <oid> [true|false] [: <value>]'",
        )
    critical = False
    if len(parts) == 2:
        if parts[1] not in ("true", "false"):
            raise LdifError(source, number, f"control criticality must be true or false, not {parts[1]!r}")
        critical = parts[1] == "true"
    if not colon:
        return Control(parts[0], critical)
    if tail[:1] in (":", "<"):
        raw = _special_value(tail, number, "control", context)
        decoded = _as_text(raw)
        if decoded is None:
            return Control(parts[0], critical, _b64(raw), True)
        return Control(parts[0], critical, decoded)
    return Control(parts[0], critical, tail.lstrip(_FILL))


def _attrval(number: int, text: str, context: _Context) -> tuple[str, str, bytes | None]:
    """One ``attr: value`` line: (canonical name, text value, or the raw bytes of a ``::``/``:<`` value).

    The value's leading spaces and tabs are dropped, as OpenLDAP drops them.
    """
    colon = text.find(":")
    key = text[:colon]
    name = (
        (context.names.get(key) or context.binary_names.get(key)) if colon > 0 else None
    ) or _attribute_name(key, number, text, context)
    value = text[colon + 1 :]
    if value[:1] in (":", "<"):
        return name, "", _special_value(value, number, name, context)
    return name, value.lstrip(_FILL), None


def _attribute_name(key: str, number: int, text: str, context: _Context, *, cache: bool = True) -> str:
    """Validate an attribute description and return its canonical form (a text one is remembered)."""
    if ":" not in text:
        raise LdifError(
            context.source,
            number,
            f"expected 'attribute: value', found {_shown(text)} (no ':'); a value continued on the next "
            "line must start that line with one space",
        )
    if not _ATTRIBUTE_NAME.fullmatch(key):
        raise LdifError(
            context.source,
            number,
            f"{_shown(key)} is not an attribute name; names are letters, digits and '-' (or an OID), "
            "with options after ';' (cn;lang-en), followed directly by ':'",
        )
    name = context.schema.canonical(key)
    binary = context.schema.is_binary(name)
    names = context.binary_names if binary else context.names
    if cache and len(names) < _NAME_CACHE_LIMIT:
        names[key] = name
        if binary:
            context.base64_names[key + ":"] = name
    return name


def _special_value(value: str, number: int, name: str, context: _Context) -> bytes:
    """The bytes of a value written ``:: base64`` or ``:< url`` (``value`` starts at the second marker)."""
    if value[0] == ":":
        return _decode_base64(value[1:].strip(_FILL), number, name, context.source)
    return _read_url(value[1:].strip(_FILL), number, name, context.source, context.urls)


def _decode_base64(text: str, number: int, name: str, source: str) -> bytes:
    """Decode a base64 value strictly (padding and alphabet checked)."""
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise LdifError(
            source,
            number,
            f"the value of {name!r} after '::' is not valid base64 ({exc}); '::' must be followed by "
            "base64 text, folded lines continuing with one leading space, or use ': ' for a plain value",
        ) from None


def _read_url(url: str, number: int, name: str, source: str, urls: UrlValues) -> bytes:
    """The content of a ``:< file:///path`` value that ``urls`` allows; anything else is refused.

    The checks come before any file is touched: a URL that is not a local
    ``file:`` URL, or any URL when none are allowed, is refused without even
    looking at the path; an allowed one is read only if its resolved path is
    under the allowed directory.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc.lower() not in ("", "localhost"):
        raise LdifError(
            source,
            number,
            f"the value of {name!r} is the URL {url!r}, which is not a local file URL; URLs other "
            "than 'file:///absolute/path' are never read: put the value inline, or as base64 after '::'",
        )
    if urls.directory is None:
        raise LdifError(
            source,
            number,
            f"the value of {name!r} is the URL {url!r} ('attr:< URL'), and URL values are refused "
            f"unless allowed, so that an LDIF file cannot pull local files into the data; to read it, "
            f"{urls.how_to_allow}",
        )
    text = unquote(parts.path)
    path = Path(text)
    if "\x00" in text:
        raise LdifError(
            source, number, f"the file URL {url!r} holds a NUL character (%00), which no path has"
        )
    if not path.is_absolute():
        raise LdifError(
            source, number, f"the file URL {url!r} has no absolute path; write file:///absolute/path"
        )
    resolved = Path(os.path.realpath(path))
    if not resolved.is_relative_to(urls.directory):
        raise LdifError(
            source,
            number,
            f"the value of {name!r} is the URL {url!r}, whose file {str(resolved)!r} is not under "
            f"{str(urls.directory)!r} ({urls.directory_setting}; symlinks and '..' resolved), and only files "
            "under that directory are read",
        )
    try:
        return _read_under(urls.directory, resolved.relative_to(urls.directory).parts)
    except OSError as exc:
        raise LdifError(
            source, number, f"cannot read {str(path)!r} for the value of {name!r}: {exc.strerror or exc}"
        ) from None


def _read_under(directory: Path, parts: tuple[str, ...]) -> bytes:
    """The bytes of the regular file ``directory/parts...``, never following a symlink on the way.

    The path was resolved and checked to be under ``directory``, but a
    symlink could be swapped in between that check and the read. So each
    component is opened relative to the one before (``dir_fd``) with
    ``O_NOFOLLOW``: the file read is the one under ``directory``, whatever
    happens meanwhile. A FIFO or device is refused (opened non-blocking, so a
    FIFO cannot hang the run). Where ``dir_fd`` is not supported (Windows), the
    resolved path is opened directly.

    Raises:
        OSError: The file cannot be read, is a symlink, or is not a regular file.

    """
    if not parts:
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if not nofollow or os.open not in os.supports_dir_fd:
        descriptor = os.open(directory.joinpath(*parts), flags)
    else:
        folder = os.open(directory, flags | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                inner = os.open(part, flags | os.O_DIRECTORY | nofollow, dir_fd=folder)
                os.close(folder)
                folder = inner
            descriptor = os.open(parts[-1], flags | nofollow, dir_fd=folder)
        finally:
            os.close(folder)
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return handle.read()


def _check_version(lines: _Lines, source: str) -> None:
    number, text = lines.line(0), lines.texts[0]
    if text[8:].strip(" ") != "1":
        raise LdifError(
            source,
            number,
            f"unsupported {_shown(text)}; RFC 2849 defines only 'version: 1' (or leave the line out)",
        )


def _control_character(source: str, first: int, text: str) -> LdifError:
    """The error for the first NUL or lone CR in ``text`` (which starts at line ``first``)."""
    positions = [position for position in (text.find("\r"), text.find("\x00")) if position >= 0]
    position = min(positions)
    what = "a carriage return not followed by a line feed" if text[position] == "\r" else "a NUL character"
    return LdifError(
        source,
        first + text.count("\n", 0, position),
        f"the line holds {what}; such values must be written base64-encoded ('attr:: <base64>')",
    )


def _misplaced(name: str, number: int, source: str) -> LdifError:
    if name == "dn":
        reason = "a second 'dn:' line in one record; separate records with a blank line"
    else:
        reason = "'changetype:' must come right after the 'dn:' line (and any 'control:' lines)"
    return LdifError(source, number, reason)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")
