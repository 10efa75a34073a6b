"""Reading a live OID server (``ldap_source.export_source``) against a real slapd.

slapd stands in for OID: it loads the sample OID export (``examples/oid-export.ldif``)
with an OID-like schema (``OID_SCHEMA``), as far as its schema accepts the entries.
The export is checked differentially: ``ldapsearch -LLL`` of the same server,
read with the same LDIF reader, must give the same entries, attributes and
values (decoded). The failures (wrong password, missing base, server gone part
way, a size limit) run on servers of their own.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_algar.errors import (
    LDAP_BIND_FAILED,
    LDAP_CONNECTION_LOST,
    LDAP_OPERATION_FAILED,
    LDAP_UNREACHABLE,
)
from flext_plugin_algar.ldap_source import LIVE_OPERATIONAL, export_source
from flext_plugin_algar.phases import PHASES, SOURCE_SNAPSHOT, Migration, read_source, run_phases
from flext_plugin_algar.project import Project, init_project, load_project, load_rules
from flext_plugin_algar.sample import write_export
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flext_kernel.errors import NOT_FOUND
from flext_sdk.contracts.ldif import LdifReader, LdifRecord
from flext_sdk.testing.ldap_server import SCHEMAS, LdapServer, require_slapd

SUFFIX = "dc=algar,dc=com,dc=br"
EXAMPLE = Path(__file__).parents[3] / "plugins/algar/examples/oid-export.ldif"
PASSWORD = "s3cr3t-oid-Bind"
"""The reader account's password (the tests check it appears nowhere)."""
READER = f"uid=reader,{SUFFIX}"

# OID's ACL and identity attributes are operational on OID (``USAGE directoryOperation``); slapd refuses
# operational types from schema files, so here they are user attributes an auxiliary class allows.
OID_SCHEMA = """\
attributetype ( 2.16.840.1.113894.1.1.1 NAME 'orclGUID' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113894.1.1.2 NAME 'orclNormDN' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113894.1.1.3 NAME 'orclACI' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 2.16.840.1.113894.1.1.4 NAME 'orclEntryLevelACI' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 2.16.840.1.113894.1.1.5 NAME 'orclIsEnabled' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113894.1.1.6 NAME 'orclPassword' EQUALITY octetStringMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
attributetype ( 2.16.840.1.113894.1.1.7 NAME 'pwdChangedTime' EQUALITY generalizedTimeMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )
objectclass ( 2.16.840.1.113894.1.2.1 NAME 'orclContainer' SUP top STRUCTURAL MUST cn )
objectclass ( 2.16.840.1.113894.1.2.2 NAME 'orclContext' SUP top STRUCTURAL MUST cn )
objectclass ( 2.16.840.1.113894.1.2.3 NAME 'orclSubscriber' SUP top AUXILIARY )
objectclass ( 2.16.840.1.113894.1.2.4 NAME 'orclUser' SUP top AUXILIARY MAY orclPassword )
objectclass ( 2.16.840.1.113894.1.2.5 NAME 'orclUserV2' SUP top AUXILIARY
  MAY ( orclIsEnabled $ orclPassword ) )
objectclass ( 2.16.840.1.113894.1.2.6 NAME 'orclGroup' SUP top AUXILIARY MAY ( displayName $ owner ) )
objectclass ( 2.16.840.1.113894.1.2.7 NAME 'orclPrivilegeGroup' SUP top AUXILIARY )
objectclass ( 2.16.840.1.113894.1.2.8 NAME 'orclDynamicGroup' SUP top AUXILIARY MAY labeledURI )
objectclass ( 2.16.840.1.113894.1.2.99 NAME 'orclOperationalStandIn' SUP top AUXILIARY
  MAY ( orclGUID $ orclNormDN $ orclACI $ orclEntryLevelACI $ pwdChangedTime ) )
"""
_DN_LINE = re.compile(r"^(dn::? [^\n]*(?:\n [^\n]*)*)\n")


@dataclass
class OidServer(LdapServer):
    """slapd under the OID suffix (``LdapServer.start(suffix=...)`` keeps the default root DN otherwise)."""

    admin_dn: str = f"cn=admin,{SUFFIX}"


def _start(directory: Path) -> OidServer:
    require_slapd()  # a skip here, a failure on CI
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oid.schema").write_text(OID_SCHEMA, encoding="utf-8")
    # A schema name that is a path is included from there (pathlib joins an absolute path as is).
    server = OidServer.start(directory / "slapd", suffix=SUFFIX, schemas=(*SCHEMAS, str(directory / "oid")))
    assert isinstance(server, OidServer)
    server.ldapadd(
        f"dn: {READER}\nobjectClass: account\nobjectClass: simpleSecurityObject\n"
        f"uid: reader\nuserPassword: {PASSWORD}\n"
    )
    return server


def _load(server: LdapServer, export: str) -> None:
    """Load an OID export: OID's timestamps kept (Relax Rules), what slapd's schema refuses left out."""
    records = [record for record in export.split("\n\n") if record.strip().startswith("dn")]
    base = [record for record in records if record.startswith(f"dn: {SUFFIX}\n")]
    if base:  # the export's own suffix entry (OID classes, orclACI) replaces the one the fixture made
        server.run_client("ldapdelete", SUFFIX)
    ldif = "\n\n".join(
        _DN_LINE.sub(r"\1\nobjectClass: orclOperationalStandIn\n", r, count=1) for r in records
    )
    for _ in range(2):  # a second pass adds the children the export wrote before their parent
        server.run_client("ldapadd", "-c", "-e", "relax", stdin=ldif + "\n")


def _project(directory: Path, server: LdapServer, *, page_size: int, password: str = PASSWORD) -> Project:
    init_project(directory).unwrap()
    (directory / "bind.secret").write_text(password + "\n", encoding="utf-8")
    settings = (directory / "algar.yaml").read_text(encoding="utf-8")
    live = (
        f"  url: {server.url.rstrip('/')}\n  base_dn: {SUFFIX}\n  bind_dn: {READER}\n"
        f"  bind_password: file:bind.secret\n  page_size: {page_size}\n"
    )
    (directory / "algar.yaml").write_text(
        settings.replace("  ldif: oid-export.ldif\n", live), encoding="utf-8"
    )
    return load_project(directory).unwrap()


def _entries(reader: LdifReader, path: Path) -> dict[str, dict[str, list[bytes]]]:
    """normal DN -> attribute -> its values as bytes, sorted (what the entry holds, decoded)."""
    entries: dict[str, dict[str, list[bytes]]] = {}
    for item in reader.read(path):
        assert isinstance(item, LdifRecord), item
        assert item.normal_dn not in entries
        entries[item.normal_dn] = {
            name: sorted(value if isinstance(value, bytes) else value.encode("utf-8") for value in values)
            for name, values in item.attributes.items()
        }
    return entries


def _ldapsearch(server: LdapServer, path: Path) -> Path:
    path.write_bytes(server.ldapsearch(SUFFIX, "(objectClass=*)", "*", *LIVE_OPERATIONAL))
    return path


@pytest.fixture(scope="module")
def oid_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidServer]:
    server = _start(tmp_path_factory.mktemp("oid"))
    try:
        _load(server, EXAMPLE.read_text(encoding="utf-8"))
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[[], OidServer]]:
    """Servers of the test's own, stopped at its end (for the tests that stop or reconfigure one)."""
    started: list[OidServer] = []

    def start() -> OidServer:
        started.append(_start(tmp_path / f"server-{len(started)}"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_the_export_holds_what_ldapsearch_reads_entry_by_entry(
    oid_server: OidServer, tmp_path: Path, ldif_reader: LdifReader
) -> None:
    project = _project(tmp_path / "project", oid_server, page_size=7)
    pages: list[int] = []
    done = export_source(project, tmp_path / "export.ldif", progress=pages.append).unwrap()

    exported = _entries(ldif_reader, tmp_path / "export.ldif")
    searched = _entries(ldif_reader, _ldapsearch(oid_server, tmp_path / "ldapsearch.ldif"))
    assert exported == searched
    assert done["entries"] == len(searched) > 40
    assert done["pages"] == len(pages) == -(-len(searched) // 7) > 3
    assert pages == sorted(pages)
    assert pages[-1] == len(searched)
    # The data is the OID export's: ACLs, OID identities, binary photos, non-ASCII DNs and names.
    values = [
        (name, value) for entry in exported.values() for name, found in entry.items() for value in found
    ]
    assert {"orclaci", "orclentrylevelaci", "orclguid", "createtimestamp", "jpegphoto"} <= {
        n for n, _ in values
    }
    assert any(not dn.isascii() for dn in exported)
    assert any(name == "cn" and not value.isascii() for name, value in values)
    text = (tmp_path / "export.ldif").read_text(encoding="utf-8")
    assert text.startswith("version: 1\n\n")
    assert "\njpegPhoto:: /9j/" in text  # binary values in base64, as the writer does
    assert PASSWORD not in text
    assert not list(tmp_path.glob("*.partial"))


def test_the_page_size_does_not_change_the_export(oid_server: OidServer, tmp_path: Path) -> None:
    small = _project(tmp_path / "small", oid_server, page_size=2)
    large = _project(tmp_path / "large", oid_server, page_size=100_000)
    by_two = export_source(small, tmp_path / "two.ldif").unwrap()
    at_once = export_source(large, tmp_path / "once.ldif").unwrap()
    assert (by_two["pages"], at_once["pages"]) == (-(-by_two["entries"] // 2), 1)
    assert (tmp_path / "two.ldif").read_bytes() == (tmp_path / "once.ldif").read_bytes()


def test_a_wrong_password_fails_naming_the_server_and_writes_nothing(
    oid_server: OidServer, tmp_path: Path
) -> None:
    project = _project(tmp_path / "project", oid_server, page_size=7, password="not-the-password")
    failed = export_source(project, tmp_path / "export.ldif")
    assert failed.is_failure
    assert failed.error_code == LDAP_BIND_FAILED
    assert oid_server.url.rstrip("/") in (failed.error or "")
    assert "invalidCredentials" in (failed.error or "")
    assert "source.bind_password" in (failed.error or "")
    assert "not-the-password" not in f"{failed.error} {failed.error_data}"
    assert list(tmp_path.glob("export.ldif*")) == []


def test_a_missing_base_dn_fails_naming_it(oid_server: OidServer, tmp_path: Path) -> None:
    project = _project(tmp_path / "project", oid_server, page_size=7)
    missing = project.source.model_copy(update={"base_dn": f"ou=Nowhere,{SUFFIX}"})
    failed = export_source(project.model_copy(update={"source": missing}), tmp_path / "export.ldif")
    assert failed.is_failure
    assert failed.error_code == NOT_FOUND
    assert f"ou=Nowhere,{SUFFIX}" in (failed.error or "")
    assert "source.base_dn" in (failed.error or "")
    assert list(tmp_path.glob("export.ldif*")) == []


def test_a_server_that_is_not_there_fails_before_anything_is_written(
    own_server: Callable[[], OidServer], tmp_path: Path
) -> None:
    server = own_server()
    project = _project(tmp_path / "project", server, page_size=7)
    server.stop()
    failed = export_source(project, tmp_path / "export.ldif")
    assert failed.is_failure
    assert failed.error_code == LDAP_UNREACHABLE
    assert server.url.rstrip("/") in (failed.error or "")
    assert "source.url" in (failed.error or "")
    assert list(tmp_path.glob("export.ldif*")) == []


def test_a_server_stopped_mid_read_fails_and_leaves_the_destination_as_it_was(
    own_server: Callable[[], OidServer], tmp_path: Path
) -> None:
    server = own_server()
    write_export(tmp_path / "generated.ldif", entries=80, seed=3, defects=False)
    _load(server, (tmp_path / "generated.ldif").read_text(encoding="utf-8"))
    project = _project(tmp_path / "project", server, page_size=10)
    destination = tmp_path / "export.ldif"
    destination.write_text("the snapshot taken before\n", encoding="utf-8")
    seen: list[int] = []

    def stop_after_the_first_page(entries: int) -> None:
        seen.append(entries)
        server.stop()

    failed = export_source(project, destination, progress=stop_after_the_first_page)
    assert failed.is_failure
    assert failed.error_code == LDAP_CONNECTION_LOST, failed.error
    assert seen == [10]
    assert f"{server.url.rstrip('/')}: the connection was lost after 10 entries (1 pages)" in (
        failed.error or ""
    )
    assert destination.read_text(encoding="utf-8") == "the snapshot taken before\n"
    assert list(tmp_path.glob("export.ldif.partial")) == []


def test_a_size_limit_fails_instead_of_giving_a_short_export(
    own_server: Callable[[], OidServer], tmp_path: Path
) -> None:
    server = own_server()
    write_export(tmp_path / "generated.ldif", entries=60, seed=4, defects=False)
    _load(server, (tmp_path / "generated.ldif").read_text(encoding="utf-8"))
    server.stop()
    # The reader may read 25 entries per search, paged or not: what an OID orclsizelimit does.
    limits = f'limits dn.exact="{READER}" size=25 size.pr=10 size.prtotal=25\n'
    server.config.write_text(server.config.read_text(encoding="utf-8") + limits, encoding="utf-8")
    slapd = shutil.which("slapd") or "/usr/sbin/slapd"
    log = (server.directory / "slapd.log").open("ab")
    with log:
        server.process = subprocess.Popen(
            [slapd, "-d", "0", "-f", str(server.config), "-h", server.url], stdout=log, stderr=log
        )
    _wait_for(server)
    project = _project(tmp_path / "project", server, page_size=10)
    failed = export_source(project, tmp_path / "export.ldif")
    assert failed.is_failure
    assert failed.error_code == LDAP_OPERATION_FAILED, failed.error
    assert "LimitExceeded" in (failed.error or "")
    assert "size limit" in (failed.error or "")
    assert "failed after 25 entries" in (failed.error or "")  # two pages and part of the third
    assert list(tmp_path.glob("export.ldif*")) == []


def _wait_for(server: LdapServer) -> None:
    for _ in range(500):
        if server.run_client("ldapsearch", "-b", "", "-s", "base").returncode == 0:
            return
        assert server.process.poll() is None, (server.directory / "slapd.log").read_text(errors="replace")
        subprocess.run(["sleep", "0.02"], check=True)
    raise AssertionError("slapd did not answer after its restart")


# -- the phases from a live source ------------------------------------------------------------------------


def _migration(project: Project, reader: LdifReader) -> Migration:
    return Migration.of(project, load_rules(project).unwrap(), reader).unwrap()


def _run(migration: Migration, *, refresh_source: bool = False) -> dict[str, dict[str, Any]]:
    return {
        report["phase"]: report
        for report in (r.unwrap() for r in run_phases(migration, PHASES, refresh_source=refresh_source))
    }


def test_the_phases_from_a_live_source_write_what_they_write_from_its_ldif_export(
    oid_server: OidServer, tmp_path: Path, ldif_reader: LdifReader
) -> None:
    live = _migration(_project(tmp_path / "live", oid_server, page_size=5), ldif_reader)
    reports = _run(live)
    assert list(reports) == ["source", *PHASES]
    assert reports["source"]["counts"]["out"] == reports["validate"]["source"]["entries"]
    assert reports["source"]["output"] == str(live.out / SOURCE_SNAPSHOT)
    source = reports["validate"]["source"]
    assert source["entries"] == reports["validate"]["counts"]["in"] > 40
    assert source["pages"] > 3
    assert source["reused"] is False
    assert source["input"] == oid_server.url.rstrip("/")
    assert reports["validate"]["input"] == str(live.out / SOURCE_SNAPSHOT)

    (tmp_path / "exported").mkdir()
    _ldapsearch(oid_server, tmp_path / "exported/oid-export.ldif")  # what `ldapsearch -L` exports
    init_project(tmp_path / "exported").unwrap()
    exported = _migration(load_project(tmp_path / "exported").unwrap(), ldif_reader)
    from_file = _run(exported)
    assert "source" not in from_file
    assert "source" not in from_file["validate"]
    for phase in PHASES:
        name = f"{PHASES.index(phase) + 1:02d}-{phase}.ldif"
        assert (live.out / name).read_bytes() == (exported.out / name).read_bytes(), name
    assert reports["acl"]["counts"]["acis"] == from_file["acl"]["counts"]["acis"] > 0


def test_a_run_again_reuses_the_snapshot_until_a_refresh_is_asked(
    own_server: Callable[[], OidServer], tmp_path: Path, ldif_reader: LdifReader
) -> None:
    server = own_server()
    write_export(tmp_path / "generated.ldif", entries=40, seed=5, defects=False)
    _load(server, (tmp_path / "generated.ldif").read_text(encoding="utf-8"))
    migration = _migration(_project(tmp_path / "project", server, page_size=10), ldif_reader)
    first = _run(migration)
    snapshot = (migration.out / SOURCE_SNAPSHOT).read_bytes()
    server.ldapadd(
        f"dn: uid=late,ou=Vendas,cn=Users,{SUFFIX}\n"
        "objectClass: inetOrgPerson\nuid: late\ncn: Late\nsn: Late\n"
    )

    again = _run(migration)  # the server changed, but the run goes on with what it read first
    assert again["source"]["reused"] is True
    assert again["source"]["counts"] == first["source"]["counts"]
    assert again["validate"]["source"]["reused"] is True
    assert again["validate"]["source"]["taken_at"] == first["validate"]["source"]["taken_at"]
    assert again["validate"]["source"]["entries"] == first["validate"]["source"]["entries"]
    assert (migration.out / SOURCE_SNAPSHOT).read_bytes() == snapshot
    assert again["output"]["counts"]["out"] == first["output"]["counts"]["out"]

    later = _run(migration, refresh_source=True)
    assert later["validate"]["source"]["reused"] is False
    assert later["validate"]["source"]["entries"] == first["validate"]["source"]["entries"] + 1
    assert later["output"]["counts"]["out"] == first["output"]["counts"]["out"] + 1
    assert "uid=late," in (migration.out / "07-output.ldif").read_text(encoding="utf-8")

    server.stop()  # a refresh that fails keeps the snapshot there, and no phase runs
    [failed] = list(run_phases(migration, PHASES, refresh_source=True))
    assert failed.is_failure
    assert failed.error_code == LDAP_UNREACHABLE
    assert b"uid=late," in (migration.out / SOURCE_SNAPSHOT).read_bytes()
    assert not list(migration.out.glob("*.partial"))
    assert read_source(migration).unwrap()["reused"] is True  # without refresh, no server is needed
    with (migration.out / SOURCE_SNAPSHOT).open("a", encoding="utf-8") as handle:  # written by another tool
        handle.write(f"dn: uid=more,ou=Vendas,cn=Users,{SUFFIX}\nobjectClass: account\nuid: more\n\n")
    assert (migration.out / "00-source.report.json").exists()  # older than the snapshot: not believed
    assert read_source(migration).unwrap()["counts"]["out"] == later["source"]["counts"]["out"] + 1
    (migration.out / "00-source.report.json").unlink()  # a snapshot without a report: its entries counted
    assert read_source(migration).unwrap()["counts"]["out"] == later["source"]["counts"]["out"] + 1
    # A phase after validate never reads the server: it reads the phase before it.
    assert [r.unwrap()["phase"] for r in run_phases(migration, ("hierarchy",))] == ["hierarchy"]


# -- values: whatever the server holds arrives byte for byte ----------------------------------------------

_VALUES_DN = f"cn=values,{SUFFIX}"


@pytest.fixture(scope="module")
def values_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OidServer, Project]]:
    """A server holding one entry whose values each example replaces; a project reading that entry."""
    directory = tmp_path_factory.mktemp("values")
    server = _start(directory)
    try:
        server.ldapadd(
            f"dn: {_VALUES_DN}\nobjectClass: inetOrgPerson\nobjectClass: orclUserV2\ncn: values\nsn: v\n"
        )
        project = _project(directory / "project", server, page_size=1)
        only = project.source.model_copy(update={"base_dn": _VALUES_DN})
        yield server, project.model_copy(update={"source": only})
    finally:
        server.stop()


def _replace(name: str, values: list[bytes]) -> str:
    lines = "".join(f"{name}:: {base64.b64encode(value).decode('ascii')}\n" for value in values)
    return f"dn: {_VALUES_DN}\nchangetype: modify\nreplace: {name}\n{lines}"


_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(_TEXT, min_size=1, max_size=3, unique_by=lambda text: " ".join(text.lower().split())),
    octets=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=3, unique=True),
)
def test_any_value_the_server_holds_is_exported_byte_for_byte(
    values_server: tuple[OidServer, Project], ldif_reader: LdifReader, texts: list[str], octets: list[bytes]
) -> None:
    server, project = values_server
    # Text with leading or trailing blanks, ':' or '<' first, non-ASCII; octets of any kind (orclPassword
    # is an Octet String: binary by the schema, so even ASCII octets stay bytes).
    change = _replace("description", [text.encode("utf-8") for text in texts]) + "-\n" + _replace_tail(octets)
    assume(server.run_client("ldapmodify", stdin=change).returncode == 0)  # slapd may refuse some text
    with tempfile.TemporaryDirectory() as folder:
        destination = Path(folder) / "export.ldif"
        export_source(project, destination).unwrap()
        exported = _entries(ldif_reader, destination)
        searched = _entries(ldif_reader, _ldapsearch_of(server, Path(folder) / "ldapsearch.ldif"))
    assert exported == searched
    [entry] = exported.values()
    assert entry["orclpassword"] == sorted(octets)
    assert entry["description"] == sorted(text.encode("utf-8") for text in texts)


def _replace_tail(octets: list[bytes]) -> str:
    lines = "".join(f"orclPassword:: {base64.b64encode(value).decode('ascii')}\n" for value in octets)
    return f"replace: orclPassword\n{lines}"


def _ldapsearch_of(server: LdapServer, path: Path) -> Path:
    path.write_bytes(server.ldapsearch(_VALUES_DN, "-s", "base", "(objectClass=*)", "*", *LIVE_OPERATIONAL))
    return path


def test_a_page_cookie_dies_with_its_connection_so_a_killed_read_cannot_go_on(oid_server: OidServer) -> None:
    # Why a live read killed part way starts again from the first page (docs/algar.md, "Reading a live
    # OID server", "A killed read"): the paged results cookie (RFC 2696) names state the server keeps
    # for the connection that asked. Page 1 is read on one connection, which then goes (as with a
    # kill -9); page 2 asked on a new connection with that cookie is refused, never served.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ldap3 import SUBTREE, Connection, Server

    def bound() -> Connection:
        connection = Connection(
            Server(oid_server.url.rstrip("/")), user=READER, password=PASSWORD, raise_exceptions=False
        )
        assert connection.bind(), connection.result
        return connection

    first = bound()
    first.search(SUFFIX, "(objectClass=*)", SUBTREE, attributes=["1.1"], paged_size=5)
    assert first.result["result"] == 0, first.result
    assert len(first.response or []) == 5
    cookie = first.result["controls"]["1.2.840.113556.1.4.319"]["value"]["cookie"]
    assert cookie
    same = bound()
    first.unbind()
    same.search(SUFFIX, "(objectClass=*)", SUBTREE, attributes=["1.1"], paged_size=5, paged_cookie=cookie)
    try:
        assert same.result["result"] != 0, same.result  # slapd: "paged results cookie is invalid"
        assert not [r for r in same.response or [] if r.get("type") == "searchResEntry"]
    finally:
        same.unbind()
