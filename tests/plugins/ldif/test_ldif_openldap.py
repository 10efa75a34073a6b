"""Where RFC 2849 leaves room, the parser reads LDIF as OpenLDAP does: each test asks a real slapd.

The entries are added with ``ldapadd`` and read back with ``slapcat`` (or
``ldapsearch``); what the server stored is read by a small independent reader
(``slapcat -o ldif-wrap=no`` writes one ``name: value`` or ``name:: base64``
per line) and compared value by value, as bytes, with what the parser gives.
"""

from __future__ import annotations

import base64
from collections import defaultdict

import pytest
from flext_plugin_ldif import LdifEntry, LdifError, parse_ldif
from flext_plugin_ldif.schema import DEFAULT_SCHEMA

from flext_sdk.testing.ldap_server import LdapServer

OPERATIONAL = {"structuralobjectclass", "entryuuid", "creatorsname", "createtimestamp", "entrycsn",
               "modifiersname", "modifytimestamp"}  # fmt: skip

# A self-signed EC certificate (DER), which slapd checks against the Certificate syntax.
CERTIFICATE = (
    "MIIBbTCCAROgAwIBAgIUSjcmMM8yXH28ALrti+GuhzG1CSowCgYIKoZIzj0EAwIwDDEKMAgGA1UEAwwBdDAeFw0yNjEyMDcw"
    "NzI0NDJaFw0yNjEyMDgwNzI0NDJaMAwxCjAIBgNVBAMMAXQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQxT628jMI0XKdY"
    "XLZZiMvqtiClNWoJZBFkMWy4bTGD0nDq5uxprdHCekcUPuQNd02eCRjLehyYVMsQWeNNcLPvo1MwUTAdBgNVHQ4EFgQUzGNY"
    "6dl4xQmX1Ht6FnRWuAXsjHMwHwYDVR0jBBgwFoAUzGNY6dl4xQmX1Ht6FnRWuAXsjHMwDwYDVR0TAQH/BAUwAwEB/zAKBggq"
    "hkjOPQQDAgNIADBFAiEAg4ponFrGPmbJoWA0+ZXuxRVC/hc5++mmzLBp15pBs4kCIFjutNTNgr21IwZ1yy0aECLJLx1DqKvq"
    "b0LBsqcA/DVh"
)


def stored(export: bytes) -> dict[str, dict[str, list[bytes]]]:
    """DN -> attribute name as the server writes it (lower case) -> values as bytes, from unwrapped LDIF."""
    entries: dict[str, dict[str, list[bytes]]] = {}
    for record in export.split(b"\n\n"):
        attributes: dict[str, list[bytes]] = defaultdict(list)
        dn = None
        for line in record.split(b"\n"):
            if not line or line.startswith(b"#"):
                continue
            name, _, rest = line.partition(b":")
            value = base64.b64decode(rest[1:].strip()) if rest.startswith(b":") else rest.lstrip(b" ")
            if name.lower() == b"dn":
                dn = value.decode()
            elif name.lower().decode() not in OPERATIONAL:
                attributes[name.decode().lower()].append(value)
        if dn is not None:
            entries[dn] = dict(attributes)
    return entries


def values_as_bytes(entry: LdifEntry) -> dict[str, list[bytes]]:
    return {
        name: [base64.b64decode(v) if name in entry.binary else v.encode() for v in values]
        for name, values in entry.attributes.items()
    }


def add(server: LdapServer, ldif: str | bytes) -> str:
    """Add ``ldif`` (written with {base} for the DN of a fresh subtree); returns that subtree."""
    base = server.subtree()
    server.ldapadd(
        ldif.replace(b"{base}", base.encode()) if isinstance(ldif, bytes) else ldif.format(base=base)
    )
    return base


def parsed(ldif: str | bytes, base: str) -> list[LdifEntry]:
    data = (
        ldif.replace(b"{base}", base.encode()) if isinstance(ldif, bytes) else ldif.format(base=base).encode()
    )
    return list(parse_ldif(data.decode("utf-8", "surrogateescape")))


def test_a_fold_inside_a_utf8_character_reads_as_ldapadd_reads_it(ldap_server: LdapServer, tmp_path) -> None:
    from flext_plugin_ldif import read_ldif

    ldif = b"dn: cn=cafe,{base}\nobjectClass: inetOrgPerson\ncn: cafe\nsn: x\nl: caf\xc3\n \xa9 folded\n"
    base = add(ldap_server, ldif)
    server = stored(ldap_server.slapcat(f"cn=cafe,{base}"))[f"cn=cafe,{base}"]
    path = tmp_path / "folded.ldif"
    path.write_bytes(ldif.replace(b"{base}", base.encode()))
    (entry,) = read_ldif(path)
    assert server["l"] == [b"caf\xc3\xa9 folded"]
    assert values_as_bytes(entry) == server


def test_spaces_and_tabs_after_the_colon_are_dropped_as_slapd_drops_them(ldap_server: LdapServer) -> None:
    ldif = ("dn: cn=t,{base}\nobjectClass: person\ncn: t\nsn:\tTabbed\n"
            "description: \t\x0b\x0c two\ndescription: trail  \nseeAlso:\x0bcn=x\n")  # fmt: skip
    base = add(ldap_server, ldif)
    server = stored(ldap_server.slapcat(f"cn=t,{base}"))[f"cn=t,{base}"]
    (entry,) = parsed(ldif, base)
    assert values_as_bytes(entry) == server
    assert server["sn"] == [b"Tabbed"]


@pytest.mark.parametrize(
    "between", ["\n   \n\n", "\n \n", "\n\t\n"], ids=["spaces-alone", "spaces-glued", "tab-line"]
)
def test_a_line_of_blanks_between_records_is_refused_as_ldapadd_refuses_it(
    ldap_server: LdapServer, between: str
) -> None:
    base = ldap_server.subtree()
    first, second = (f"dn: cn={n},{base}\nobjectClass: person\ncn: {n}\nsn: {n}\n" for n in "ab")
    ldif = first + between + second
    assert ldap_server.run_client("ldapadd", stdin=ldif).returncode != 0
    with pytest.raises(LdifError):
        list(parse_ldif(ldif))


def test_aliases_are_stored_under_the_names_the_parser_gives(ldap_server: LdapServer) -> None:
    ldif = ("dn: cn=Ada,{base}\nobjectClass: inetOrgPerson\ncommonName: Ada\nsurname: Lovelace\n"
            "gn: Ada\nrfc822Mailbox: ada@example.com\nuserid: ada\n2.5.4.12: Countess\n"
            "description;lang-pt: Condessa\nDescription: Countess\n")  # fmt: skip
    base = add(ldap_server, ldif)
    server = stored(ldap_server.slapcat(f"cn=Ada,{base}"))[f"cn=Ada,{base}"]
    (entry,) = parsed(ldif, base)
    assert values_as_bytes(entry) == server
    assert set(server) == {"objectclass", "cn", "sn", "givenname", "mail", "uid", "title",
                           "description;lang-pt", "description"}  # fmt: skip


def test_values_are_binary_where_the_syntax_is_and_bytes_match_the_server(ldap_server: LdapServer) -> None:
    riff = base64.b64encode(b"\x00\x01\x02RIFF\x00\x00WAVE").decode()
    ascii_photo = base64.b64encode(b"JFIF but ASCII").decode()
    nul_text = base64.b64encode(b"a\x00b").decode()
    ldif = (f"dn: cn=bin,{{base}}\nobjectClass: inetOrgPerson\ncn: bin\nsn: x\naudio:: {riff}\n"
            f"jpegPhoto:: {ascii_photo}\nuserCertificate;binary:: {CERTIFICATE}\nuserPKCS12:: MAA=\n"
            f"userPassword: {{{{SSHA}}}}abc\ndescription:: {nul_text}\n")  # fmt: skip
    base = add(ldap_server, ldif)
    server = stored(ldap_server.slapcat(f"cn=bin,{base}"))[f"cn=bin,{base}"]
    (entry,) = parsed(ldif, base)
    assert values_as_bytes(entry) == server
    binary_syntax = {"audio", "jpegphoto", "usercertificate;binary", "userpkcs12", "userpassword"}
    assert {name for name in entry.binary if DEFAULT_SCHEMA.is_binary(name)} == binary_syntax
    assert entry.binary == binary_syntax | {
        "description"
    }  # text holding a NUL: base64, by the documented rule


def test_default_ldapsearch_output_with_its_trailer_is_read_and_a_limited_one_refused(
    ldap_server: LdapServer,
) -> None:
    ldif = "".join(f"dn: cn=u{n},{{base}}\nobjectClass: person\ncn: u{n}\nsn: s{n}\n\n" for n in range(3))
    base = add(ldap_server, ldif)
    full = ldap_server.ldapsearch(base, "(objectClass=person)", ldif_flags="").decode()
    assert "# search result\nsearch: 2\nresult: 0 Success" in full
    results = []
    entries = list(parse_ldif(full, on_search_result=results.append))
    plain = list(parse_ldif(ldap_server.ldapsearch(base, "(objectClass=person)").decode()))
    assert [(e.dn, e.attributes) for e in entries] == [(e.dn, e.attributes) for e in plain]
    assert len(entries) == 3
    assert [(r.code, r.text) for r in results] == [(0, "Success")]

    done = ldap_server.run_client("ldapsearch", "-b", base, "-z", "1", "(objectClass=person)")
    assert done.returncode == 4  # sizeLimitExceeded: the output holds one entry, then the trailer
    with pytest.raises(LdifError) as refused:
        list(parse_ldif(done.stdout.decode(), source="partial.ldif"))
    assert "result: 4 Size limit exceeded" in refused.value.reason
    assert "does not hold every entry" in refused.value.reason
