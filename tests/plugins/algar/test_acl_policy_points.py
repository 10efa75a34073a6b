"""translate_entries: the warnings only comparing OID's policy points can give."""

from __future__ import annotations

from flext_plugin_algar.acl import AclKind, Severity, translate_entries
from flext_plugin_algar.acl.codes import ACL_DENY_OVERRIDES_NEARER_GRANT, ACL_INHERITED_GRANT

ROOT = "dc=algar,dc=br"
PEOPLE = "ou=People, dc=algar,dc=br"  # OID exports often have blanks after the commas
P, E = AclKind.PRESCRIPTIVE, AclKind.ENTRY_LEVEL


def codes(values: list[tuple[str, AclKind, str]]) -> list[list[str]]:
    return [
        [item.code for item in done.items if item.severity == Severity.WARNING]
        for done in translate_entries(values)
    ]


def test_a_nearer_denial_for_everyone_does_not_cut_off_a_farther_oud_grant() -> None:
    values = [
        (ROOT, P, "access to attr=(roomNumber) by * (read)"),
        (PEOPLE, P, "access to attr=(roomNumber,cn) by * (noread)"),
    ]
    assert codes(values) == [[], [ACL_INHERITED_GRANT]]
    [_, near] = translate_entries(values)
    [item] = [item for item in near.items if item.code == ACL_INHERITED_GRANT]
    assert item.entry_dn == PEOPLE
    assert "access to attr=(roomNumber) by * (read)" in item.message  # names the farther rule


def test_a_farther_deny_overrides_a_nearer_grant() -> None:
    values = [
        (ROOT, P, 'access to attr=(cn) by dn="uid=eve,dc=algar,dc=br" (nowrite)'),
        (PEOPLE, P, "access to attr=(cn) by self (write)"),
    ]
    assert codes(values) == [[], [ACL_DENY_OVERRIDES_NEARER_GRANT]]


def test_the_entry_level_directive_is_nearer_than_the_entry_s_own_orclaci() -> None:
    values = [
        (PEOPLE, P, "access to entry by * (browse)"),
        (PEOPLE, E, "access to entry by * (nobrowse)"),
    ]
    assert codes(values) == [[], [ACL_INHERITED_GRANT]]


def test_points_that_do_not_meet_give_no_warning() -> None:
    values = [
        (ROOT, P, "access to attr=(roomNumber) by * (read)"),
        (PEOPLE, P, "access to attr=(cn) by * (noread)"),  # another attribute
        ("ou=Groups,dc=algar,dc=br", P, "access to attr=(roomNumber) by * (noread)"),  # below ROOT too
        ("o=other", P, "access to attr=(roomNumber) by * (noread)"),  # another tree
    ]
    warnings = codes(values)
    assert warnings[1] == []
    assert warnings[3] == []
    assert warnings[2] == [ACL_INHERITED_GRANT]


def test_values_are_numbered_per_entry_and_attribute() -> None:
    values = [
        (ROOT, P, "access to entry by * (browse)"),
        (ROOT, P, "access to entry by self (delete)"),
        (ROOT, E, "access to entry by self (proxy)"),
    ]
    names = [done.acis[0].split('acl "')[1].split('"')[0] for done in translate_entries(values)]
    assert names == [
        "algar orclaci 0.0 allow",
        "algar orclaci 1.0 allow",
        "algar orclentrylevelaci 0.0 allow",
    ]


def test_an_add_rule_under_a_filter_writes_no_aci_and_so_overrides_nothing() -> None:
    # Under filter= neither the add grant nor a named noadd becomes an ACI (ACL_ADD_FILTER): no OUD
    # deny to win over a nearer grant, no OUD grant to outlive a nearer denial.
    values = [
        (ROOT, P, 'access to entry filter=(objectClass=person) by dn="uid=eve,dc=algar,dc=br" (noadd)'),
        (PEOPLE, P, "access to entry by self (add)"),
        ("ou=Groups,dc=algar,dc=br", P, "access to entry filter=(objectClass=person) by self (add)"),
        ("ou=Admins,ou=Groups,dc=algar,dc=br", P, "access to entry by * (noadd)"),
    ]
    assert codes(values) == [[], [], [], []]
    values[0] = (ROOT, P, 'access to entry by dn="uid=eve,dc=algar,dc=br" (noadd)')
    assert codes(values)[1] == [ACL_DENY_OVERRIDES_NEARER_GRANT]  # written without a filter: it wins


def test_a_denial_for_everyone_under_a_filter_still_stops_a_farther_grant() -> None:
    values = [
        (ROOT, P, "access to entry by self (add)"),
        (PEOPLE, P, "access to entry filter=(objectClass=person) by * (noadd)"),
    ]
    assert codes(values) == [[], [ACL_INHERITED_GRANT]]
