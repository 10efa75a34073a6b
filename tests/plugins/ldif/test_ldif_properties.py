"""Properties of the parser: write -> parse is the identity, garbage is only ever an LdifError.

Entries are generated with arbitrary values (non-ASCII, control characters,
leading spaces, ':' and '<' that force base64, values long enough to be
folded, bytes that are not UTF-8), written with the writer and parsed back,
whole, line by line and cut into chunks at arbitrary places.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Callable
from pathlib import Path

from flext_plugin_ldif import LdifEntry, LdifError, UrlValues, format_entry, parse_ldif, read_ldif, write_ldif
from flext_plugin_ldif.ldif_parser import Control, Modification, _Context, _parse
from flext_plugin_ldif.schema import DEFAULT_SCHEMA
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
TRICKY = st.sampled_from(
    [" leading", ":colon", "<angle", "trailing ", "", "a\nb", "a\r\nb", "nul\x00", "-", "#"]
)
VALUE = st.one_of(TEXT, TRICKY, st.text(st.sampled_from("abc xyzé:<"), min_size=70, max_size=400))
# Names the schema does not know: a schema alias is read as its canonical name (commonName is cn),
# and a binary one as base64 whatever its value (test_ldif_schema.py has those).
NAME = st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,12}(;[a-zA-Z0-9-]{1,6}){0,2}", fullmatch=True).filter(
    lambda name: (
        name.lower().split(";")[0] not in ("dn", "changetype", "control")
        and DEFAULT_SCHEMA.canonical(name) == name.lower()
        and not DEFAULT_SCHEMA.is_binary(name.lower())
    )
)
NOT_UTF8 = st.binary(max_size=40).map(lambda data: b"\xff" + data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@st.composite
def attributes(draw: st.DrawFn) -> tuple[dict[str, list[str]], frozenset[str]]:
    """(lower-cased name -> values, binary names); the names as written differ in case."""
    result: dict[str, list[str]] = {}
    binary: set[str] = set()
    for name in draw(st.lists(NAME, min_size=1, max_size=6, unique_by=str.lower)):
        if draw(st.booleans()) and draw(st.integers(0, 4)) == 0:
            values = draw(st.lists(st.one_of(NOT_UTF8, VALUE.map(str.encode)), min_size=1, max_size=3))
            values[0] = draw(NOT_UTF8)
            result[name.lower()] = [_b64(value) for value in values]
            binary.add(name.lower())
        else:
            result[name.lower()] = draw(st.lists(VALUE, min_size=1, max_size=4))
    return result, frozenset(binary)


@st.composite
def entries(draw: st.DrawFn) -> LdifEntry:
    dn = draw(VALUE)
    kind = draw(st.sampled_from(["content", "add", "delete", "modify", "modrdn"]))
    controls = tuple(
        draw(
            st.lists(
                st.builds(
                    Control,
                    st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,5}){0,5}", fullmatch=True),
                    st.booleans(),
                    st.one_of(st.none(), VALUE),
                ),
                max_size=2,
            )
        )
        if kind != "content"
        else ()
    )
    if kind in ("content", "add"):
        values, binary = draw(attributes())
        return LdifEntry(dn, values, "add", is_change=kind == "add", controls=controls, binary=binary)
    if kind == "delete":
        return LdifEntry(dn, {}, "delete", is_change=True, controls=controls)
    if kind == "modrdn":
        return LdifEntry(
            dn,
            {},
            "modrdn",
            is_change=True,
            controls=controls,
            new_rdn=draw(VALUE),
            delete_old_rdn=draw(st.booleans()),
            new_superior=draw(st.one_of(st.none(), VALUE)),
        )
    modifications = []
    for _ in range(draw(st.integers(1, 4))):
        attribute = draw(NAME).lower()
        operation = draw(st.sampled_from(["add", "delete", "replace", "increment"]))
        if draw(st.integers(0, 5)) == 0:
            raw = draw(st.lists(NOT_UTF8, min_size=1, max_size=2))
            modifications.append(Modification(operation, attribute, tuple(_b64(v) for v in raw), True))
        else:
            modifications.append(Modification(operation, attribute, tuple(draw(st.lists(VALUE, max_size=3)))))
    return LdifEntry(dn, {}, "modify", is_change=True, controls=controls, modifications=tuple(modifications))


def _without_lines(parsed: list[LdifEntry]) -> list[LdifEntry]:
    return [dataclasses.replace(entry, line=0) for entry in parsed]


def _as_read(items: list[LdifEntry]) -> list[LdifEntry]:
    """The entries as the parser gives them back: text holding a NUL is binary (base64), as documented."""
    return [_entry_as_read(item) for item in items]


def _entry_as_read(entry: LdifEntry) -> LdifEntry:
    attributes = dict(entry.attributes)
    binary = set(entry.binary)
    for name, values in attributes.items():
        if name not in binary and any("\x00" in value for value in values):
            attributes[name] = [_b64(value.encode()) for value in values]
            binary.add(name)
    modifications = tuple(
        Modification(m.operation, m.attribute, tuple(_b64(v.encode()) for v in m.values), True)
        if not m.binary and any("\x00" in value for value in m.values)
        else m
        for m in entry.modifications
    )
    controls = tuple(
        Control(c.oid, c.critical, _b64(c.value.encode()), True)
        if c.value is not None and not c.binary and "\x00" in c.value
        else c
        for c in entry.controls
    )
    return dataclasses.replace(
        entry, attributes=attributes, binary=frozenset(binary), modifications=modifications, controls=controls
    )


def _document(items: list[LdifEntry], width: int, version: bool) -> str:
    out = io.StringIO()
    write_ldif(out, items, version=version, width=width)
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(entries(), max_size=5), st.sampled_from([0, 2, 3, 10, 76, 200]), st.booleans())
def test_written_entries_parse_back_identical(items: list[LdifEntry], width: int, version: bool) -> None:
    text = _document(items, width, version)
    assert _without_lines(list(parse_ldif(text))) == _as_read(items)
    crlf = text.replace("\n", "\r\n")
    assert _without_lines(list(parse_ldif(crlf))) == _as_read(items)


@settings(max_examples=100, deadline=None)
@given(st.lists(entries(), min_size=1, max_size=4), st.data())
def test_chunk_boundaries_do_not_matter(items: list[LdifEntry], data: st.DataObject) -> None:
    text = _document(items, 20, True).replace("\n", data.draw(st.sampled_from(["\n", "\r\n"])))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    chunks = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    expected = list(parse_ldif(text))
    context = _Context("<string>", UrlValues(), DEFAULT_SCHEMA, "utf-8", None)
    assert list(_parse(chunks, context)) == expected
    starts, line = [], 3  # "version: 1" and a blank line come first
    for item in items:
        starts.append(line)
        line += format_entry(item, width=20).count("\n")
    assert [entry.line for entry in expected] == starts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entries(), max_size=4))
def test_read_ldif_of_a_written_file_is_the_same(tmp_path: Path, items: list[LdifEntry]) -> None:
    path = tmp_path / "written.ldif"
    with path.open("w", encoding="utf-8", newline="\n") as out:
        write_ldif(out, items)
    assert _without_lines(list(read_ldif(path))) == _as_read(items)


def _error(parse: Callable[[], object]) -> LdifError | None:
    """The LdifError ``parse()`` raises, or None; any other exception propagates (and fails the test)."""
    try:
        parse()
    except LdifError as error:
        return error
    return None


@settings(max_examples=100, deadline=None)
@given(st.lists(entries(), min_size=1, max_size=5), st.data())
def test_a_bad_line_is_reported_at_its_line(items: list[LdifEntry], data: st.DataObject) -> None:
    lines = _document(items, 30, True).split("\n")
    # After a logical line of a record (not inside a folded one): a line that is no value and no continuation.
    candidates = [
        index
        for index, line in enumerate(lines[:-1])
        if line and not line.startswith("version") and not lines[index + 1].startswith(" ")
    ]
    assume(candidates)
    after = data.draw(st.sampled_from(candidates))
    lines.insert(after + 1, "no colon here")
    error = _error(lambda: list(parse_ldif("\n".join(lines))))
    assert error is not None, "an inserted line without ':' was accepted"
    assert error.line == after + 2, (error, after)


LDIF_WORDS = st.sampled_from(
    [
        "dn: cn=x", "dn:: Y249eA==", "dn:", "changetype: modify", "changetype: add", "changetype: delete",
        "changetype: modrdn", "changetype: bogus", "add: cn", "replace: cn", "delete: cn", "-", "cn: a",
        "cn:: ////", "cn:: YQ==", "cn:< http://x", "cn:< file:///nonexistent", "newrdn: cn=y",
        "deleteoldrdn: 1", "deleteoldrdn: 2", "newsuperior: dc=x", "control: 1.2.3 true: v", "control: x",
        "version: 1", "version: 2", "# comment", " continued", " ", "", "\r", "\x00", "cn", ":", "::", ":<",
        "cn;lang-en: x", "-cn: bad", "jpegphoto:: /w==",
    ]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(LDIF_WORDS, TEXT), max_size=25), st.sampled_from(["\n", "\r\n"]))
def test_garbage_is_parsed_or_refused_with_an_ldif_error(lines: list[str], end: str) -> None:
    error = _error(lambda: [entry.dn for entry in parse_ldif(end.join(lines))])
    if error is not None:
        assert error.source == "<string>"
        assert error.line is None or error.line >= 1
        assert error.reason
        assert str(error).startswith(error.location + ": ")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_random_bytes_in_a_file_are_parsed_or_refused_with_an_ldif_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.ldif"
    path.write_bytes(data)
    error = _error(lambda: list(read_ldif(path)))
    assert error is None or error.source == str(path)
