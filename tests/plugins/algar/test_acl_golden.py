"""Golden translations, one per OID construct, each ACI checked against OUD's documented syntax.

The expected values are written out in full: a change in the mapping shows up
here as a diff, and docs/algar.md's table must change with it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flext_plugin_algar.acl import (
    OUD_DEFAULT_GLOBAL_ACIS,
    AclKind,
    Severity,
    global_aci_removals,
    parse_acl,
    translate_acl,
)
from flext_plugin_algar.acl.codes import (
    ACL_ADD_FILTER,
    ACL_APPROXIMATE,
    ACL_MANUAL_REVIEW,
    ACL_OUD_DEFAULT_DENY,
    ACL_SYNTAX,
    ACL_UNKNOWN_RIGHT,
    ACL_UNREACHABLE,
)

DN = "ou=People,dc=algar,dc=br"
P = AclKind.PRESCRIPTIVE
E = AclKind.ENTRY_LEVEL


def aci(targets: str, name: str, action: str, rights: str, rule: str) -> str:
    return f'{targets}(version 3.0; acl "algar {name}"; {action} ({rights}) {rule};)'


ANYONE = 'userdn="ldap:///anyone"'
SELF = 'userdn="ldap:///self"'

GOLDEN: list[tuple[str, AclKind, list[str], set[str]]] = [
    # subjects
    (
        'access to attr=(cn) by group="cn=Admins, cn=Groups,dc=algar,dc=br" (read)',
        P,
        [
            aci(
                '(targetattr="cn")',
                "orclaci 0.0 allow",
                "allow",
                "read",
                'groupdn="ldap:///cn=Admins,cn=Groups,dc=algar,dc=br"',
            )
        ],
        set(),
    ),
    (
        'access to attr=(cn) by dn="uid=ana,ou=People,dc=algar,dc=br" (read,search)',
        P,
        [
            aci(
                '(targetattr="cn")',
                "orclaci 0.0 allow",
                "allow",
                "read,search",
                'userdn="ldap:///uid=ana,ou=People,dc=algar,dc=br"',
            )
        ],
        set(),
    ),
    (
        'access to attr=(cn) by dn="*,ou=Apps,dc=algar,dc=br" (read)',
        P,
        [
            aci(
                '(targetattr="cn")',
                "orclaci 0.0 allow",
                "allow",
                "read",
                '(userdn="ldap:///ou=Apps,dc=algar,dc=br??sub?(objectClass=*)" and not userdn="ldap:///ou=Apps,dc=algar,dc=br")',
            )
        ],
        {ACL_APPROXIMATE},
    ),
    (
        "access to attr=(mail) by self (read,write)",
        P,
        [aci('(targetattr="mail")', "orclaci 0.0 allow", "allow", "read,write", SELF)],
        set(),
    ),
    (
        "access to attr=(cn) by * (read,search,compare)",
        P,
        [aci('(targetattr="cn")', "orclaci 0.0 allow", "allow", "read,search,compare", ANYONE)],
        set(),
    ),
    (
        "access to attr=(cn) by dnattr=(manager) (write)",
        P,
        [aci('(targetattr="cn")', "orclaci 0.0 allow", "allow", "write", 'userattr="manager#USERDN"')],
        set(),
    ),
    (
        "access to attr=(member) by groupattr=(owner) (write,selfwrite)",
        P,
        [
            aci(
                '(targetattr="member")',
                "orclaci 0.0 allow",
                "allow",
                "write,selfwrite",
                'userattr="owner#GROUPDN"',
            )
        ],
        set(),
    ),
    ("access to attr=(cn) by guidattr=(orclowner) (read)", P, [], {ACL_MANUAL_REVIEW}),
    ("access to attr=(cn) by * BindMode=(SSLOneWay) (read)", P, [], {ACL_MANUAL_REVIEW}),
    (  # a "*" with a qualifier is not everyone: the clauses after it still count
        "access to attr=(cn) by * BindMode=(SSLOneWay) (read) by self (read)",
        P,
        [aci('(targetattr="cn")', "orclaci 0.1 allow", "allow", "read", SELF)],
        {ACL_MANUAL_REVIEW},
    ),
    ('access to attr=(cn) by dn="cn=say \\"hi\\",dc=x" (read)', P, [], {ACL_MANUAL_REVIEW}),
    ('access to attr=(cn) filter=(cn=a"b) by * (read)', P, [], {ACL_MANUAL_REVIEW}),
    # targets
    (
        "access to attr=(*) by self (read)",
        P,
        [aci('(targetattr="*")', "orclaci 0.0 allow", "allow", "read", SELF)],
        set(),
    ),
    (
        "access to attr=* by self (read)",
        P,
        [aci('(targetattr="*")', "orclaci 0.0 allow", "allow", "read", SELF)],
        set(),
    ),
    (
        "access to attr=(cn, sn,mail) by self (read)",
        P,
        [aci('(targetattr="cn || sn || mail")', "orclaci 0.0 allow", "allow", "read", SELF)],
        set(),
    ),
    (
        "access to attr!=(userPassword) by * (read)",
        P,
        [aci('(targetattr!="userPassword")', "orclaci 0.0 allow", "allow", "read", ANYONE)],
        set(),
    ),
    (
        "access to attr=(cn) filter=(objectclass=inetorgperson) by * (read)",
        P,
        [
            aci(
                '(targetattr="cn")(targetfilter="(objectclass=inetorgperson)")',
                "orclaci 0.0 allow",
                "allow",
                "read",
                ANYONE,
            )
        ],
        set(),
    ),
    # entry rights
    (
        "access to entry by * (browse)",
        P,
        [aci('(targetattr="objectClass")', "orclaci 0.0 allow", "allow", "read,search", ANYONE)],
        {ACL_APPROXIMATE},
    ),
    (
        "access to entry by self (delete, proxy)",
        P,
        [aci('(targetattr="*")', "orclaci 0.0 allow", "allow", "delete,proxy", SELF)],
        set(),
    ),
    (
        "access to entry by self (add,delete)",
        P,
        [aci('(targetattr="*")', "orclaci 0.0 allow", "allow", "add,delete", SELF)],
        set(),
    ),
    (
        'access to entry by group="cn=Creators,dc=algar,dc=br" '
        "added_object_constraint=(objectclass=orcluser*) (add)",
        P,
        [
            aci(
                '(targetattr="*")(targetfilter="(objectclass=orcluser*)")',
                "orclaci 0.0 allow",
                "allow",
                "add",
                'groupdn="ldap:///cn=Creators,dc=algar,dc=br"',
            )
        ],
        set(),
    ),
    ("access to entry filter=(ou=x) by self (add)", P, [], {ACL_ADD_FILTER}),
    # entry level: base scope, but add on the children
    (
        "access to attr=(cn) by self (read)",
        E,
        [aci('(targetattr="cn")(targetscope="base")', "orclentrylevelaci 0.0 allow", "allow", "read", SELF)],
        set(),
    ),
    (
        'access to entry by group="cn=G,dc=algar,dc=br" (add,delete)',
        E,
        [
            aci(
                '(targetattr="*")(targetscope="base")',
                "orclentrylevelaci 0.0 allow",
                "allow",
                "delete",
                'groupdn="ldap:///cn=G,dc=algar,dc=br"',
            ),
            aci(
                '(targetattr="*")(targetscope="onelevel")',
                "orclentrylevelaci 0.0 allow",
                "allow",
                "add",
                'groupdn="ldap:///cn=G,dc=algar,dc=br"',
            ),
        ],
        set(),
    ),
    # denials: never a deny for anyone; a deny for a subject excludes earlier grants
    ("access to entry by * (noadd)", P, [], {ACL_OUD_DEFAULT_DENY}),
    (
        'access to entry by group="cn=G,dc=algar,dc=br" (browse,add) by * (browse,noadd,nodelete)',
        P,
        [
            aci(
                '(targetattr="objectClass")',
                "orclaci 0.0 allow",
                "allow",
                "read,search",
                'groupdn="ldap:///cn=G,dc=algar,dc=br"',
            ),
            aci(
                '(targetattr="*")',
                "orclaci 0.0 allow",
                "allow",
                "add",
                'groupdn="ldap:///cn=G,dc=algar,dc=br"',
            ),
            aci('(targetattr="objectClass")', "orclaci 0.1 allow", "allow", "read,search", ANYONE),
        ],
        {ACL_APPROXIMATE, ACL_OUD_DEFAULT_DENY},
    ),
    (
        'access to attr=(telephoneNumber) by group="cn=G,dc=algar,dc=br" (write) '
        'by dn="uid=eve,dc=algar,dc=br" (nowrite, read)',
        P,
        [
            aci(
                '(targetattr="telephoneNumber")',
                "orclaci 0.0 allow",
                "allow",
                "write",
                'groupdn="ldap:///cn=G,dc=algar,dc=br"',
            ),
            aci(
                '(targetattr="telephoneNumber")',
                "orclaci 0.1 allow",
                "allow",
                "read",
                'userdn="ldap:///uid=eve,dc=algar,dc=br"',
            ),
            aci(
                '(targetattr="telephoneNumber")',
                "orclaci 0.1 deny",
                "deny",
                "write",
                '(userdn="ldap:///uid=eve,dc=algar,dc=br" and not (groupdn="ldap:///cn=G,dc=algar,dc=br"))',
            ),
        ],
        set(),
    ),
    (
        'access to entry by dn="uid=eve,dc=algar,dc=br" (nobrowse)',
        P,
        [
            aci(
                '(targetattr="*")',
                "orclaci 0.0 deny",
                "deny",
                "read,search,compare",
                'userdn="ldap:///uid=eve,dc=algar,dc=br"',
            )
        ],
        set(),
    ),
    (
        'access to attr=(cn) by dn="uid=eve,dc=algar,dc=br" (none)',
        P,
        [
            aci(
                '(targetattr="cn")',
                "orclaci 0.0 deny",
                "deny",
                "read,search,write,selfwrite,compare",
                'userdn="ldap:///uid=eve,dc=algar,dc=br"',
            )
        ],
        set(),
    ),
    (
        'access to attr=(cn) by * (read) by group="cn=G,dc=algar,dc=br" (read, write)',
        P,
        [
            aci('(targetattr="cn")', "orclaci 0.0 allow", "allow", "read", ANYONE),
            aci(
                '(targetattr="cn")',
                "orclaci 0.1 allow",
                "allow",
                "write",
                'groupdn="ldap:///cn=G,dc=algar,dc=br"',
            ),
        ],
        {ACL_UNREACHABLE},
    ),
    (  # a clause whose every right an earlier "by *" decided is never judged: no error for guidattr
        "access to entry by * (browse) by guidattr=(orclowner) (browse)",
        P,
        [aci('(targetattr="objectClass")', "orclaci 0.0 allow", "allow", "read,search", ANYONE)],
        {ACL_APPROXIMATE, ACL_UNREACHABLE},
    ),
    # a deny of add never reaches further than the OID denial: not under filter= (OID tests the
    # parent, OUD would test the new entry), and only for the new entries the constraint selects
    (
        'access to entry filter=(objectClass=person) by group="cn=g,dc=br" (noadd) by * (browse)',
        P,
        [
            aci(
                '(targetattr="objectClass")(targetfilter="(objectClass=person)")',
                "orclaci 0.1 allow",
                "allow",
                "read,search",
                ANYONE,
            )
        ],
        {ACL_ADD_FILTER, ACL_APPROXIMATE},
    ),
    (
        'access to entry by dn="uid=u,dc=br" added_object_constraint=(objectClass=person) (noadd) '
        'by group="cn=g,dc=br" (add)',
        P,
        [
            aci(
                '(targetattr="*")(targetfilter="(objectClass=person)")',
                "orclaci 0.0 deny",
                "deny",
                "add",
                'userdn="ldap:///uid=u,dc=br"',
            ),
            aci('(targetattr="*")', "orclaci 0.1 allow", "allow", "add", 'groupdn="ldap:///cn=g,dc=br"'),
        ],
        set(),
    ),
    (
        'access to entry by dn="uid=u,dc=br" added_object_constraint=(objectClass=person) (noadd)',
        E,
        [
            aci(
                '(targetattr="*")(targetfilter="(objectClass=person)")(targetscope="onelevel")',
                "orclentrylevelaci 0.0 deny",
                "deny",
                "add",
                'userdn="ldap:///uid=u,dc=br"',
            )
        ],
        set(),
    ),
]


@pytest.mark.parametrize(("text", "kind", "expected", "codes"), GOLDEN, ids=[case[0][:60] for case in GOLDEN])
def test_golden(
    text: str, kind: AclKind, expected: list[str], codes: set[str], oud_syntax: Callable[[str], list[str]]
) -> None:
    done = translate_acl(text, entry_dn=DN, kind=kind)
    assert list(done.acis) == expected
    assert {item.code for item in done.items} == codes
    for value in done.acis:
        assert oud_syntax(value) == [], value
    for item in done.items:
        assert item.text == text
        assert item.entry_dn == DN
        assert item.attribute == kind


def test_a_denial_of_add_under_a_filter_is_reported_not_widened() -> None:
    done = translate_acl(
        'access to entry filter=(objectClass=person) by group="cn=g,dc=br" (noadd, nodelete) by * (browse)',
        entry_dn=DN,
    )
    assert not any("deny (add)" in value for value in done.acis)
    assert any("deny (delete)" in value and "(targetfilter=" in value for value in done.acis)
    [item] = [item for item in done.items if item.code == ACL_ADD_FILTER]
    assert (item.severity, item.clause) == (Severity.ERROR, 'group="cn=g,dc=br"')
    assert "noadd under filter=(objectClass=person)" in item.message
    assert done.failed
    assert not done.exact


def test_a_clause_never_reached_is_not_an_error() -> None:
    done = translate_acl("access to attr=(cn) by * (read) by * BindMode=(Simple) (read)", entry_dn=DN)
    assert [item.code for item in done.items] == [ACL_UNREACHABLE]
    assert not done.failed
    partly = translate_acl("access to entry by * (browse) by guidattr=(orclowner) (browse, add)", entry_dn=DN)
    assert partly.failed  # add is still reachable for the guidattr clause: that part needs a person


def test_the_directives_of_oid_s_own_documentation_translate(oud_syntax: Callable[[str], list[str]]) -> None:
    # From the OID Administrator's Guide, "Setting up Access Controls for the User Search Base".
    text = (
        'access to entry by group="cn=oracledascreateuser, cn=groups,cn=OracleContext,dc=algar,dc=br" '
        "added_object_constraint=(objectclass=orcluser*) (browse,add) by "
        'group="cn=Common User Attributes, cn=Groups,cn=OracleContext,dc=algar,dc=br" (browse) by '
        'group="cn=PKIAdmins, cn=groups, cn=OracleContext,dc=algar,dc=br" (browse)'
    )
    done = translate_acl(text, entry_dn="cn=Users,dc=algar,dc=br")
    assert len(done.acis) == 4
    assert all(oud_syntax(value) == [] for value in done.acis)
    assert done.exact
    ssl = "access to attr=(*) by self BindMode=(Simple) (read) by * (read, nowrite, nocompare)"
    partial = translate_acl(ssl, entry_dn=DN)
    assert partial.failed
    assert [item.clause for item in partial.items if item.severity == Severity.ERROR] == [
        "self BindMode=(Simple)"
    ]
    assert partial.acis == (aci('(targetattr="*")', "orclaci 0.1 allow", "allow", "read", ANYONE),)


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("access to entry by * (browse, fly)", ACL_UNKNOWN_RIGHT, "unknown right 'fly'"),
        ("access to entry by * (read)", ACL_UNKNOWN_RIGHT, "'read' does not apply to an entry target"),
        (
            "access to attr=(cn) by * (browse)",
            ACL_UNKNOWN_RIGHT,
            "'browse' does not apply to an attribute target",
        ),
        ("access to attr=(cn) by * (read, noread)", ACL_SYNTAX, "read both granted and denied"),
        ("access to entry", ACL_SYNTAX, "at least one 'by"),
        ("access to entry by nobody (browse)", ACL_SYNTAX, "unknown subject 'nobody'"),
        ('access to entry by dn="uid=x (browse)', ACL_SYNTAX, "unterminated quoted string"),
        ("access to entry filter=(cn=x by * (browse)", ACL_SYNTAX, "unbalanced parentheses"),
        ("grant everything to everyone", ACL_SYNTAX, "starts with 'access to'"),
        ("access to entry by * (browse) trailing", ACL_SYNTAX, "unexpected 'trailing'"),
    ],
)
def test_bad_directives_fail_with_a_reported_item_naming_the_text(text: str, code: str, words: str) -> None:
    parsed = parse_acl(text)
    assert parsed.is_failure
    assert parsed.error_code == "VALIDATION_ERROR"
    assert (parsed.error_data["reason"], parsed.error_data["text"]) == (code, text)
    done = translate_acl(text, entry_dn=DN)
    assert done.acis == ()
    [item] = done.items
    assert (item.severity, item.code, item.text, item.entry_dn) == (Severity.ERROR, code, text, DN)
    assert words in item.message
    assert repr(text) in item.message


def test_the_parser_reads_every_part_of_a_directive() -> None:
    acl = parse_acl(
        "ACCESS TO attr!=(userPassword,authPassword) FILTER=(&(objectClass=person)(!(cn=x\\29)))"
        ' DenyGroupOverride BY dn="*,ou=Apps,dc=x" BindMode=(SSLOneWay) (Read, NOWRITE)'
        " by self added_object_constraint=(ou=*) (none)"
    ).unwrap()
    assert acl.target.attributes == ("userPassword", "authPassword")
    assert acl.target.negated
    assert acl.filter == "(&(objectClass=person)(!(cn=x\\29)))"
    assert acl.options == ("DenyGroupOverride",)
    first, second = acl.clauses
    assert (first.subject.value, first.subject.subtree, first.subject.bind_mode) == (
        "ou=Apps,dc=x",
        True,
        "(SSLOneWay)",
    )
    assert (first.grants, first.denials) == (("read",), ("write",))
    assert second.subject.added_object_constraint == "(ou=*)"
    assert second.denials == ("read", "search", "write", "selfwrite", "compare")


def test_oud_default_global_acis_that_grant_data_are_removed(oud_syntax: Callable[[str], list[str]]) -> None:
    removed = [global_aci.name for global_aci in OUD_DEFAULT_GLOBAL_ACIS if global_aci.remove]
    assert removed == ["Anonymous read access", "Self entry modification", "Self entry read"]
    for global_aci in OUD_DEFAULT_GLOBAL_ACIS:
        assert oud_syntax(global_aci.aci) == [], global_aci.name
    commands = global_aci_removals()
    assert len(commands) == 3
    assert all(command.startswith("dsconfig set-access-control-handler-prop") for command in commands)
    assert 'acl "Anonymous read access"' in commands[0]
