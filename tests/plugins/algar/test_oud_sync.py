"""``flext algar oud sync`` against real slapd servers, through the real ``flext`` executable.

The sample export is migrated and loaded (``flext algar migration sync``), a
first ``oud sync`` takes the target as its baseline, then the export is edited
as OID would change it (a value modified, a user added, a user deleted and
taken out of its groups, a user renamed and moved keeping its ``orclguid`` and
its manager reference updated, a binary photo replaced). ``--dry-run`` must
print exactly the change records that a differential reading of the two
exports and their full migrations calls for; ``oud sync`` must then leave the
target equal, entry by entry, to a second server loaded with a fresh full
migration of the edited export; and a second ``oud sync`` must change nothing.

The target is a private slapd whose schema takes what a migration writes for
OUD: ``aci`` and ``ds-pwp-account-disabled`` (user attributes here, since
slapd refuses operational ones from a schema file) and ``displayName`` on
groups, allowed by DIT content rules so the entries need no extra class (and
``extensibleObject`` allowed, for a migration that adds it to such groups).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_algar.ldif_out import format_record

from flext_sdk.contracts.ldif import LdifReader, LdifRecord
from flext_sdk.testing import FlextCliRunner
from flext_sdk.testing.ldap_server import LdapServer, missing_tools

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[3] / "plugins/algar/examples/oid-export.ldif"
SOURCE_SUFFIX = "dc=algar,dc=com,dc=br"
TARGET_SUFFIX = "dc=algar,dc=br"
ENV = {"OUD_BIND_PASSWORD": "secret"}
OUD_SCHEMA = """\
attributetype ( 2.16.840.1.113730.3.1.55 NAME 'aci'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
attributetype ( 1.3.6.1.4.1.26027.1.1.166 NAME 'ds-pwp-account-disabled'
  EQUALITY booleanMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )
ditcontentrule ( 0.9.2342.19200300.100.4.13 NAME 'domainOUD'
  AUX extensibleObject MAY aci )
ditcontentrule ( 2.5.6.11 NAME 'applicationProcessOUD'
  AUX extensibleObject MAY aci )
ditcontentrule ( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPersonOUD'
  AUX extensibleObject MAY ( aci $ ds-pwp-account-disabled ) )
ditcontentrule ( 2.5.6.5 NAME 'organizationalUnitOUD'
  AUX extensibleObject MAY aci )
ditcontentrule ( 2.5.6.17 NAME 'groupOfUniqueNamesOUD'
  AUX extensibleObject MAY ( aci $ displayName ) )
ditcontentrule ( 2.5.6.9 NAME 'groupOfNamesOUD'
  AUX extensibleObject MAY ( aci $ displayName ) )
ditcontentrule ( 2.16.840.1.113730.3.2.33 NAME 'groupOfURLsOUD'
  AUX extensibleObject MAY ( aci $ displayName ) )
"""
# OpenLDAP's mail is IA5 (ASCII): the sample's one non-ASCII address is left out by a rule.
RULES = """\
exclude:
  - under: uid=lsimões26,ou=Operações,cn=Users,dc=algar,dc=com,dc=br
    reason: the test slapd's mail attribute takes ASCII only
drop_attributes: []
"""
Values = dict[str, frozenset[bytes]]


class _Server(LdapServer):
    """``LdapServer`` whose root DN follows the suffix given to ``start`` (the SDK's keeps the default's)."""

    @classmethod
    def _launch(
        cls, slapd: str, directory: Path, port: int, suffix: str, schemas: Sequence[str]
    ) -> LdapServer:
        server = super()._launch(slapd, directory, port, suffix, schemas)
        server.admin_dn = f"cn=admin,{suffix}"
        return server


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[LdapServer]]:
    """Start slapd servers on demand (``start(name)``); all stopped at the end."""
    missing = missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"slapd is missing on CI: {missing}")
        pytest.skip(f"slapd is not installed: {missing}")
    started: list[LdapServer] = []
    yield started
    for server in started:
        server.stop()


def _start(started: list[LdapServer], directory: Path) -> LdapServer:
    directory.mkdir(parents=True)
    schema = directory / "oud-test.schema"
    schema.write_text(OUD_SCHEMA, encoding="utf-8")
    server = _Server.start(
        directory / "slapd",
        suffix="dc=br",
        schemas=("core", "cosine", "inetorgperson", "nis", "dyngroup", str(schema.with_suffix(""))),
    )
    started.append(server)
    return server


def _project(flext_cli: FlextCliRunner, directory: Path, server: LdapServer, export: str) -> Path:
    assert flext_cli("algar", "init", str(directory)).exit_code == 0
    settings = directory / "algar.yaml"
    text = settings.read_text(encoding="utf-8")
    text = text.replace("url: ldap://localhost:1389", f"url: {server.url.rstrip('/')}")
    settings.write_text(
        text.replace("bind_dn: cn=Directory Manager", "bind_dn: cn=admin,dc=br"), encoding="utf-8"
    )
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    (directory / "oid-export.ldif").write_text(export, encoding="utf-8")
    return directory


def _flext(flext_cli: FlextCliRunner, *args: str) -> str:
    done = flext_cli(*args, env=ENV)
    assert done.exit_code == 0, done
    assert "Traceback" not in done.stderr
    return done.stdout


def _migrate_and_load(flext_cli: FlextCliRunner, project: Path) -> None:
    _flext(flext_cli, "algar", "migration", "run", "--project", str(project))
    _flext(flext_cli, "algar", "migration", "sync", "--project", str(project))


def _oud_sync(flext_cli: FlextCliRunner, project: Path) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(
        _flext(flext_cli, "--output", "json", "algar", "oud", "sync", "--project", str(project))
    )["data"]
    return data


# -- the edit and its differential expectation -----------------------------------------------------------


def _records(reader: LdifReader, path: Path) -> list[LdifRecord]:
    found = []
    for item in reader.read(path):
        assert isinstance(item, LdifRecord), item
        found.append(item)
    return found


def _edit(reader: LdifReader, export: Path) -> str:
    """The sample as OID would export it after a day of changes (see the module docstring)."""
    deleted = f"uid=jaraujo7,ou=Vendas,cn=Users,{SOURCE_SUFFIX}"
    old_name = f"uid=lsantos6,ou=Engenharia,cn=Users,{SOURCE_SUFFIX}"
    new_name = f"uid=lsantos6x,ou=Vendas,cn=Users,{SOURCE_SUFFIX}"
    parts = ["version: 1\n\n"]
    for record in _records(reader, export):
        dn, attributes = record.dn, dict(record.attributes)
        if dn == deleted:
            continue
        for name in ("uniquemember", "member"):
            if name in attributes:
                attributes[name] = tuple(v for v in attributes[name] if str(v).lower() != deleted.lower())
        if "manager" in attributes:
            attributes["manager"] = tuple(
                new_name if str(v) == old_name else v for v in attributes["manager"]
            )
        if dn.startswith("uid=cfernandes0,"):
            attributes["title"] = ("Engenheira Chefe",)
        if dn == old_name:
            dn, attributes["uid"] = new_name, ("lsantos6x",)
        if dn.startswith("uid=sfernandes9,"):
            attributes["jpegphoto"] = (b"\xff\xd8\xff\xe0 a new photo \x00\x01\x02",)
        parts.append(format_record(dn, attributes.items()))
    parts.append(
        format_record(
            f"uid=novo99,ou=Vendas,cn=Users,{SOURCE_SUFFIX}",
            [
                ("objectclass", ("top", "person", "organizationalPerson", "inetOrgPerson", "orclUserV2")),
                ("uid", ("novo99",)),
                ("cn", ("Novo Noventa",)),
                ("sn", ("Noventa",)),
                ("userpassword", (b"{SSHA}bm92bzk5c2FsdHNhbHRzYWx0c2FsdA==",)),
                ("orclguid", ("0123456789ABCDEF0123456789ABCDEF",)),
            ],
        )
    )
    return "".join(parts)


def _values(attributes: Mapping[str, tuple[str | bytes, ...]], reader: LdifReader) -> Values:
    dn_valued = {"member", "uniquemember", "owner", "manager", "secretary", "seealso", "roleoccupant"}
    done: Values = {}
    for name, values in attributes.items():
        raw = [v.encode("utf-8") if isinstance(v, str) else v for v in values]
        if name == "objectclass":
            raw = [v.lower() for v in raw]
        elif name in dn_valued:
            raw = [(reader.normalize_dn(v.decode()) or v.decode()).encode() for v in raw]
        done[name] = frozenset(raw)
    return done


@dataclass
class Expected:
    """What the edit calls for on the target, from the two exports and their full migrations."""

    adds: dict[str, Values]
    deletes: set[str]
    renames: set[tuple[str, str, str | None]]  # (old normal, new RDN lower, new superior normal or None)
    modifies: dict[str, tuple[Values, Values]]  # target normal -> (values now, values wanted)


def _target(normal: str) -> str:
    return normal.removesuffix(SOURCE_SUFFIX) + TARGET_SUFFIX


def _expected(
    reader: LdifReader, old_export: Path, new_export: Path, old_out: Path, new_out: Path
) -> Expected:
    def guids(path: Path) -> dict[str, str]:
        return {
            str(r.attributes["orclguid"][0]): r.normal_dn
            for r in _records(reader, path)
            if "orclguid" in r.attributes
        }

    def entries(path: Path) -> dict[str, tuple[str, Values]]:
        return {r.normal_dn: (r.dn, _values(r.attributes, reader)) for r in _records(reader, path)}

    before, after = entries(old_out), entries(new_out)
    old_guids, new_guids = guids(old_export), guids(new_export)
    new_sources = set(new_guids.values())
    moved = {
        _target(old): _target(new_guids[guid])
        for guid, old in old_guids.items()
        if guid in new_guids and new_guids[guid] != old and old not in new_sources
    }
    renames: set[tuple[str, str, str | None]] = set()
    modifies: dict[str, tuple[Values, Values]] = {}
    for old, new in moved.items():
        rdn, _, superior = after[new][0].partition(",")
        same = old.split(",", 1)[1] == new.split(",", 1)[1]
        renames.add((old, rdn.lower(), None if same else reader.normalize_dn(superior)))
        name, _, value = rdn.partition("=")
        now = {**before[old][1], name.lower(): frozenset({value.encode()})}  # what deleteoldrdn leaves
        if now != after[new][1]:
            modifies[new] = (now, after[new][1])
    for normal in before.keys() & after.keys():
        if before[normal][1] != after[normal][1]:
            modifies[normal] = (before[normal][1], after[normal][1])
    return Expected(
        adds={n: after[n][1] for n in after.keys() - before.keys() - set(moved.values())},
        deletes=before.keys() - after.keys() - set(moved),
        renames=renames,
        modifies=modifies,
    )


def _check_changes(reader: LdifReader, changes: Path, expected: Expected) -> None:
    """The change records in ``changes`` are exactly ``expected``, record by record."""
    found = _records(reader, changes)
    kinds = [record.change_type for record in found]
    assert all(record.is_change for record in found)
    assert {r.normal_dn for r in found if r.change_type == "delete"} == expected.deletes
    assert {
        (
            r.normal_dn,
            (r.new_rdn or "").lower(),
            reader.normalize_dn(r.new_superior) if r.new_superior else None,
        )
        for r in found
        if r.change_type == "modrdn"
    } == expected.renames
    adds = {r.normal_dn: _values(r.attributes, reader) for r in found if r.change_type == "add"}
    assert adds == expected.adds
    modified = {r.normal_dn: r for r in found if r.change_type == "modify"}
    assert modified.keys() == expected.modifies.keys()
    for normal, record in modified.items():
        now, wanted = expected.modifies[normal]
        result = dict(now)
        for change in record.modifications:
            given = _values({change.attribute: change.values}, reader).get(change.attribute, frozenset())
            if change.operation == "replace":
                result[change.attribute] = given
            elif change.operation == "add":
                result[change.attribute] = result.get(change.attribute, frozenset()) | given
            else:
                result[change.attribute] = (
                    result.get(change.attribute, frozenset()) - given if given else frozenset()
                )
            if not result[change.attribute]:
                del result[change.attribute]
        assert result == wanted, normal
        touched = {change.attribute for change in record.modifications}
        assert touched == {n for n in now.keys() | wanted.keys() if now.get(n) != wanted.get(n)}, normal
    assert len(kinds) == len(expected.deletes) + len(expected.renames) + len(expected.adds) + len(modified)


def _entries(server: LdapServer, reader: LdifReader, scratch: Path) -> dict[str, Values]:
    scratch.write_bytes(server.ldapsearch(TARGET_SUFFIX, "(objectClass=*)", "*"))
    return {r.normal_dn: _values(r.attributes, reader) for r in _records(reader, scratch)}


@dataclass
class Setup:
    """A project loaded into its target, baselined by a first oud sync, and its export edited."""

    project: Path
    target: LdapServer
    expected: Expected
    edited: str


def _setup(flext_cli: FlextCliRunner, tmp_path: Path, reader: LdifReader, started: list[LdapServer]) -> Setup:
    target = _start(started, tmp_path / "target")
    project = _project(flext_cli, tmp_path / "migration", target, EXAMPLE.read_text(encoding="utf-8"))
    _migrate_and_load(flext_cli, project)
    first = _oud_sync(flext_cli, project)
    assert first["baseline"] is True
    assert [first[k] for k in ("added", "modified", "renamed", "deleted", "failed")] == [0] * 5
    assert first["orphans"] == 1  # the sample's entry whose parent is not in the export
    assert first["unchanged"] + first["left_out"] + first["orphans"] == first["entries"] == 61

    edited = _edit(reader, EXAMPLE)
    fresh = _project(flext_cli, tmp_path / "fresh", target, edited)
    _flext(flext_cli, "algar", "migration", "run", "--project", str(fresh))
    expected = _expected(
        reader,
        EXAMPLE,
        fresh / "oid-export.ldif",
        project / "out/07-output.ldif",
        fresh / "out/07-output.ldif",
    )
    assert len(expected.renames) == 1
    assert len(expected.deletes) == 1
    assert len(expected.adds) == 1
    assert len(expected.modifies) == 5  # title, photo, two groups, the manager reference
    (project / "oid-export.ldif").write_text(edited, encoding="utf-8")
    return Setup(project, target, expected, edited)


def test_dry_run_then_sync_make_the_target_a_fresh_migration_of_the_edited_export(
    flext_cli: FlextCliRunner, tmp_path: Path, ldif_reader: LdifReader, servers: list[LdapServer]
) -> None:
    setup = _setup(flext_cli, tmp_path, ldif_reader, servers)
    before = _entries(setup.target, ldif_reader, tmp_path / "before.ldif")

    dry = flext_cli("algar", "oud", "sync", "--project", str(setup.project), "--dry-run", env=ENV)
    assert dry.exit_code == 0, dry
    (tmp_path / "dry.ldif").write_text(dry.stdout, encoding="utf-8")
    _check_changes(ldif_reader, tmp_path / "dry.ldif", setup.expected)
    assert "dry run: nothing applied" in dry.stderr
    assert _entries(setup.target, ldif_reader, tmp_path / "after-dry.ldif") == before

    done = _oud_sync(flext_cli, setup.project)
    assert (done["added"], done["modified"], done["renamed"], done["deleted"], done["failed"]) == (
        1,
        5,
        1,
        1,
        0,
    )
    _check_changes(ldif_reader, Path(str(done["changes_file"])), setup.expected)

    fresh = _start(servers, tmp_path / "fresh-target")
    fresh_project = _project(flext_cli, tmp_path / "fresh-load", fresh, setup.edited)
    _migrate_and_load(flext_cli, fresh_project)
    synced = _entries(setup.target, ldif_reader, tmp_path / "synced.ldif")
    loaded = _entries(fresh, ldif_reader, tmp_path / "loaded.ldif")
    assert synced.keys() == loaded.keys()
    for normal in loaded:
        assert synced[normal] == loaded[normal], normal

    again = _oud_sync(flext_cli, setup.project)
    assert [again[k] for k in ("added", "modified", "renamed", "deleted", "failed")] == [0] * 5
    assert Path(str(again["changes_file"])).read_text(encoding="utf-8") == ""
    assert _entries(setup.target, ldif_reader, tmp_path / "again.ldif") == synced


_KILLER = """\
import os, signal, sys
from pathlib import Path
from flext_plugin_algar import oud_sync
from flext_plugin_algar.phases import Migration
from flext_plugin_algar.project import load_project, load_rules
from flext_plugin_ldif.reader_service import LdifReaderService

project = load_project(Path(sys.argv[1])).unwrap()
migration = Migration.of(project, load_rules(project).unwrap(), LdifReaderService()).unwrap()
applied = 0
original = oud_sync.Target.apply

def apply(self, operation):
    global applied
    done = original(self, operation)
    applied += 1
    if applied == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    return done

oud_sync.Target.apply = apply
oud_sync.sync_changes(migration)
"""


def _audit(server: LdapServer, start: int) -> list[tuple[str, str]]:
    """``(changetype, dn)`` of each change slapd's audit log recorded after byte ``start``."""
    text = server.audit_log.read_bytes()[start:].decode("utf-8", errors="replace")
    found = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        head = dict(line.split(": ", 1) for line in lines[:2] if ": " in line)
        if "dn" in head and "changetype" in head:
            found.append((head["changetype"], head["dn"].lower()))
    return found


@pytest.mark.parametrize("after", [1, 3])
def test_a_kill_mid_apply_then_a_rerun_applies_nothing_twice(
    flext_cli: FlextCliRunner, tmp_path: Path, ldif_reader: LdifReader, servers: list[LdapServer], after: int
) -> None:
    setup = _setup(flext_cli, tmp_path, ldif_reader, servers)
    snapshot = setup.project / "out/10-oud-sync.snapshot.sqlite"
    kept = snapshot.read_bytes()
    start = setup.target.audit_log.stat().st_size
    killed = subprocess.run(
        [sys.executable, "-c", _KILLER, str(setup.project), str(after)],
        env={**os.environ, **ENV},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert snapshot.read_bytes() == kept  # the snapshot is replaced only at the end
    assert len(_audit(setup.target, start)) == after

    done = _oud_sync(flext_cli, setup.project)
    assert done["failed"] == 0
    applied = _audit(setup.target, start)
    assert len(applied) == len(set(applied)) == 8  # 1 add, 5 modify, 1 modrdn, 1 delete: each once
    assert sum(done[k] for k in ("added", "modified", "renamed", "deleted")) == 8 - after

    fresh = _start(servers, tmp_path / "fresh-target")
    fresh_project = _project(flext_cli, tmp_path / "fresh-load", fresh, setup.edited)
    _migrate_and_load(flext_cli, fresh_project)
    assert _entries(setup.target, ldif_reader, tmp_path / "a.ldif") == _entries(
        fresh, ldif_reader, tmp_path / "b.ldif"
    )


def test_a_wrong_password_or_no_project_is_one_clear_line(
    flext_cli: FlextCliRunner, tmp_path: Path, servers: list[LdapServer]
) -> None:
    target = _start(servers, tmp_path / "target")
    project = _project(flext_cli, tmp_path / "migration", target, EXAMPLE.read_text(encoding="utf-8"))
    wrong = flext_cli(
        "algar", "oud", "sync", "--project", str(project), env={"OUD_BIND_PASSWORD": "not-it-42"}
    )
    assert wrong.exit_code == 1, wrong
    assert "(LDAP_BIND_FAILED)" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert "not-it-42" not in wrong.stderr + wrong.stdout
    assert not (project / "out/10-oud-sync.snapshot.sqlite").exists()

    nothing = flext_cli("algar", "oud", "sync", "--project", str(tmp_path / "nowhere"), env=ENV)
    assert nothing.exit_code == 2, nothing
    assert "algar.yaml: no such file" in nothing.stderr


def test_a_target_that_goes_away_mid_apply_fails_naming_it_and_keeps_the_snapshot(
    flext_cli: FlextCliRunner,
    tmp_path: Path,
    ldif_reader: LdifReader,
    servers: list[LdapServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flext_plugin_algar import oud_sync
    from flext_plugin_algar.errors import LDAP_CONNECTION_LOST
    from flext_plugin_algar.phases import Migration
    from flext_plugin_algar.project import Project, load_project, load_rules

    from flext_sdk import FlextResult

    setup = _setup(flext_cli, tmp_path, ldif_reader, servers)
    snapshot = setup.project / "out/10-oud-sync.snapshot.sqlite"
    kept = snapshot.read_bytes()
    monkeypatch.setenv("OUD_BIND_PASSWORD", "secret")
    project = load_project(setup.project).unwrap()
    migration = Migration.of(project, load_rules(project).unwrap(), ldif_reader).unwrap()

    def connector(project: Project) -> FlextResult[oud_sync.Target]:
        connected = oud_sync.connect(project)
        original = connected.value.apply
        applied: list[object] = []

        def apply(operation: oud_sync.Operation) -> FlextResult[str | None]:
            if len(applied) == 2:
                setup.target.stop()  # slapd goes away after two operations
            applied.append(operation)
            return original(operation)

        connected.value.apply = apply  # type: ignore[method-assign]  # the server stops part way
        return connected

    done = oud_sync.sync_changes(migration, connector=connector)
    assert done.is_failure
    assert done.error_code == LDAP_CONNECTION_LOST
    assert setup.target.url.rstrip("/") in (done.error or "")
    assert snapshot.read_bytes() == kept
    assert not (setup.project / "out/10-oud-sync.snapshot.sqlite.partial").exists()


def test_a_second_oud_sync_while_one_runs_fails_with_one_line_and_changes_nothing(
    flext_cli: FlextCliRunner, tmp_path: Path
) -> None:
    # Two real processes. The first oud sync takes the project's run lock and then waits on a target
    # that accepts the connection and never answers the bind; the second, started meanwhile, must fail
    # at once with one line naming the first's pid (CONCURRENCY_CONFLICT, exit 1) and touch nothing.
    import socket
    import time

    from flext_plugin_algar.journal import LOCK_FILE, is_locked

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        project = tmp_path / "migration"
        assert flext_cli("algar", "init", str(project)).exit_code == 0
        settings = project / "algar.yaml"
        settings.write_text(
            settings.read_text(encoding="utf-8").replace("url: ldap://localhost:1389", f"url: {url}"),
            encoding="utf-8",
        )
        (project / "oid-export.ldif").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
        out = project / "out"
        first = subprocess.Popen(
            [*flext_cli.command, "algar", "oud", "sync", "--project", str(project)],
            env=flext_cli.environment(ENV),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while not is_locked(out):
                assert first.poll() is None, first.stderr.read() if first.stderr else b""
                assert time.monotonic() < deadline, "the first oud sync never took the lock"
                time.sleep(0.1)
            files = sorted(path.name for path in out.iterdir())
            second = flext_cli("algar", "oud", "sync", "--project", str(project), env=ENV)
            assert first.poll() is None  # still holding the lock: the two overlapped
        finally:
            first.kill()
            first.wait(timeout=30)
            if first.stderr is not None:
                first.stderr.close()
    assert second.exit_code == 1, second
    [line] = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert f"(process {first.pid})" in line
    assert line.endswith("(CONCURRENCY_CONFLICT)")
    assert "Traceback" not in second.stderr
    assert sorted(path.name for path in out.iterdir()) == files  # the second one wrote nothing
    assert LOCK_FILE in files
    assert not is_locked(out)  # the kernel let the killed process's lock go
