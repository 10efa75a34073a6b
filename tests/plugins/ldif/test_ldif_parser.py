"""The LDIF parser against RFC 2849, feature by feature, and its errors (file, line, what to fix)."""

from __future__ import annotations

import base64
import tracemalloc
from pathlib import Path

import pytest
from flext_plugin_ldif import LdifEntry, LdifError, UrlValues, parse_ldif, read_ldif
from flext_plugin_ldif.ldif_parser import Control, Modification


def one(text: str) -> LdifEntry:
    entries = list(parse_ldif(text))
    assert len(entries) == 1, entries
    return entries[0]


def error_of(text: str) -> LdifError:
    with pytest.raises(LdifError) as caught:
        list(parse_ldif(text, source="bad.ldif"))
    return caught.value


FF = b"\xff"


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


# --- content records -------------------------------------------------------------------------


def test_a_content_record_has_lower_cased_names_and_values_as_written() -> None:
    entry = one("dn: cn=Ada,dc=example,dc=com\nobjectClass: top\nObjectClass: Person\nCN: Ada  Lovelace\n")
    assert entry.dn == "cn=Ada,dc=example,dc=com"
    assert entry.attributes == {"objectclass": ["top", "Person"], "cn": ["Ada  Lovelace"]}
    assert entry.change_type == "add"
    assert not entry.is_change
    assert entry.line == 1


def test_version_comments_and_blank_lines() -> None:
    text = (
        "# leading comment\nversion: 1\n\n\n# a comment\n#  folded\n  comment\ndn: dc=a\ndc: a\n"
        "# comment inside a record\nobjectclass: domain\n\n\n\ndn: dc=b\ndc: b\n"
    )
    entries = list(parse_ldif(text))
    assert [entry.dn for entry in entries] == ["dc=a", "dc=b"]
    assert entries[0].attributes == {"dc": ["a"], "objectclass": ["domain"]}
    assert [entry.line for entry in entries] == [8, 15]


def test_version_may_share_the_first_record() -> None:
    assert one("version: 1\ndn: dc=a\ndc: a\n").attributes == {"dc": ["a"]}


def test_a_file_of_only_a_version_or_comments_has_no_entries() -> None:
    assert list(parse_ldif("version: 1\n")) == []
    assert list(parse_ldif("# nothing\n\n# here\n")) == []
    assert list(parse_ldif("")) == []


def test_folded_lines_drop_exactly_one_space() -> None:
    entry = one("dn: cn=x,\n dc=example\ndescription: one\n  two\n three\n\n")
    assert entry.dn == "cn=x,dc=example"
    assert entry.attributes["description"] == ["one twothree"]


def test_a_folded_comment_does_not_continue_the_previous_attribute() -> None:
    entry = one("dn: dc=a\ncn: x\n# comment\n continued comment\nsn: y\n")
    assert entry.attributes == {"cn": ["x"], "sn": ["y"]}


def test_crlf_and_lf_and_no_final_line_end() -> None:
    crlf = "version: 1\r\n\r\ndn: dc=a\r\ncn: x\r\n y\r\n\r\ndn: dc=b\r\ncn: z"
    entries = list(parse_ldif(crlf))
    assert [(e.dn, e.attributes, e.line) for e in entries] == [
        ("dc=a", {"cn": ["xy"]}, 3),
        ("dc=b", {"cn": ["z"]}, 7),
    ]


def test_base64_values_that_are_utf8_become_text() -> None:
    entry = one(f"dn:: {b64('cn=José,dc=example')}\ncn:: {b64('José')}\nsn::{b64(' leading')}\n")
    assert entry.dn == "cn=José,dc=example"
    assert entry.attributes == {"cn": ["José"], "sn": [" leading"]}
    assert entry.binary == frozenset()


def test_values_that_are_not_utf8_stay_base64_and_so_does_their_whole_attribute() -> None:
    photo = b"\xff\xd8\xff\xe0binary"
    entry = one(f"dn: cn=x\njpegPhoto: plain\njpegPhoto:: {b64(photo)}\njpegPhoto: after\ncn: x\n")
    assert entry.binary == frozenset({"jpegphoto"})
    assert entry.attributes["jpegphoto"] == [b64("plain"), b64(photo), b64("after")]
    assert entry.attributes["cn"] == ["x"]


def test_a_folded_base64_value() -> None:
    encoded = b64("a long value " * 10)
    folded = encoded[:40] + "\n " + encoded[40:]
    assert one(f"dn: cn=x\ndescription:: {folded}\n").attributes["description"] == ["a long value " * 10]


def test_file_urls_are_read_when_allowed(tmp_path: Path) -> None:
    (tmp_path / "name.txt").write_text("Ada Lovelace", encoding="utf-8")
    (tmp_path / "photo.bin").write_bytes(b"\x89PNG\x00\xff")
    spaced = tmp_path / "with space.txt"
    spaced.write_text("spaced", encoding="utf-8")
    text = (
        f"dn: cn=x\ncn:< file://{tmp_path}/name.txt\nphoto:<file://localhost{tmp_path}/photo.bin\n"
        f"sn:< file://{str(spaced).replace(' ', '%20')}\n"
    )
    with pytest.raises(LdifError, match="refused unless allowed"):
        one(text)  # by default: more in test_ldif_url_values.py
    (entry,) = parse_ldif(text, url_values=UrlValues.under(tmp_path))
    assert entry.attributes["cn"] == ["Ada Lovelace"]
    assert entry.attributes["photo"] == [b64(b"\x89PNG\x00\xff")]
    assert entry.binary == frozenset({"photo"})
    assert entry.attributes["sn"] == ["spaced"]


@pytest.mark.parametrize(
    "url", ["http://example.com/x", "ftp://host/x", "file://otherhost/etc/passwd", "https://x"]
)
def test_only_local_file_urls_are_accepted(url: str, tmp_path: Path) -> None:
    for urls in (None, UrlValues.under(tmp_path)):
        with pytest.raises(LdifError) as caught:
            list(parse_ldif(f"dn: cn=x\n\ndn: cn=y\ncn:< {url}\n", url_values=urls))
        error = caught.value
        assert error.line == 4
        assert "not a local file URL" in error.reason
        assert "file:///absolute/path" in error.reason


def test_a_missing_url_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LdifError) as caught:
        list(parse_ldif(f"dn: cn=x\ncn:< file://{tmp_path}/nope\n", url_values=UrlValues.under(tmp_path)))
    error = caught.value
    assert error.line == 2
    assert "cannot read" in error.reason


def test_attribute_options_are_kept_and_lower_cased() -> None:
    entry = one("dn: cn=x\ncn;lang-EN: Ada\ncn: A\nuserCertificate;binary:: MIIB\n1.2.3.4: oid\n")
    assert entry.attributes["cn;lang-en"] == ["Ada"]
    assert entry.attributes["cn"] == ["A"]
    assert entry.attributes["usercertificate;binary"] == ["MIIB"]
    assert entry.binary == frozenset({"usercertificate;binary"})
    assert entry.attributes["1.2.3.4"] == ["oid"]


def test_value_spacing_per_rfc() -> None:
    entry = one("dn: cn=x\na:value\nb:   spaced\nc:\nd: \ne: trailing  \nf: a: b < c\n")
    assert entry.attributes == {
        "a": ["value"],
        "b": ["spaced"],
        "c": [""],
        "d": [""],
        "e": ["trailing  "],
        "f": ["a: b < c"],
    }


def test_non_ascii_text_is_accepted_as_written() -> None:
    assert one("dn: cn=Zoë\ncn: Zoë Ångström\n").attributes["cn"] == ["Zoë Ångström"]


def test_a_line_of_spaces_between_records_is_refused_as_ldapadd_refuses_it() -> None:
    # OpenLDAP reads a line of spaces as a continuation; alone between blank lines there is nothing
    # to continue (test_ldif_openldap.py checks ldapadd refuses both files too).
    alone = error_of("dn: dc=a\ncn: a\n\n   \n\ndn: dc=b\ncn: b\n")
    assert alone.line == 4
    assert "a line of spaces does not separate records" in alone.reason
    glued = error_of("dn: dc=a\ncn: a\n \ndn: dc=b\ncn: b\n")
    assert glued.line == 4
    assert "second 'dn:' line" in glued.reason


def test_spaces_and_tabs_after_the_colon_are_dropped_and_trailing_ones_kept() -> None:
    entry = one("dn: cn=x\nsn:\tTabbed\ndescription: \t\x0b\x0c two\ndescription: trail  \ncn::\tYQ==\n")
    assert entry.attributes == {"sn": ["Tabbed"], "description": ["two", "trail  "], "cn": ["a"]}


# --- change records --------------------------------------------------------------------------


def test_changetype_add() -> None:
    entry = one("dn: cn=x\nchangetype: add\nobjectclass: person\ncn: x\n")
    assert (entry.change_type, entry.is_change) == ("add", True)
    assert entry.attributes == {"objectclass": ["person"], "cn": ["x"]}


def test_changetype_delete_with_a_control() -> None:
    entry = one("dn: cn=x\ncontrol: 1.2.840.113556.1.4.805 true\ncontrol: 1.2.3: value\nchangetype: delete\n")
    assert entry.change_type == "delete"
    assert entry.attributes == {}
    assert entry.controls == (Control("1.2.840.113556.1.4.805", True), Control("1.2.3", False, "value"))


def test_changetype_modify() -> None:
    text = (
        "dn: cn=x\nchangetype: modify\nadd: mail\nmail: a@example.com\nmail: b@example.com\n-\n"
        f"replace: sn\nsn:: {b64('Müller')}\n-\ndelete: description\n-\ndelete: telephoneNumber\n"
        "telephoneNumber: 1\n-\nreplace: seeAlso\n-\nincrement: uidNumber\nuidNumber: 1\n-\n"
    )
    entry = one(text)
    assert entry.change_type == "modify"
    assert entry.modifications == (
        Modification("add", "mail", ("a@example.com", "b@example.com")),
        Modification("replace", "sn", ("Müller",)),
        Modification("delete", "description"),
        Modification("delete", "telephonenumber", ("1",)),
        Modification("replace", "seealso"),
        Modification("increment", "uidnumber", ("1",)),
    )


def test_the_last_dash_of_a_modify_record_may_be_missing() -> None:
    entry = one("dn: cn=x\nchangetype: modify\nreplace: sn\nsn: y\n")
    assert entry.modifications == (Modification("replace", "sn", ("y",)),)


def test_binary_modification_values() -> None:
    entry = one(f"dn: cn=x\nchangetype: modify\nreplace: jpegPhoto\njpegPhoto:: {b64(FF)}\njpegPhoto: t\n-\n")
    assert entry.modifications == (Modification("replace", "jpegphoto", (b64(FF), b64("t")), True),)


@pytest.mark.parametrize("keyword", ["modrdn", "moddn", "MODRDN"])
def test_changetype_modrdn_and_moddn(keyword: str) -> None:
    entry = one(f"dn: cn=x,dc=a\nchangetype: {keyword}\nnewrdn: cn=y\ndeleteoldrdn: 1\nnewsuperior: dc=b\n")
    assert (entry.change_type, entry.new_rdn, entry.delete_old_rdn, entry.new_superior) == (
        "modrdn",
        "cn=y",
        True,
        "dc=b",
    )
    plain = one(f"dn: cn=x,dc=a\nchangetype: {keyword}\nnewrdn:: {b64('cn=Zoë')}\ndeleteoldrdn: 0\n")
    assert (plain.new_rdn, plain.delete_old_rdn, plain.new_superior) == ("cn=Zoë", False, None)


def test_a_content_attribute_named_control_is_an_attribute() -> None:
    assert one("dn: cn=x\ncontrol: something\ncn: x\n").attributes == {"control": ["something"], "cn": ["x"]}


def test_content_and_change_records_may_be_mixed() -> None:
    entries = list(parse_ldif("dn: cn=a\ncn: a\n\ndn: cn=a\nchangetype: delete\n\ndn: cn=b\ncn: b\n"))
    assert [e.change_type for e in entries] == ["add", "delete", "add"]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("dn: cn=x\ncn x\n", 2, "no ':'"),
        ("dn: cn=x\ncn: a\n\ncn: b\n", 4, "must start with 'dn:"),
        ("version: 2\n\ndn: cn=x\n", 1, "only 'version: 1'"),
        ("dn: cn=x\n\nversion: 1\n", 3, "only once"),
        ("dn: cn=x\ncn: a\ndn: cn=y\n", 3, "second 'dn:' line"),
        ("dn: cn=x\ncn: a\nchangetype: add\n", 3, "right after the 'dn:' line"),
        ("dn: cn=x\ncn:: not base64!\n", 2, "not valid base64"),
        ("dn: cn=x\ncn:: YWJjZA=\n", 2, "not valid base64"),
        ("dn: cn=x\nc n: a\n", 2, "is not an attribute name"),
        ("dn: cn=x\n: a\n", 2, "is not an attribute name"),
        ("dn: cn=x\ncn;: a\n", 2, "is not an attribute name"),
        ("dn: cn=x\n\n continued\n", 3, "no line to continue"),
        ("dn: cn=x\nchangetype: rename\n", 2, "unknown changetype"),
        ("dn: cn=x\nchangetype: delete\ncn: x\n", 3, "nothing after the changetype"),
        ("dn: cn=x\nchangetype: add\n", 2, "at least one attribute"),
        ("dn: cn=x\nchangetype: modify\n", 2, "at least one 'add:'"),
        ("dn: cn=x\nchangetype: modify\nadd: mail\nmail: a\nreplace: sn\n", 5, "inside the modification"),
        ("dn: cn=x\nchangetype: modify\nadd: mail\nsn: a\n-\n", 4, "inside the modification"),
        ("dn: cn=x\nchangetype: modify\nrename: mail\n-\n", 3, "to start a modification"),
        ("dn: cn=x\nchangetype: modrdn\nnewrdn: cn=y\n", 3, "no 'deleteoldrdn:'"),
        ("dn: cn=x\nchangetype: modrdn\ndeleteoldrdn: 1\n", 3, "no 'newrdn:'"),
        ("dn: cn=x\nchangetype: modrdn\nnewrdn: cn=y\ndeleteoldrdn: yes\n", 4, "must be 0 or 1"),
        ("dn: cn=x\nchangetype: modrdn\ndeleteoldrdn: 1\nnewrdn: cn=y\n", 4, "in that order"),
        ("dn: cn=x\nchangetype: modrdn\nnewrdn: cn=y\ndeleteoldrdn: 1\ncn: z\n", 5, "unexpected"),
        ("dn: cn=x\ncontrol: not-an-oid\nchangetype: delete\n", 2, "bad control line"),
        ("dn: cn=x\ncontrol: 1.2.3 maybe\nchangetype: delete\n", 2, "true or false"),
        ("dn: cn=x\ncn: a\rb\n", 2, "carriage return"),
        ("dn: cn=x\n\n\ncn: a\x00b\n", 4, "NUL"),
        (f"dn:: {b64(FF)}\n", 1, "not UTF-8"),
        ("dn: cn=x\ncn:< file:relative\n", 2, "refused unless allowed"),
        ("dn: cn=x\ncn:< file:///etc/passwd\n", 2, "refused unless allowed"),
    ],
)
def test_errors_name_the_line_and_say_what_to_do(text: str, line: int, words: str) -> None:
    error = error_of(text)
    assert error.line == line, error
    assert words in error.reason
    assert str(error).startswith(f"bad.ldif:{line}: ")
    assert "\n" not in str(error)


def test_error_line_numbers_count_folded_lines_comments_and_crlf() -> None:
    text = "version: 1\r\n\r\n# c\r\n folded\r\ndn: cn=a,\r\n dc=x\r\ncn: a\r\n\r\ndn: cn=b\r\ncn\r\n"
    assert error_of(text).line == 10


def test_read_ldif_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.ldif"
    path.write_text("dn: cn=x\ncn: a\n\n\ndn: cn=y\nbroken\n")
    with pytest.raises(LdifError) as caught:
        list(read_ldif(path))
    assert (caught.value.source, caught.value.line) == (str(path), 6)


def test_a_missing_file_and_an_unknown_encoding(tmp_path: Path) -> None:
    with pytest.raises(LdifError, match="cannot read the file"):
        list(read_ldif(tmp_path / "nope.ldif"))
    (tmp_path / "x.ldif").write_text("dn: cn=x\n")
    with pytest.raises(LdifError, match="unknown encoding"):
        list(read_ldif(tmp_path / "x.ldif", encoding="klingon"))


def test_bytes_not_in_the_encoding_are_an_error_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.ldif"
    path.write_bytes(b"dn: cn=x\ncn: a\n\ndn: cn=y\ncn: Jos\xe9\n")
    with pytest.raises(LdifError) as caught:
        list(read_ldif(path))
    assert caught.value.line == 5
    assert "encoding" in caught.value.reason
    assert [e.attributes["cn"] for e in read_ldif(path, encoding="latin-1")] == [["a"], ["José"]]


def test_a_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.ldif"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n\ndn: cn=x\ncn: x\n")
    assert [e.dn for e in read_ldif(path)] == ["cn=x"]


def test_records_spanning_read_chunks_and_crlf_split_between_chunks(tmp_path: Path) -> None:
    """The file is read in 1 MiB chunks: records, folded lines and CRLF pairs cut by a chunk still parse."""
    path = tmp_path / "big.ldif"
    record = (
        "dn: cn=user{n},dc=example\r\ncn: user{n}\r\ndescription: "
        + "x" * 70
        + "\r\n "
        + "y" * 50
        + "\r\n\r\n"
    )
    count = 30_000  # ~5 MiB: several chunk boundaries, each at a different place in a record
    path.write_text("".join(record.format(n=n) for n in range(count)), newline="")
    entries = list(read_ldif(path))
    assert len(entries) == count
    assert entries[-1].attributes["cn"] == [f"user{count - 1}"]
    assert entries[-1].line == 1 + 5 * (count - 1)
    assert {e.attributes["description"][0] for e in entries} == {"x" * 70 + "y" * 50}


def test_parse_ldif_accepts_lines_with_or_without_line_ends() -> None:
    assert [e.dn for e in parse_ldif(["dn: cn=a\n", "cn: a\n", "\n", "dn: cn=b", "cn: b"])] == [
        "cn=a",
        "cn=b",
    ]


def test_entries_stream_in_flat_memory(tmp_path: Path) -> None:
    """Memory does not grow with the number of entries: the parser holds one record at a time."""
    path = tmp_path / "many.ldif"
    with path.open("w") as out:
        for n in range(60_000):
            out.write(
                f"dn: uid=u{n},ou=people,dc=example,dc=com\nobjectClass: person\nuid: u{n}\ncn: User {n}\n\n"
            )
    tracemalloc.start()
    try:
        count = 0
        for count, _ in enumerate(read_ldif(path), 1):
            if count == 1_000:
                tracemalloc.reset_peak()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while streaming"


def test_a_record_larger_than_many_read_chunks(tmp_path: Path) -> None:
    """A static group with 200,000 members (~12 MiB): one record over a dozen chunks."""
    path = tmp_path / "group.ldif"
    members = [f"uniqueMember: uid=user{n:07d},ou=people,dc=example,dc=com\n" for n in range(200_000)]
    path.write_text("dn: cn=everyone,dc=example,dc=com\nobjectClass: groupOfUniqueNames\n" + "".join(members))
    (entry,) = read_ldif(path)
    assert len(entry.attributes["uniquemember"]) == 200_000
    assert entry.attributes["uniquemember"][-1] == "uid=user0199999,ou=people,dc=example,dc=com"


# --- bytes, folds and ldapsearch's trailer (issue 15, items 3 and 4) ---------------------------------


@pytest.mark.parametrize("chunk", [1 << 20, 3, 7, 16])
def test_a_fold_inside_a_multibyte_character_is_joined_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    import flext_plugin_ldif.ldif_parser as parser

    monkeypatch.setattr(parser, "_CHUNK", chunk)  # the split byte may also fall on a read boundary
    path = tmp_path / "folded.ldif"
    path.write_bytes(b"dn: cn=x\nl: caf\xc3\n \xa9 folded\ncn: \xe4\xb8\n \xad\n\ndn: cn=y\ncn: y\n")
    first, second = read_ldif(path)
    assert first.attributes == {"l": ["café folded"], "cn": ["中"]}
    assert (second.dn, second.line) == ("cn=y", 7)


def test_bytes_that_stay_invalid_after_joining_folds_are_an_error_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.ldif"
    path.write_bytes(b"dn: cn=x\ncn: x\n\ndn: cn=y\nl: caf\xc3\n \x41 folded\n")
    with pytest.raises(LdifError) as caught:
        list(read_ldif(path))
    assert (caught.value.line, "not valid utf-8" in caught.value.reason) == (5, True)


def test_ldapsearch_trailer_is_accepted_and_reported() -> None:
    results: list[object] = []
    text = (
        "version: 1\n\ndn: cn=x\ncn: x\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numEntries: 1\n"
    )
    assert [e.dn for e in parse_ldif(text, on_search_result=results.append)] == ["cn=x"]
    assert [(r.code, r.text, r.line) for r in results] == [(0, "Success", 7)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("trailer", "words"),
    [
        ("search: 2\nresult: 4 Size limit exceeded\n", "result: 4 Size limit exceeded"),
        ("search: 2\nresult: 32 No such object\nmatched: dc=x\n", "result: 32 No such object"),
        ("search: 2\n", "without a 'result: <code> <text>' line"),
        ("search: 2\nresult: 0 Success\ncn: x\n", "unexpected 'cn: x' after 'search:'"),
    ],
)
def test_an_ldapsearch_trailer_other_than_success_is_an_error(trailer: str, words: str) -> None:
    error = error_of(f"dn: cn=x\ncn: x\n\n{trailer}")
    assert error.line in (4, 5, 6)
    assert words in error.reason
