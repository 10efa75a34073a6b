"""Effective rights on a real server: translated ACIs loaded into 389 DS, then each user binds and tries.

389 Directory Server stands in for OUD (the same ``aci`` family). The fixture's
suffix carries no ACI, which is what a migrated OUD looks like once the
default global ACIs that grant data are removed (``OUD_DEFAULT_GLOBAL_ACIS``);
one test loads OUD's "Anonymous read access" to show what it would leak. 389
refuses ``targetscope`` (OUD accepts it), so entry-level directives are
checked by the golden tests against OUD's documented syntax instead.

Every check is a real operation bound as the user: a search (what entries
and attributes come back), a modify, an add, a delete. Each OID rule is
checked both ways: what it allowed works, what it did not is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flext_plugin_algar.acl import OUD_DEFAULT_GLOBAL_ACIS, AclKind, translate_acl, translate_entries

from flext_sdk.testing.ds389 import Ds389Server

PASSWORD = "user-password"
INSUFFICIENT_ACCESS = 50
COMPARE_TRUE = 6


@dataclass
class Tree:
    """A small migrated directory under its own subtree, with the translated OID rules loaded."""

    server: Ds389Server
    base: str

    def dn(self, uid: str) -> str:
        where = "Apps" if uid.startswith("app") else "People"
        return f"uid={uid},ou={where},{self.base}"

    def bind(self, uid: str | None) -> tuple[str, str]:
        return ("", "") if uid is None else (self.dn(uid), PASSWORD)

    def visible(self, uid: str | None, base: str, *attributes: str) -> dict[str, dict[str, list[str]]]:
        """What a subtree search for every entry returns to ``uid`` (None: anonymous): DN -> attributes."""
        found = self.server.ldapsearch(base, "(objectClass=*)", *attributes, bind=self.bind(uid)).decode()
        entries: dict[str, dict[str, list[str]]] = {}
        for block in found.strip().split("\n\n"):
            if not block.strip():
                continue
            first, *rest = block.splitlines()
            values: dict[str, list[str]] = {}
            for line in rest:
                name, _, value = line.partition(": ")
                values.setdefault(name.lower(), []).append(value)
            entries[first.removeprefix("dn: ")] = values
        return entries

    def read(self, uid: str | None, target: str, attribute: str) -> list[str]:
        """The values of ``attribute`` on ``target`` that ``uid`` can read (empty: none, or not visible)."""
        found = self.server.ldapsearch(
            target, "(objectClass=*)", attribute, scope="base", bind=self.bind(uid)
        )
        prefix = f"{attribute.lower()}: "
        return [
            line[len(prefix) :] for line in found.decode().splitlines() if line.lower().startswith(prefix)
        ]

    def compare(self, uid: str | None, target: str, attribute: str, value: str) -> int:
        """``ldapcompare``'s exit code: 6 compareTrue, 5 compareFalse, 50 insufficient access."""
        bind = self.bind(uid)
        return self.server.run_client("ldapcompare", target, f"{attribute}:{value}", bind=bind).returncode

    def modify(self, uid: str, target: str, attribute: str, value: str) -> int:
        change = f"dn: {target}\nchangetype: modify\nreplace: {attribute}\n{attribute}: {value}\n"
        return self.server.ldapmodify(change, check=False, bind=self.bind(uid)).returncode

    def add(self, uid: str, ldif: str) -> int:
        return self.server.ldapadd(ldif, check=False, bind=self.bind(uid)).returncode

    def delete(self, uid: str, target: str) -> int:
        return self.server.ldapmodify(
            f"dn: {target}\nchangetype: delete\n", check=False, bind=self.bind(uid)
        ).returncode

    def load(self, entry: str, text: str) -> list[str]:
        """Translate an OID directive held by ``entry`` and add the ACIs to it; returns them."""
        done = translate_acl(text, entry_dn=entry, kind=AclKind.PRESCRIPTIVE)
        assert not done.failed, done.items
        for value in done.acis:  # one by one, so a refused ACI names itself
            self.server.ldapmodify(f"dn: {entry}\nchangetype: modify\nadd: aci\naci: {value}\n")
        return list(done.acis)


def _person(dn: str, uid: str, **more: str) -> str:
    extra = "".join(f"{name}: {value}\n" for name, value in more.items())
    return (
        f"dn: {dn}\nobjectClass: top\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\n"
        f"sn: {uid.title()}\nuserPassword: {PASSWORD}\n{extra}\n"
    )


@pytest.fixture(scope="module")
def tree(ds389_server: Ds389Server) -> Tree:
    base = ds389_server.subtree("algar-acl")
    tree = Tree(ds389_server, base)
    people, groups, apps, units = (f"ou={name},{base}" for name in ("People", "Groups", "Apps", "Units"))
    admins, owners, team = f"cn=Admins,{groups}", f"cn=Owners,{groups}", f"cn=Team,{groups}"
    ldif = "".join(
        f"dn: {dn}\nobjectClass: top\nobjectClass: organizationalUnit\nou: {dn[3:].split(',')[0]}\n\n"
        for dn in (people, groups, apps, units)
    )
    ldif += _person(tree.dn("alice"), "alice", telephoneNumber="111", description="admin")
    ldif += _person(tree.dn("bob"), "bob", telephoneNumber="222", description="bob")
    ldif += _person(tree.dn("carol"), "carol", telephoneNumber="333", manager=tree.dn("bob"))
    ldif += _person(tree.dn("eve"), "eve", telephoneNumber="444")
    ldif += _person(tree.dn("app1"), "app1", title="service")
    for group, members, owner in (
        (admins, [tree.dn("alice")], ""),
        (owners, [tree.dn("carol")], ""),
        (team, [tree.dn("eve")], owners),
        (f"cn=Club,{groups}", [tree.dn("alice")], ""),
    ):
        ldif += f"dn: {group}\nobjectClass: top\nobjectClass: groupOfNames\ncn: {group[3:].split(',')[0]}\n"
        ldif += "".join(f"member: {member}\n" for member in members)
        ldif += f"owner: {owner}\n\n" if owner else "\n"
    contractors = f"ou=Contractors,{people}"
    ldif += f"dn: {contractors}\nobjectClass: top\nobjectClass: organizationalUnit\nou: Contractors\n\n"
    ds389_server.ldapadd(ldif)
    # The OID rules of the migrated directory, as they were on the OID containers.
    tree.load(base, "access to entry by * (browse)")
    tree.load(
        people, f'access to entry by group="{admins}" (browse,add,delete) by * (browse, noadd, nodelete)'
    )
    tree.load(people, "access to attr=(cn,sn,uid) by * (read,search,compare)")
    tree.load(
        people,
        "access to attr=(telephoneNumber) by self (read,search,write) by dnattr=(manager) (read,search) "
        f'by group="{admins}" (read,search,write) by * (noread, nowrite)',
    )
    tree.load(
        people,
        f'access to attr=(description) by group="{admins}" (read,search,write) '
        f'by dn="{tree.dn("alice")}" (nowrite) by dn="{tree.dn("bob")}" (read, nowrite) by * (none)',
    )
    tree.load(contractors, f'access to entry by dn="{tree.dn("bob")}" (add)')
    tree.load(people, f'access to entry by dn="{tree.dn("app1")}" (proxy)')
    tree.load(base, f'access to attr=(title) by dn="*,{apps}" (read,search)')
    tree.load(groups, "access to attr=(member) by groupattr=(owner) (read,search,write) by * (noread)")
    tree.load(f"cn=Club,{groups}", "access to attr=(member) by * (selfwrite)")
    tree.load(
        units,
        f'access to entry by group="{admins}" added_object_constraint=(objectclass=organizationalUnit) (add)',
    )
    return tree


def test_anonymous_sees_the_entries_and_the_public_attributes_only(tree: Tree) -> None:
    people = f"ou=People,{tree.base}"
    seen = tree.visible(None, people)
    users = (tree.dn(uid) for uid in ("alice", "bob", "carol", "eve"))
    assert set(seen) == {people, f"ou=Contractors,{people}", *users}
    assert set(seen[tree.dn("alice")]) == {"objectclass", "cn", "sn", "uid"}
    assert tree.read(None, tree.dn("alice"), "telephoneNumber") == []
    assert tree.read(None, tree.dn("alice"), "userPassword") == []
    assert tree.compare(None, tree.dn("alice"), "cn", "Alice") == COMPARE_TRUE
    assert tree.compare(None, tree.dn("alice"), "telephoneNumber", "111") == INSUFFICIENT_ACCESS


def test_self_reads_and_writes_its_own_telephone_number_only(tree: Tree) -> None:
    assert tree.read("eve", tree.dn("eve"), "telephoneNumber") == ["444"]
    assert tree.read("eve", tree.dn("alice"), "telephoneNumber") == []
    assert tree.modify("eve", tree.dn("eve"), "telephoneNumber", "4444") == 0
    assert tree.read("eve", tree.dn("eve"), "telephoneNumber") == ["4444"]
    assert tree.modify("eve", tree.dn("alice"), "telephoneNumber", "0") == INSUFFICIENT_ACCESS
    assert tree.modify("eve", tree.dn("eve"), "sn", "Renamed") == INSUFFICIENT_ACCESS  # no write on sn
    assert tree.read("eve", tree.dn("eve"), "userPassword") == []  # OUD's "Self entry read" would


def test_a_manager_named_in_dnattr_reads_but_does_not_write(tree: Tree) -> None:
    assert tree.read("bob", tree.dn("carol"), "telephoneNumber") == ["333"]
    assert tree.read("bob", tree.dn("alice"), "telephoneNumber") == []
    assert tree.modify("bob", tree.dn("carol"), "telephoneNumber", "0") == INSUFFICIENT_ACCESS


def test_the_group_reads_and_writes_everyone_s_telephone_number(tree: Tree) -> None:
    found = tree.visible("alice", f"ou=People,{tree.base}", "telephoneNumber")
    numbers = {dn: values.get("telephonenumber") for dn, values in found.items() if dn.startswith("uid=")}
    assert numbers[tree.dn("bob")] == ["222"]
    assert numbers[tree.dn("carol")] == ["333"]
    assert tree.modify("alice", tree.dn("bob"), "telephoneNumber", "2222") == 0
    assert tree.read("bob", tree.dn("bob"), "telephoneNumber") == ["2222"]


def test_a_later_denial_does_not_take_back_what_an_earlier_clause_granted(tree: Tree) -> None:
    # description: group Admins (write) first, then dn=alice (nowrite): alice is in Admins, so OID grants.
    assert tree.modify("alice", tree.dn("carol"), "description", "by alice") == 0
    # bob: (read, nowrite) and no group: reads, may not write.
    assert tree.read("bob", tree.dn("carol"), "description") == ["by alice"]
    assert tree.modify("bob", tree.dn("carol"), "description", "by bob") == INSUFFICIENT_ACCESS
    # by * (none): nobody else reads it.
    assert tree.read("eve", tree.dn("carol"), "description") == []


def test_only_the_group_adds_and_deletes_people(tree: Tree) -> None:
    newcomer = tree.dn("newcomer")
    assert tree.add("bob", _person(newcomer, "newcomer")) == INSUFFICIENT_ACCESS
    assert tree.add("alice", _person(newcomer, "newcomer")) == 0
    assert tree.delete("bob", newcomer) == INSUFFICIENT_ACCESS
    assert tree.delete("eve", tree.dn("eve")) == INSUFFICIENT_ACCESS
    assert tree.delete("alice", newcomer) == 0


def test_a_nearer_grant_wins_over_a_farther_denial_for_everyone(tree: Tree) -> None:
    # ou=People: "by * (noadd)" for all but Admins; ou=Contractors below it: "by dn=bob (add)".
    # OID decides at the nearest point that names the right: bob may add contractors, not people.
    contractor = f"uid=temp,ou=Contractors,ou=People,{tree.base}"
    assert tree.add("bob", _person(tree.dn("temp"), "temp")) == INSUFFICIENT_ACCESS
    assert tree.add("eve", _person(contractor, "temp")) == INSUFFICIENT_ACCESS
    assert tree.add("bob", _person(contractor, "temp")) == 0


def test_proxy_lets_the_application_act_as_a_person_and_no_one_else(tree: Tree) -> None:
    def as_bob(uid: str) -> tuple[int, str]:
        done = tree.server.run_client(
            "ldapsearch",
            "-LLL",
            "-e",
            f"!authzid=dn:{tree.dn('bob')}",  # proxied authorization, critical
            "-s",
            "base",
            "-b",
            tree.dn("carol"),
            "(objectClass=*)",
            "telephoneNumber",
            bind=tree.bind(uid),
        )
        return done.returncode, done.stdout.decode()

    code, found = as_bob("app1")
    assert code == 0
    assert "telephoneNumber: 333" in found  # what bob, carol's manager, may read
    assert tree.read("app1", tree.dn("carol"), "telephoneNumber") == []  # not app1 itself
    # eve has no proxy right: 389 runs nothing as bob for her, and returns not even what she sees herself
    assert as_bob("eve") == (0, "")
    own = tree.server.ldapsearch(
        tree.dn("carol"), "(objectClass=*)", "telephoneNumber", scope="base", bind=tree.bind("eve")
    )
    assert own.decode().startswith(f"dn: {tree.dn('carol')}")


def test_added_object_constraint_limits_what_the_group_adds(tree: Tree) -> None:
    units = f"ou=Units,{tree.base}"
    unit = f"dn: ou=Sales,{units}\nobjectClass: top\nobjectClass: organizationalUnit\nou: Sales\n"
    assert tree.add("alice", _person(f"uid=intruder,{units}", "intruder")) == INSUFFICIENT_ACCESS
    assert tree.add("bob", unit) == INSUFFICIENT_ACCESS
    assert tree.add("alice", unit) == 0


def test_a_denial_of_add_with_a_constraint_denies_only_the_entries_it_selects(tree: Tree) -> None:
    # OID: alice's clause applies only to new inetOrgPerson entries; for others the next clause decides,
    # and alice is an admin. The deny must carry the constraint, or it takes every add from her.
    desks = f"ou=Desks,{tree.base}"
    tree.server.ldapadd(f"dn: {desks}\nobjectClass: top\nobjectClass: organizationalUnit\nou: Desks\n")
    tree.load(
        desks,
        f'access to entry by dn="{tree.dn("alice")}" added_object_constraint=(objectclass=inetOrgPerson) '
        f'(noadd) by group="cn=Admins,ou=Groups,{tree.base}" (add)',
    )
    unit = f"dn: ou=North,{desks}\nobjectClass: top\nobjectClass: organizationalUnit\nou: North\n"
    assert tree.add("alice", _person(f"uid=newdesk,{desks}", "newdesk")) == INSUFFICIENT_ACCESS
    assert tree.add("bob", unit) == INSUFFICIENT_ACCESS
    assert tree.add("alice", unit) == 0


def test_a_dn_subtree_subject_covers_the_entries_below_only(tree: Tree) -> None:
    assert tree.read("app1", tree.dn("app1"), "title") == ["service"]
    assert tree.read("alice", tree.dn("app1"), "title") == []


def test_a_groupattr_subject_lets_the_owning_group_s_members_write(tree: Tree) -> None:
    team = f"cn=Team,ou=Groups,{tree.base}"
    assert tree.read("eve", team, "member") == []
    assert tree.modify("eve", team, "member", tree.dn("eve")) == INSUFFICIENT_ACCESS
    assert tree.modify("carol", team, "member", tree.dn("carol")) == 0
    assert tree.read("carol", team, "member") == [tree.dn("carol")]


def test_selfwrite_lets_a_user_add_their_own_dn_and_no_other(tree: Tree) -> None:
    club = f"cn=Club,ou=Groups,{tree.base}"

    def add_member(uid: str, member: str) -> int:
        change = f"dn: {club}\nchangetype: modify\nadd: member\nmember: {member}\n"
        return tree.server.ldapmodify(change, check=False, bind=tree.bind(uid)).returncode

    assert add_member("eve", tree.dn("bob")) == INSUFFICIENT_ACCESS
    assert add_member("eve", tree.dn("eve")) == 0
    assert (
        tree.modify("eve", club, "member", tree.dn("eve")) == INSUFFICIENT_ACCESS
    )  # replace: others' values


def test_oud_s_default_anonymous_read_would_leak_what_oid_protected(tree: Tree) -> None:
    [anonymous_read] = [aci for aci in OUD_DEFAULT_GLOBAL_ACIS if aci.name == "Anonymous read access"]
    assert anonymous_read.remove
    # 389's schema has no authPassword, which OUD's ACI names: the rest of the ACI is OUD's own.
    oud_aci = anonymous_read.aci.replace("||authPassword", "")
    change = f"dn: {tree.base}\nchangetype: modify\n%s: aci\naci: {oud_aci}\n"
    tree.server.ldapmodify(change % "add")  # on the subtree's root: global within it, as in OUD
    try:
        assert tree.read(None, tree.dn("alice"), "telephoneNumber") != []  # what OID's "by * (noread)" denied
    finally:
        tree.server.ldapmodify(change % "delete")
    assert tree.read(None, tree.dn("alice"), "telephoneNumber") == []


def test_a_nearer_denial_for_everyone_is_reported_and_target_exclusion_closes_it(
    ds389_server: Ds389Server,
) -> None:
    # OID: the root grants roomNumber to all, ou=People takes it back for all but self. OUD has no
    # deny there (a deny for anyone would also beat nearer grants), so the root's grant still reaches
    # ou=People: translate_entries reports it, and the fix it names (target != on the farther ACI) works.
    base = ds389_server.subtree("algar-near")
    people = f"ou=People,{base}"
    alice = f"uid=alice,{people}"
    ds389_server.ldapadd(
        f"dn: {people}\nobjectClass: top\nobjectClass: organizationalUnit\nou: People\n\n"
        + _person(alice, "alice", roomNumber="101")
        + _person(f"uid=roomless,{base}", "roomless", roomNumber="1")
    )
    far_text = "access to attr=(roomNumber) by * (read,search)"
    near_text = "access to attr=(roomNumber) by self (read,search) by * (noread,nosearch)"
    far, near = translate_entries(
        [(base, AclKind.PRESCRIPTIVE, far_text), (people, AclKind.PRESCRIPTIVE, near_text)]
    )
    assert [item.code for item in near.items] == ["ACL_OUD_DEFAULT_DENY", "ACL_INHERITED_GRANT"]
    [farther_aci] = far.acis
    for entry, done in ((base, far), (people, near)):
        for value in done.acis:
            ds389_server.ldapmodify(f"dn: {entry}\nchangetype: modify\nadd: aci\naci: {value}\n")

    def room(bind: tuple[str, str], target: str) -> bytes:
        return ds389_server.ldapsearch(target, "(roomNumber=*)", "roomNumber", scope="base", bind=bind)

    anonymous = ("", "")
    assert b"roomNumber: 101" in room(anonymous, alice)  # the difference the warning is about
    fixed = f'(target!="ldap:///{people}")' + farther_aci
    ds389_server.ldapmodify(
        f"dn: {base}\nchangetype: modify\ndelete: aci\naci: {farther_aci}\n-\nadd: aci\naci: {fixed}\n"
    )
    assert b"roomNumber" not in room(anonymous, alice)
    assert b"roomNumber: 101" in room((alice, PASSWORD), alice)
    assert b"roomNumber: 1" in room(anonymous, f"uid=roomless,{base}")  # outside ou=People: unchanged
