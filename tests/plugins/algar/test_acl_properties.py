"""Whatever the text, the translator answers (OUD-syntax ACIs, items naming the text) and never raises."""

from __future__ import annotations

from collections.abc import Callable

from flext_plugin_algar.acl import (
    ATTRIBUTE_RIGHTS,
    ENTRY_RIGHTS,
    AclKind,
    Severity,
    parse_acl,
    translate_acl,
    translate_entries,
)
from flext_plugin_algar.acl.codes import ACL_ADD_FILTER
from hypothesis import given, settings
from hypothesis import strategies as st

DN = "ou=People,dc=algar,dc=br"

_WORDS = st.sampled_from(
    [
        "access", "to", "entry", "attr", "=", "!=", "(", ")", "*", ",", "by", "self", "filter", "dn",
        "group", "dnattr", "groupattr", "guidattr", '"', "cn=x,dc=y", "cn", "(objectclass=*)", "browse",
        "read", "noadd", "none", "BindMode", "added_object_constraint", "DenyGroupOverride", "\\", "\n ",
    ]
)  # fmt: skip
_NEAR_MISSES = st.lists(_WORDS, max_size=25).map(" ".join)

_SUBJECTS = st.sampled_from(
    [
        "*",
        "self",
        'dn="uid=a,dc=x"',
        'dn="*,ou=p,dc=x"',
        'group="cn=g,dc=x"',
        "dnattr=(manager)",
        "groupattr=(owner)",
    ]
)


@st.composite
def directives(draw: st.DrawFn) -> str:
    """Valid OID directives: any target, any subjects, any mix of grants and denials."""
    entry = draw(st.booleans())
    rights = ENTRY_RIGHTS if entry else ATTRIBUTE_RIGHTS
    names = draw(st.sampled_from([["*"], ["cn"], ["cn", "sn"], ["mail", "cn", "sn"]]))
    target = "entry" if entry else f"attr=({','.join(names)})"
    if draw(st.booleans()):
        target += " filter=(objectclass=person)"
    clauses = []
    for _ in range(draw(st.integers(1, 4))):
        chosen = draw(st.lists(st.sampled_from(rights), min_size=1, unique=True))
        tokens = [right if draw(st.booleans()) else f"no{right}" for right in chosen]
        clauses.append(f"by {draw(_SUBJECTS)} ({', '.join(tokens)})")
    return f"access to {target} {' '.join(clauses)}"  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=120), _NEAR_MISSES))
def test_any_text_gives_a_translation_or_an_item_naming_it(text: str) -> None:
    done = translate_acl(text, entry_dn=DN, kind=AclKind.PRESCRIPTIVE)
    parsed = parse_acl(text)
    if parsed.is_failure:
        assert done.acis == ()
        [item] = done.items
        assert item.severity == Severity.ERROR
        assert item.text == text
        assert repr(text) in item.message
    else:
        assert done.acis or done.items


@settings(max_examples=300, deadline=None)
@given(text=directives(), kind=st.sampled_from(list(AclKind)))
def test_valid_directives_give_oud_acis_and_never_a_deny_for_anyone(
    text: str, kind: AclKind, oud_syntax: Callable[[str], list[str]]
) -> None:
    done = translate_acl(text, entry_dn=DN, kind=kind)
    errors = {item.code for item in done.items if item.severity == Severity.ERROR}
    assert errors <= {ACL_ADD_FILTER}, done.items  # the one documented refusal for valid text
    for value in done.acis:
        assert oud_syntax(value) == [], value
        assert not (" deny (" in value and value.endswith('userdn="ldap:///anyone";)')), value
        if kind == AclKind.ENTRY_LEVEL:
            assert '(targetscope="base")' in value or (
                '(targetscope="onelevel")(' in value and "(add)" in value
            )


_DNS = st.sampled_from(["dc=x", "ou=p,dc=x", "OU=P, DC=X", "uid=a,ou=p,dc=x", "o=other", ""])


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.tuples(_DNS, st.sampled_from(list(AclKind)), st.one_of(directives(), st.text(max_size=40))),
        max_size=6,
    )
)
def test_translating_a_whole_directory_never_raises_and_keeps_one_translation_per_value(
    values: list[tuple[str, AclKind, str]],
) -> None:
    done = translate_entries(values)
    assert [(one.entry_dn, one.attribute, one.text) for one in done] == values
    for translation in done:
        assert all(item.text == translation.text for item in translation.items)
