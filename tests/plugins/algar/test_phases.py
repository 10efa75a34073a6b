"""The LDIF phases on a generated OID export, read through the ``LdifReader`` contract.

The reader is the ldif plugin's parser behind the contract (``_ldif_provider``);
every output is read back with the same parser and checked entry by entry
against the export.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_algar.phases import PHASES, Migration, run_phase, run_phases
from flext_plugin_algar.project import init_project, load_project, load_rules
from flext_plugin_algar.sample import write_export
from flext_plugin_ldif.ldif_parser import LdifEntry, read_ldif

from flext_sdk.contracts.ldif import LdifReader

SOURCE, TARGET = "dc=algar,dc=com,dc=br", "dc=algar,dc=br"
Reports = dict[str, dict[str, Any]]


def _migration(
    reader: LdifReader, directory: Path, *, entries: int = 300, rules: str | None = None
) -> Migration:
    init_project(directory).unwrap()
    write_export(directory / "oid-export.ldif", entries=entries, seed=11)
    if rules is not None:
        (directory / "rules.yaml").write_text(rules, encoding="utf-8")
    project = load_project(directory).unwrap()
    return Migration.of(project, load_rules(project).unwrap(), reader).unwrap()


def _run_all(migration: Migration) -> Reports:
    return {phase: run_phase(migration, phase).unwrap() for phase in PHASES}


def _values(entry: LdifEntry, name: str) -> list[bytes]:
    values = entry.attributes.get(name, [])
    return [base64.b64decode(v) if name in entry.binary else v.encode() for v in values]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory, ldif_reader: LdifReader) -> tuple[Migration, Reports]:
    migration = _migration(ldif_reader, tmp_path_factory.mktemp("algar"))
    return migration, _run_all(migration)


def test_the_parser_reader_keeps_the_contract(ldif_reader: LdifReader) -> None:
    assert isinstance(ldif_reader, LdifReader)


def test_every_entry_arrives_under_the_target_suffix_parents_first(
    migrated: tuple[Migration, Reports],
) -> None:
    migration, reports = migrated
    source = list(read_ldif(migration.project.directory / "oid-export.ldif"))
    output = list(read_ldif(migration.out / "07-output.ldif"))
    assert reports["output"]["counts"]["out"] == len(output) == len(source) - 1  # the orphan is left out
    seen: set[str] = set()
    for entry in output:
        dn = entry.dn.lower()
        assert dn.endswith(TARGET), dn
        if dn != TARGET:
            assert dn.split(",", 1)[1] in seen, f"{dn} before its parent"
        seen.add(dn)
    text = (migration.out / "07-output.ldif").read_text(encoding="utf-8")
    assert SOURCE not in text.replace("\n ", "").lower()
    [orphan] = reports["hierarchy"]["codes"]["HIERARCHY_ORPHAN"]["examples"]
    assert orphan["dn"].startswith("uid=orphan,ou=Desligados")


def test_passwords_are_carried_byte_for_byte_and_oid_only_schemes_are_reported(
    migrated: tuple[Migration, Reports],
) -> None:
    migration, reports = migrated
    source = {
        e.dn.lower().replace(SOURCE, TARGET): e
        for e in read_ldif(migration.project.directory / "oid-export.ldif")
    }
    output = {e.dn.lower(): e for e in read_ldif(migration.out / "07-output.ldif")}
    resets = set(
        (migration.out / "04-users.password-resets.txt").read_text(encoding="utf-8").lower().split("\n")
    )
    carried = 0
    for dn, entry in output.items():
        before = _values(source[dn], "userpassword")
        if not before:
            continue
        if before[0].startswith(b"{MD4}"):
            assert "userpassword" not in entry.attributes
            assert dn in resets
        else:
            assert _values(entry, "userpassword") == before
            carried += 1
        assert "orclpassword" not in entry.attributes
        assert "orclisenabled" not in entry.attributes
    assert carried > 100
    users = reports["users"]
    assert users["counts"]["password_resets"] == len(resets - {""})
    assert set(users["password_schemes"]) == {"SSHA", "SSHA512", "SHA", "CRYPT", "MD4"}
    example = users["codes"]["USERS_PASSWORD_RESET"]["examples"][0]
    assert example["scheme"] == "MD4"
    assert "needs a password reset" in example["message"]
    disabled = [e for e in output.values() if e.attributes.get("ds-pwp-account-disabled") == ["TRUE"]]
    assert len(disabled) == users["counts"]["disabled"] > 0


def test_operational_attributes_go_and_oid_classes_are_mapped(
    migrated: tuple[Migration, Reports],
) -> None:
    migration, reports = migrated
    for entry in read_ldif(migration.out / "07-output.ldif"):
        assert not {"creatorsname", "modifytimestamp", "orclguid", "orclnormdn", "pwdchangedtime"} & set(
            entry.attributes
        )
        classes = {c.lower() for c in entry.attributes["objectclass"]}
        assert not {"orclcontainer", "orcluserv2", "orclgroup", "orcldynamicgroup"} & classes, entry.dn
    dropped = reports["schema"]["dropped_attributes"]
    assert dropped["orclguid"] == reports["schema"]["counts"]["in"]


def test_a_group_keeping_display_name_gets_extensible_object_and_the_rest_do_not(
    migrated: tuple[Migration, Reports],
) -> None:
    # displayName was allowed by OID's orclGroup, which the schema phase removes; groupOfUniqueNames does
    # not allow it, so the group keeps it through extensibleObject (a schema-checking server refused it).
    migration, reports = migrated
    source = {entry.dn.lower(): entry for entry in read_ldif(migration.project.path(Path("oid-export.ldif")))}
    extended = []
    for entry in read_ldif(migration.out / "07-output.ldif"):
        classes = {c.lower() for c in entry.attributes["objectclass"]}
        if "displayname" in entry.attributes and classes & {"groupofuniquenames", "groupofnames"}:
            assert "extensibleobject" in classes, entry.dn
            extended.append(entry.dn)
        elif "inetorgperson" in classes or "displayname" not in entry.attributes:
            assert "extensibleobject" not in classes, entry.dn
    was_orcl_group = [
        dn
        for dn, entry in source.items()
        if "displayname" in entry.attributes
        and "orclgroup" in map(str.lower, entry.attributes["objectclass"])
    ]
    assert extended
    assert len(extended) == len(was_orcl_group)
    [item] = reports["schema"]["codes"]["SCHEMA_EXTENSIBLE"]["examples"]
    assert item["count"] == len(extended)


def test_groups_members_are_moved_and_dynamic_groups_become_group_of_urls(
    migrated: tuple[Migration, Reports],
) -> None:
    migration, reports = migrated
    output = list(read_ldif(migration.out / "07-output.ldif"))
    dns = {e.dn.lower() for e in output}
    members = [m for e in output for n in ("member", "uniquemember") for m in e.attributes.get(n, [])]
    assert members
    assert all(m.lower().endswith(TARGET) for m in members)
    dangling = {m.lower() for m in members} - dns
    assert dangling == {f"uid=desligado,ou=engenharia,cn=users,{TARGET}"}  # the export's own dangling member
    assert reports["validate"]["counts"]["dangling"] == 1
    assert reports["groups"]["counts"]["nested_members"] > 0
    dynamic = [e for e in output if "groupOfURLs" in e.attributes["objectclass"]]
    assert len(dynamic) == reports["groups"]["counts"]["dynamic_groups"] > 0
    for entry in dynamic:
        [url] = [
            base64.b64decode(v).decode() if "memberurl" in entry.binary else v
            for v in entry.attributes["memberurl"]
        ]
        assert url.startswith("ldap:///ou=")
        assert f",cn=Users,{TARGET}??sub?" in url
        assert "labeleduri" not in entry.attributes


def test_acls_become_acis_on_the_same_entries(migrated: tuple[Migration, Reports]) -> None:
    migration, reports = migrated
    output = {e.dn.lower(): e for e in read_ldif(migration.out / "07-output.ldif")}
    assert not any({"orclaci", "orclentrylevelaci"} & set(e.attributes) for e in output.values())
    users = output[f"cn=users,{TARGET}"]
    assert any('userattr="manager#USERDN"' in aci for aci in users.attributes["aci"])
    for entry in output.values():
        for aci in entry.attributes.get("aci", []):
            named = aci.replace("ldap:///self", "").replace("ldap:///anyone", "")
            assert "ldap:///" not in named or SOURCE not in named.lower(), aci
    acl = reports["acl"]
    assert acl["counts"]["oid_acls"] > 0
    assert acl["counts"]["oid_acls_failed"] == 0
    assert acl["global_aci_removals"]


def test_reports_on_disk_match_and_items_name_entries(migrated: tuple[Migration, Reports]) -> None:
    migration, reports = migrated
    for index, phase in enumerate(PHASES, 1):
        on_disk = json.loads((migration.out / f"{index:02d}-{phase}.report.json").read_text(encoding="utf-8"))
        assert on_disk["counts"] == reports[phase]["counts"]
        items = (migration.out / f"{index:02d}-{phase}.items.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(items) == sum(code["count"] for code in on_disk["codes"].values())
    assert not list(migration.out.glob("*.partial"))


def test_exclusion_rules_and_unknown_schema_are_reported_never_silent(
    tmp_path: Path, ldif_reader: LdifReader
) -> None:
    rules = (
        "exclude:\n"
        f"  - under: cn=Products,cn=OracleContext,{SOURCE}\n    reason: product metadata\n"
        "  - objectclass: orclPrivilegeGroup\n    reason: privileges are granted by hand\n"
    )
    migration = _migration(ldif_reader, tmp_path / "p", entries=40, rules=rules)
    export = migration.project.directory / "oid-export.ldif"
    export.write_text(
        export.read_text(encoding="utf-8")
        + f"dn: cn=app1,cn=Products,cn=OracleContext,{SOURCE}\n"
        + "objectclass: orclApplicationEntity\ncn: app1\n\n"
        + f"dn: cn=box,cn=Users,{SOURCE}\n"
        + "objectclass: top\nobjectclass: orclMysteryBox\ncn: box\norclcolour: blue\n\n",
        encoding="utf-8",
    )
    reports = _run_all(migration)
    excluded = reports["hierarchy"]["codes"]["HIERARCHY_EXCLUDED"]
    assert excluded["count"] == 2 + 4  # Products and its child, the four privilege groups
    schema = reports["schema"]["codes"]
    assert schema["SCHEMA_UNKNOWN_OBJECTCLASS"]["examples"][0]["dn"] == f"cn=box,cn=Users,{TARGET}"
    assert "orclmysterybox" in schema["SCHEMA_UNKNOWN_OBJECTCLASS"]["examples"][0]["message"]
    assert "orclcolour" in schema["SCHEMA_UNKNOWN_ATTRIBUTE"]["examples"][0]["message"]
    box = next(e for e in read_ldif(migration.out / "07-output.ldif") if e.dn.startswith("cn=box"))
    assert box.attributes["orclcolour"] == ["blue"]  # kept, reported


def test_a_phase_needs_its_input(tmp_path: Path, ldif_reader: LdifReader) -> None:
    migration = _migration(ldif_reader, tmp_path / "p", entries=20)
    missing = run_phase(migration, "users")
    assert missing.is_failure
    assert "03-schema.ldif: no such file (run phase 'schema' first)" in (missing.error or "")


def test_an_export_without_its_suffix_entry_loads_under_the_target_suffix(
    tmp_path: Path, ldif_reader: LdifReader
) -> None:
    migration = _migration(ldif_reader, tmp_path / "p", entries=30)
    export = migration.project.directory / "oid-export.ldif"
    records = export.read_text(encoding="utf-8").split("\n\n")
    assert records[1].startswith(f"dn: {SOURCE}\n")
    export.write_text("\n\n".join(records[:1] + records[2:]), encoding="utf-8")
    reports = _run_all(migration)
    hierarchy = reports["hierarchy"]
    assert hierarchy["counts"]["out"] == hierarchy["counts"]["in"] - 1  # only the orphan of the sample
    assert hierarchy["codes"]["HIERARCHY_NO_BASE_ENTRY"]["count"] == 1
    assert "dc=algar,dc=br" in hierarchy["codes"]["HIERARCHY_NO_BASE_ENTRY"]["examples"][0]["message"]


def test_the_chained_run_writes_what_phase_by_phase_runs_write(
    tmp_path: Path, ldif_reader: LdifReader
) -> None:
    one_by_one = _migration(ldif_reader, tmp_path / "a", entries=120)
    separate = _run_all(one_by_one)
    chained_migration = _migration(ldif_reader, tmp_path / "b", entries=120)
    chained = {report.unwrap()["phase"]: report.unwrap() for report in run_phases(chained_migration, PHASES)}
    assert list(chained) == list(PHASES)
    for index, phase in enumerate(PHASES, 1):
        name = f"{index:02d}-{phase}"
        assert (chained_migration.out / f"{name}.ldif").read_bytes() == (
            one_by_one.out / f"{name}.ldif"
        ).read_bytes()
        assert chained[phase]["counts"] == separate[phase]["counts"], phase
        assert chained[phase]["codes"].keys() == separate[phase]["codes"].keys(), phase
