"""A real slapd standing in for OUD as the target of sync and verify, and migration projects aimed at it.

The target is the SDK's ``LdapServer`` (its own instance: the shared
``ldap_server`` fixture's schemas lack what the migration writes) started
with the ``dyngroup`` schema (``groupOfURLs``, ``memberURL``) and
``OUD_STANDIN_SCHEMA``: the two OUD attributes the migration writes and no
OpenLDAP schema has, ``aci`` and ``ds-pwp-account-disabled``. OUD declares
them operational (``USAGE directoryOperation``), which a slapd schema file
may not; here they are user attributes, allowed on each structural class of
the migrated entries by a DIT content rule (RFC 4512), so the entries load as
written, with no extra object class; the groups' rules also allow the
``extensibleObject`` the schema phase adds to a group that keeps OID's
``displayName`` (OUD has no content rules and takes it). slapd stores ``aci`` values without
enforcing them: the ACIs are checked on 389 DS (``test_acl_effective_rights``).
``ds-pwp-account-disabled`` is declared as OUD (OpenDS's schema, 02-config)
defines it: OID 1.3.6.1.4.1.26027.1.1.166, Boolean syntax, ``booleanMatch``,
single-valued. slapd's Boolean syntax takes only ``TRUE``/``FALSE`` (RFC 4517),
which is what the users phase writes and what OUD's documentation names.

The base entry of ``LdapServer.start`` is ``dc=example,dc=com`` (a suffix of
its own fails there: ``LdapServer`` keeps the default root DN), so each test
migrates under ``dc=algar,<a subtree of its own>``.

``restart(server)`` starts slapd again on the same directory and port, as a
server that was stopped and came back.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from flext_plugin_algar.phases import PHASES, Migration, run_phases
from flext_plugin_algar.project import init_project, load_project, load_rules

from flext_sdk.testing.ldap_server import SCHEMAS, LdapServer, require_slapd

EXAMPLE: Final = Path(__file__).parents[3] / "plugins/algar/examples/oid-export.ldif"
SECRET_FILE: Final = "target.secret"
"""The file (in the project) holding the bind password; ``algar.yaml`` says ``file:target.secret``."""

OUD_STANDIN_SCHEMA: Final = """\
attributetype ( 2.16.840.1.113730.3.1.55 NAME 'aci'
    DESC 'OUD access control instruction (stand-in: stored, not enforced)'
    EQUALITY caseExactMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.26027.1.1.166 NAME 'ds-pwp-account-disabled'
    DESC 'OUD: TRUE if the account has been disabled by an administrator (here a user attribute)'
    EQUALITY booleanMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.7
    SINGLE-VALUE )
ditcontentrule ( 0.9.2342.19200300.100.4.13 NAME 'algarDomain' MAY aci )
ditcontentrule ( 2.5.6.11 NAME 'algarApplicationProcess' MAY aci )
ditcontentrule ( 2.5.6.5 NAME 'algarOrganizationalUnit' MAY aci )
ditcontentrule ( 2.16.840.1.113730.3.2.2 NAME 'algarInetOrgPerson' MAY ( aci $ ds-pwp-account-disabled ) )
ditcontentrule ( 2.5.6.17 NAME 'algarGroupOfUniqueNames' AUX extensibleObject MAY aci )
ditcontentrule ( 2.5.6.9 NAME 'algarGroupOfNames' AUX extensibleObject MAY aci )
ditcontentrule ( 2.16.840.1.113730.3.2.33 NAME 'algarGroupOfURLs' AUX extensibleObject MAY aci )
"""


def start_target(directory: Path) -> LdapServer:
    """A private slapd in ``directory`` with the stand-in schema (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    schema = directory / "oud-standin"
    schema.with_suffix(".schema").write_text(OUD_STANDIN_SCHEMA, encoding="utf-8")
    # LdapServer includes /etc/ldap/schema/<name>.schema; an absolute name replaces that folder.
    return LdapServer.start(directory, schemas=(*SCHEMAS, "dyngroup", str(schema)))


def restart(server: LdapServer) -> LdapServer:
    """slapd again on ``server``'s directory, configuration and port (the server came back)."""
    slapd = shutil.which("slapd") or "/usr/sbin/slapd"
    with (server.directory / "slapd.log").open("ab") as log:
        process = subprocess.Popen(
            [slapd, "-d", "0", "-f", str(server.config), "-h", server.url],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError(f"slapd did not come back on port {server.port}")
    return LdapServer(server.directory, server.port, process, suffix=server.suffix)


def serve_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    """One stand-in target for a test module's fixture; each test works under a subtree of its own.

    A test module declares ``oud_target`` with it (session scope): ``yield from serve_target(...)``.
    """
    require_slapd()  # a skip here, a failure on CI
    server = start_target(tmp_path_factory.mktemp("oud-target"))
    try:
        yield server
    finally:
        server.stop()


def write_project(
    directory: Path, server: LdapServer, *, batch_size: int = 500, password: str | None = None
) -> str:
    """A project for the sample export aimed at ``server``; returns its target suffix (a fresh subtree)."""
    assert init_project(directory).is_success
    shutil.copy(EXAMPLE, directory / "oid-export.ldif")
    suffix = f"dc=algar,{server.subtree('algar')}"
    (directory / SECRET_FILE).write_text((password or server.admin_password) + "\n", encoding="utf-8")
    text = (directory / "algar.yaml").read_text(encoding="utf-8")
    text = re.sub(r"url: ldap://localhost:1389", f"url: {server.url.rstrip('/')}", text)
    text = text.replace("bind_dn: cn=Directory Manager", f"bind_dn: {server.admin_dn}")
    text = text.replace("bind_password: env:OUD_BIND_PASSWORD", f"bind_password: file:{SECRET_FILE}")
    text = text.replace("  to: dc=algar,dc=br", f"  to: {suffix}")
    text = text.replace("batch_size: 500 ", f"batch_size: {batch_size} ")
    (directory / "algar.yaml").write_text(text, encoding="utf-8")
    return suffix


def migrated(directory: Path, reader: object) -> Migration:
    """The project's migration, its LDIF phases run (in-process, with the ldif plugin's reader)."""
    from flext_sdk.contracts.ldif import LdifReader

    assert isinstance(reader, LdifReader)
    project = load_project(directory).value
    migration = Migration.of(project, load_rules(project).value, reader).value
    for result in run_phases(migration, PHASES):
        assert result.is_success, result
    return migration


def audit(server: LdapServer) -> str:
    """The server's audit log so far (every change it applied, as LDIF change records)."""
    path = server.audit_log
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def audit_changes(text: str) -> list[tuple[str, str]]:
    """``(changetype, dn)`` of each record of an audit log text (base64 DNs decoded)."""
    import base64

    found: list[tuple[str, str]] = []
    for block in text.split("\n\n"):
        lines = block.replace("\n ", "").splitlines()
        dn = next((line for line in lines if line.startswith("dn:")), None)
        kind = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("changetype:")), None)
        if dn is None or kind is None:
            continue
        value = base64.b64decode(dn[4:].strip()).decode("utf-8") if dn.startswith("dn::") else dn[3:].strip()
        found.append((kind, value))
    return found
