"""Whatever the text, the translator answers (OUD-syntax ACIs, items naming the text) and never raises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flext_plugin_algar.acl import (
    ATTRIBUTE_RIGHTS,
    ENTRY_RIGHTS,
    AclKind,
    AclTranslation,
    Severity,
    parse_acl,
    translate_acl,
    translate_entries,
)
from flext_plugin_algar.acl import _translate as translate
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


# translate_entries compares each value with the points on its own DN's chain of superiors only. The
# reference below is the former comparison of every pair of values (quadratic): same output required.


def _normal(dn: str) -> str:
    return ",".join(part.strip().lower() for part in dn.split(","))


def _nearer(near: AclTranslation, far: AclTranslation) -> bool:
    near_dn, far_dn = _normal(near.entry_dn), _normal(far.entry_dn)
    if far.attribute == AclKind.ENTRY_LEVEL:
        return False
    if near_dn == far_dn:
        return near.attribute == AclKind.ENTRY_LEVEL
    return near_dn.endswith("," + far_dn)


def _every_pair(values: list[tuple[str, AclKind, str]]) -> tuple[AclTranslation, ...]:
    counters: dict[tuple[str, AclKind], int] = {}
    rows = []
    for entry_dn, kind, text in values:
        index = counters.get((_normal(entry_dn), kind), 0)
        counters[_normal(entry_dn), kind] = index + 1
        parsed = parse_acl(text)
        translation = translate_acl(text, entry_dn=entry_dn, kind=kind, index=index)
        rows.append((translation, translate._effects(parsed.value) if parsed.is_success else None))
    done = []
    for near, near_effects in rows:
        extra = [
            item
            for far, far_effects in rows
            if near_effects is not None and far_effects is not None and _nearer(near, far)
            for item in translate._conflicts(near, near_effects, far, far_effects)
        ]
        done.append(near.model_copy(update={"items": (*near.items, *extra)}))
    return tuple(done)


_TREE_DNS = st.sampled_from(
    [
        "",
        "dc=x",
        "DC=X",
        "ou=p,dc=x",
        "OU=P, DC=X",
        "uid=a,ou=p,dc=x",
        "uid=a, ou=P,dc=x",
        "ou=q,dc=x",
        "o=other",
    ]
)
_CONFLICTING = st.sampled_from(
    [
        "access to attr=(cn) by * (read)",
        "access to attr=(cn,sn) by * (noread)",
        'access to attr=(cn) by dn="uid=e,dc=x" (nowrite)',
        "access to attr=(*) by self (write)",
        "access to entry by * (browse)",
        "access to entry by * (nobrowse, noadd)",
        'access to entry by group="cn=g,dc=x" (noadd) by self (add)',
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            _TREE_DNS,
            st.sampled_from(list(AclKind)),
            st.one_of(_CONFLICTING, directives(), st.text(max_size=20)),
        ),
        max_size=12,
    )
)
def test_comparing_along_the_chain_of_superiors_gives_what_comparing_every_pair_gave(
    values: list[tuple[str, AclKind, str]],
) -> None:
    assert translate_entries(values) == _every_pair(values)


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of the translator module's real function ``name`` (it still does the work)."""
    real = getattr(translate, name)
    calls = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(translate, name, counted)
    return calls


def test_a_directory_is_parsed_once_and_each_value_meets_only_its_superiors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1 root point, 12 organisational units, 25 people in each (every other with an entry-level value,
    # every fifth with an orclaci of its own), and a second tree: 239 values.
    values: list[tuple[str, AclKind, str]] = [
        ("dc=x", AclKind.PRESCRIPTIVE, "access to attr=(cn) by * (read)")
    ]
    for unit in range(12):
        values.append((f"ou=u{unit}, dc=x", AclKind.PRESCRIPTIVE, "access to attr=(cn,sn) by * (noread)"))
        for person in range(25):
            dn = f"uid=p{person},ou=u{unit},dc=x"
            if person % 2 == 0:
                values.append((dn, AclKind.ENTRY_LEVEL, "access to attr=(cn) by self (write)"))
            if person % 5 == 0:
                values.append((dn, AclKind.PRESCRIPTIVE, 'access to attr=(cn) by dn="uid=e,dc=x" (nowrite)'))
    values += [("o=other", AclKind.PRESCRIPTIVE, "access to entry by * (browse)")] * 10
    pairs = sum(
        1 for near in translate_entries(values) for far in translate_entries(values) if _nearer(near, far)
    )
    parses = _counting(monkeypatch, "parse_acl")
    normals = _counting(monkeypatch, "_normal")
    effects = _counting(monkeypatch, "_effects")
    comparisons = _counting(monkeypatch, "_conflicts")
    done = translate_entries(values)
    assert len(done) == len(values)
    assert parses == [len(values)]
    assert normals == [len(values)]
    assert effects == [len(values)]
    assert comparisons == [pairs]  # the pairs on a chain of superiors, not every pair of values
    assert (len(values), pairs) == (239, 480)  # 57,121 ordered pairs of values in all
