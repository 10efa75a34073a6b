"""The differential test of issue 15: a generated directory, a real slapd, and tap-ldif, entry by entry.

A directory of people and groups with every kind of value the issue lists
(non-ASCII names, language options, aliases, base64 and folded values, folds
inside UTF-8 characters, a leading TAB, binary photos, sounds and
certificates, text holding a NUL, groups of thousands of members, escaped
DNs and spaces around separators) is written as LDIF, added to a private
slapd with ``ldapadd``, and exported with ``slapcat`` and ``ldapsearch
-LLL`` (folded at 76 columns, as by default). tap-ldif then reads each of the
three files (the input, and both exports), and every record it gives must
match what the server stored, attribute by attribute and value by value, as
bytes: binary values decoded from base64, text encoded as UTF-8, DN-valued
attributes compared in the DN normal form (slapd rewrites ``\\,`` as
``\\2C`` in them). The server's entries are read by a small reader of its own
(``slapcat -o ldif-wrap=no``), not by the parser under test.
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_ldif.dn import normalize_dn

from flext_sdk.testing.ldap_server import LdapServer

pytestmark = pytest.mark.slow

TAP = Path(sys.executable).with_name("tap-ldif")
OPERATIONAL = {"structuralobjectclass", "entryuuid", "creatorsname", "createtimestamp", "entrycsn",
               "modifiersname", "modifytimestamp"}  # fmt: skip
DN_VALUED = {"member", "uniquemember", "seealso", "owner", "manager", "secretary"}
GIVEN = ["José", "Zoë", "Øyvind", "Łukasz", "François", "Ingrid", "伟", "Antonín", "Ada", "Grace", "Ñandú"]
SURNAMES = ["Müller", "Ångström", "Sørensen", "Wąsik", "Lefèvre", "Þórsdóttir", "张", "Dvořák", "Smith"]
# A self-signed EC certificate (DER), which slapd checks against the Certificate syntax.
CERTIFICATE = base64.b64decode(
    "MIIBbTCCAROgAwIBAgIUSjcmMM8yXH28ALrti+GuhzG1CSowCgYIKoZIzj0EAwIwDDEKMAgGA1UEAwwBdDAeFw0yNjEyMDcw"
    "NzI0NDJaFw0yNjEyMDgwNzI0NDJaMAwxCjAIBgNVBAMMAXQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQxT628jMI0XKdY"
    "XLZZiMvqtiClNWoJZBFkMWy4bTGD0nDq5uxprdHCekcUPuQNd02eCRjLehyYVMsQWeNNcLPvo1MwUTAdBgNVHQ4EFgQUzGNY"
    "6dl4xQmX1Ht6FnRWuAXsjHMwHwYDVR0jBBgwFoAUzGNY6dl4xQmX1Ht6FnRWuAXsjHMwDwYDVR0TAQH/BAUwAwEB/zAKBggq"
    "hkjOPQQDAgNIADBFAiEAg4ponFrGPmbJoWA0+ZXuxRVC/hc5++mmzLBp15pBs4kCIFjutNTNgr21IwZ1yy0aECLJLx1DqKvq"
    "b0LBsqcA/DVh"
)


RIFF = b"\x00\x01\x02RIFF\x00\x00WAVE"  # valid UTF-8, and a sound


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _fold(line: bytes, width: int) -> bytes:
    """Fold a line every ``width`` bytes, wherever that falls (also inside a UTF-8 character)."""
    if len(line) <= width:
        return line
    parts = [line[:width]] + [b" " + line[i : i + width - 1] for i in range(width, len(line), width - 1)]
    return b"\n".join(parts)


def _directory(base: str, users: int, seed: int) -> bytes:
    """The generated directory as LDIF bytes, folded at 40 bytes (cutting UTF-8 characters)."""
    pick = random.Random(seed)
    records: list[list[str]] = [
        [f"dn: ou=people,{base}", "objectClass: organizationalUnit", "ou: people"],
        [f"dn: ou=groups , {base}", "objectClass: organizationalUnit", "ou: groups"],  # spaces as written
    ]
    user_dns = []
    for n in range(users):
        given, surname = pick.choice(GIVEN), pick.choice(SURNAMES)
        if n % 17 == 0:  # an escaped comma in the RDN, written \, or \2C
            escaped = "\\," if n % 2 else "\\2C"
            dn = f"cn={surname}{escaped} {given} {n},ou=people,{base}"
            lines = [f"dn: {dn}", "objectClass: inetOrgPerson", f"cn: {surname}, {given} {n}"]
        else:
            dn = f"uid=u{n},ou=people,{base}"
            lines = [
                f"dn: {dn}",
                "objectClass: inetOrgPerson",
                f"uid: u{n}",
                f"commonName: {given} {surname}",
            ]
        user_dns.append(dn)
        lines.append(f"{'surname' if n % 3 == 0 else 'sn'}: {surname}")
        lines.append(f"{'gn' if n % 4 == 0 else 'givenName'}: {given}")
        lines.append(f"{'rfc822Mailbox' if n % 5 == 0 else 'mail'}: u{n}@example.com")
        if n % 6 == 0:
            lines.append(f"cn;lang-pt: {given} {surname} (pt)")
        if n % 7 == 0:
            lines.append("description: " + "a long description that will be folded " * 3 + f"#{n}")
        if n % 8 == 0:
            lines.append(f"title:\tTabbed title {n}")
        if n % 9 == 0:
            lines.append(f"jpegPhoto:: {_b64(bytes(pick.randrange(256) for _ in range(300)))}")
        if n % 10 == 0:
            lines.append("audio:: " + _b64(RIFF + n.to_bytes(2, "big")))
        if n % 11 == 0:
            lines.append(f"userCertificate;binary:: {_b64(CERTIFICATE)}")
        if n % 12 == 0:
            lines.append("description:: " + _b64(b"nul \x00 inside " + str(n).encode()))
        if n % 13 == 0:
            lines.append(f"l: {pick.choice(SURNAMES)}ville é ø ñ 中文")
        lines.append(f"userPassword: {{SSHA}}{_b64(n.to_bytes(8, 'big'))}")
        records.append(lines)
    for g in range(6):
        size = 2_000 if g == 0 else 3 + g * 7
        members = [user_dns[(g * 31 + k) % users] for k in range(min(size, users))]
        members += [f"uid=ghost{k},ou=people,{base}" for k in range(size - len(members))]
        lines = [f"dn: cn=group {g},ou=groups,{base}", "objectClass: groupOfNames", f"cn: group {g}"]
        lines += [f"member: {member}" for member in dict.fromkeys(members)]
        records.append(lines)
    out = []
    for lines in records:
        out.append(b"\n".join(_fold(line.encode(), 40) for line in lines))
    return b"\n\n".join(out) + b"\n"


def _stored(export: bytes) -> dict[str, dict[str, list[bytes]]]:
    """What the server stored, from ``slapcat -o ldif-wrap=no`` (one line per value)."""
    entries: dict[str, dict[str, list[bytes]]] = {}
    for block in export.split(b"\n\n"):
        attributes: dict[str, list[bytes]] = defaultdict(list)
        dn = None
        for line in block.split(b"\n"):
            if not line or line.startswith(b"#"):
                continue
            name, _, rest = line.partition(b":")
            value = base64.b64decode(rest[1:].strip()) if rest.startswith(b":") else rest.lstrip(b" ")
            key = name.decode().lower()
            if key == "dn":
                dn = value.decode()
            elif key not in OPERATIONAL:
                attributes[key].append(value)
        if dn is not None:
            entries[normalize_dn(dn)] = _comparable(attributes)
    return entries


def _comparable(attributes: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    return {
        name: sorted(normalize_dn(v.decode()).encode() if name in DN_VALUED else v for v in values)
        for name, values in attributes.items()
    }


def _tap_entries(ldif: Path, tmp_path: Path) -> dict[str, dict[str, list[bytes]]]:
    config = tmp_path / f"{ldif.stem}.json"
    config.write_text(json.dumps({"files": [str(ldif)], "normalize_dn": True}))
    done = subprocess.run([str(TAP), "--config", str(config)], capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    entries: dict[str, dict[str, list[bytes]]] = {}
    for line in done.stdout.splitlines():
        message: dict[str, Any] = json.loads(line)
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        binary = set(record["binary_attributes"])
        attributes = {
            name: [base64.b64decode(v) if name in binary else v.encode() for v in values]
            for name, values in record["attributes"].items()
            if name not in OPERATIONAL
        }
        assert record["dn"] not in entries, f"two records for {record['dn']}"
        entries[record["dn"]] = _comparable(attributes)
    return entries


def test_tap_ldif_reads_what_slapd_stores_from_the_input_and_from_both_exports(
    ldap_server: LdapServer, tmp_path: Path
) -> None:
    base = ldap_server.subtree("differential")
    ldif = _directory(base, users=300, seed=15)
    (tmp_path / "input.ldif").write_bytes(ldif)
    ldap_server.ldapadd(ldif)
    export = ldap_server.slapcat(base)
    (tmp_path / "slapcat.ldif").write_bytes(export)
    searched = ldap_server.run_client("ldapsearch", "-LLL", "-b", base, "(objectClass=*)", "*")
    assert searched.returncode == 0, searched.stderr
    assert b"\n " in searched.stdout  # folded at 76 columns, as ldapsearch does by default
    (tmp_path / "ldapsearch.ldif").write_bytes(searched.stdout)

    server = _stored(export)
    assert len(server) == 1 + 2 + 300 + 6  # the subtree's OU, two OUs, the people, the groups
    for name in ("input", "slapcat", "ldapsearch"):
        read = _tap_entries(tmp_path / f"{name}.ldif", tmp_path)
        if name == "input":
            read.pop(base, None)  # the test's own OU is not in the input file
            expected = {dn: entry for dn, entry in server.items() if dn != base}
        else:
            expected = server
        assert read.keys() == expected.keys(), name
        for dn, entry in expected.items():
            assert read[dn] == entry, (name, dn)


def test_the_normal_form_of_every_dn_finds_its_entry_in_slapd(
    ldap_server: LdapServer, tmp_path: Path
) -> None:
    base = ldap_server.subtree("differential-dn")
    ldif = _directory(base, users=40, seed=7)
    (tmp_path / "input.ldif").write_bytes(ldif)
    ldap_server.ldapadd(ldif)
    server_dns = {normalize_dn(dn): dn for dn in _server_dns(ldap_server.slapcat(base))}
    for dn in _tap_entries(tmp_path / "input.ldif", tmp_path):
        found = ldap_server.run_client(
            "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", dn, "-s", "base", "1.1"
        )
        assert found.returncode == 0, (dn, found.stderr)
        assert _server_dns(found.stdout) == [server_dns[dn]]


def _server_dns(export: bytes) -> list[str]:
    dns = []
    for line in export.split(b"\n"):
        if line.startswith(b"dn:: "):
            dns.append(base64.b64decode(line[5:]).decode())
        elif line.startswith(b"dn: "):
            dns.append(line[4:].decode())
    return dns
