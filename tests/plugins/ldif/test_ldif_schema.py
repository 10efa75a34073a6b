"""Attribute names and binary values follow the schema: aliases merge, syntax decides what is binary."""

from __future__ import annotations

import base64

import pytest
from flext_plugin_ldif import LdifEntry, parse_ldif
from flext_plugin_ldif.schema import DEFAULT_SCHEMA, Schema, parse_attribute_types


def one(text: str, schema: Schema = DEFAULT_SCHEMA) -> LdifEntry:
    (entry,) = parse_ldif(text, schema=schema)
    return entry


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


RIFF = b"\x00\x01\x02RIFF\x00\x00WAVE"  # valid UTF-8, and still a sound


def test_aliases_are_merged_under_the_canonical_name_case_insensitively() -> None:
    entry = one(
        "dn: cn=x\nCommonName: Ada\ncn: Ada L\nSURNAME: Lovelace\ngn: Ada\nrfc822Mailbox: ada@x\n"
        "userid: ada\n2.5.4.12: Countess\nobjectclass: person\n"
    )
    assert entry.attributes == {
        "cn": ["Ada", "Ada L"],
        "sn": ["Lovelace"],
        "givenname": ["Ada"],
        "mail": ["ada@x"],
        "uid": ["ada"],
        "title": ["Countess"],
        "objectclass": ["person"],
    }


def test_options_stay_apart_from_the_plain_attribute_and_keep_their_alias_merged() -> None:
    entry = one("dn: cn=x\ncommonName;lang-PT: Ada\ncn: Ada\nCN;LANG-pt: Adinha\nsn;lang-en: L\n")
    assert entry.attributes == {"cn;lang-pt": ["Ada", "Adinha"], "cn": ["Ada"], "sn;lang-en": ["L"]}


def test_modifications_name_the_canonical_attribute() -> None:
    entry = one("dn: cn=x\nchangetype: modify\nreplace: surname\nsn: New\n-\nadd: gn\ngivenName: G\n-\n")
    assert [(m.attribute, m.values) for m in entry.modifications] == [("sn", ("New",)), ("givenname", ("G",))]


def test_a_binary_syntax_attribute_is_base64_even_when_its_bytes_are_utf8() -> None:
    # Issue 15, item 1: 'audio' decoded as text gave a string with NULs and no binary_attributes.
    entry = one(f"dn: cn=x\naudio:: {b64(RIFF)}\njpegPhoto:: {b64(b'JFIF ascii')}\ndescription: text\n")
    assert entry.binary == {"audio", "jpegphoto"}
    assert entry.attributes["audio"] == [b64(RIFF)]
    assert entry.attributes["jpegphoto"] == [b64(b"JFIF ascii")]
    assert entry.attributes["description"] == ["text"]


def test_a_plain_value_of_a_binary_attribute_is_given_as_base64_of_its_bytes() -> None:
    entry = one("dn: cn=x\nuserCertificate: abc\nuserCertificate:: /w==\n")
    assert entry.binary == {"usercertificate"}
    assert entry.attributes["usercertificate"] == [b64(b"abc"), "/w=="]


def test_the_binary_option_makes_any_attribute_binary() -> None:
    entry = one("dn: cn=x\nfoo;binary:: YWJj\nfoo: abc\n")
    assert entry.binary == {"foo;binary"}
    assert entry.attributes == {"foo;binary": ["YWJj"], "foo": ["abc"]}


def test_a_configured_list_adds_binary_attributes_by_any_alias() -> None:
    schema = DEFAULT_SCHEMA.with_binary(["orclGUID", "surname"])
    entry = one("dn: cn=x\norclguid: 0A1B\nsn: Lovelace\ncn: Ada\n", schema)
    assert entry.binary == {"orclguid", "sn"}
    assert entry.attributes == {"orclguid": [b64(b"0A1B")], "sn": [b64(b"Lovelace")], "cn": ["Ada"]}


@pytest.mark.parametrize("payload", [b"a\x00b", b"\xff\xfe"])
def test_text_with_a_nul_or_not_utf8_is_base64_for_the_whole_attribute_of_that_entry(payload: bytes) -> None:
    entry = one(f"dn: cn=x\ndescription: first\ndescription:: {b64(payload)}\ndescription: last\n")
    assert entry.binary == {"description"}
    assert entry.attributes["description"] == [b64(b"first"), b64(payload), b64(b"last")]
    change = one(f"dn: cn=x\nchangetype: modify\nreplace: description\ndescription:: {b64(payload)}\n-\n")
    assert change.modifications[0].binary
    assert change.modifications[0].values == (b64(payload),)


def test_user_password_is_an_octet_string_so_binary() -> None:
    assert one("dn: cn=x\nuserPassword: {SSHA}abc\n").attributes == {"userpassword": [b64(b"{SSHA}abc")]}


def test_attribute_type_descriptions_inherit_syntax_and_equality_through_sup() -> None:
    types = parse_attribute_types(
        [
            "( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
            "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'SYNTAX in a DESC (SUP x)' SUP name )",
            "( 1.1 NAME 'blob' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )",
            "( 1.2 NAME ( 'pic' 'picture' ) SUP blob )",
        ]
    )
    schema = Schema.from_attribute_types(types)
    assert schema.aliases == {"2.5.4.41": "name", "2.5.4.3": "cn", "commonname": "cn", "1.1": "blob",
                              "1.2": "pic", "picture": "pic"}  # fmt: skip
    assert schema.binary == {"blob", "pic"}
    assert schema.case_exact == {"blob", "pic"}
