"""OID access directives to OUD ``aci`` values, with a report of what is not exact.

The mapping, construct by construct, and why, is in docs/algar.md ("ACL
translation"). The two evaluation models, in short: OID resolves each right
at the first place that mentions it for the user (the clauses of a directive
in order, then the entry-level ACI, then the nearest policy point, then each
superior one); OUD allows a right when some ACI allows it and no ACI in scope
denies it. So, within a directive, a later clause's ``deny`` excludes the
subjects an earlier clause granted the right to (an OUD bind rule
``(B and not (E1 or E2))``), a right an earlier ``by *`` already decided is
never translated again, and a denial for ``*`` writes nothing (OUD grants
nothing by default; a deny for anyone would be a deny that wins everywhere
below, over every nearer grant). Across policy points, ``translate_entries``
reports where the two models still differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from flext_plugin_algar.acl._model import (
    AclKind,
    AclTranslation,
    OidAcl,
    OidClause,
    OidSubject,
    ReportItem,
    Severity,
    SubjectKind,
)
from flext_plugin_algar.acl._parser import parse_acl
from flext_plugin_algar.acl.codes import (
    ACL_ADD_FILTER,
    ACL_APPROXIMATE,
    ACL_DENY_OVERRIDES_NEARER_GRANT,
    ACL_INHERITED_GRANT,
    ACL_MANUAL_REVIEW,
    ACL_OUD_DEFAULT_DENY,
    ACL_SYNTAX,
    ACL_UNREACHABLE,
)

__all__ = ["bind_rule", "translate_acl", "translate_entries"]

_ANYONE: Final = 'userdn="ldap:///anyone"'
_BROWSE_ATTRIBUTES: Final = "objectClass"


@dataclass
class _Context:
    """One directive being translated: where it is, and what it has produced so far."""

    acl: OidAcl
    entry_dn: str
    kind: AclKind
    text: str
    index: int
    acis: list[str] = field(default_factory=list)
    items: list[ReportItem] = field(default_factory=list)

    def report(self, severity: Severity, code: str, message: str, clause: str = "") -> None:
        self.items.append(
            ReportItem(
                severity=severity,
                code=code,
                message=message,
                entry_dn=self.entry_dn,
                attribute=self.kind,
                text=self.text,
                clause=clause,
            )
        )


def translate_acl(
    text: str, *, entry_dn: str, kind: AclKind = AclKind.PRESCRIPTIVE, index: int = 0
) -> AclTranslation:
    """Translate one ``orclaci`` (or ``orclentrylevelaci``) value held by ``entry_dn``.

    ``index`` numbers the value among the entry's values; it goes into the ACI
    names (``acl "algar orclaci 2.1 allow"``: value 2, clause 1) so that each
    OUD ACI can be traced back. Never raises on bad text: a directive that does
    not parse gives no ACI and one ``error`` item naming the text.
    """
    return _translate_text(text, entry_dn, kind, index)[0]


def _translate_text(
    text: str, entry_dn: str, kind: AclKind, index: int
) -> tuple[AclTranslation, OidAcl | None]:
    """``translate_acl``, with the parsed directive (None when the text does not parse)."""
    parsed = parse_acl(text)
    if parsed.is_failure:
        item = ReportItem(
            severity=Severity.ERROR,
            code=str(parsed.error_data.get("reason", ACL_SYNTAX)),
            message=f"{parsed.error}; nothing was translated: {text!r}",
            entry_dn=entry_dn,
            attribute=kind,
            text=text,
        )
        return AclTranslation(entry_dn=entry_dn, attribute=kind, text=text, acis=(), items=(item,)), None
    context = _Context(parsed.value, entry_dn, kind, text, index)
    _translate(context)
    translation = AclTranslation(
        entry_dn=entry_dn, attribute=kind, text=text, acis=tuple(context.acis), items=tuple(context.items)
    )
    return translation, parsed.value


def _dn(value: str) -> str:
    """``value`` with the blanks around its RDN separators removed (OID exports often have them)."""
    return ",".join(part.strip() for part in re.split(r"(?<!\\),", value))


def bind_rule(subject: OidSubject) -> str | None:
    """The OUD bind rule for an OID subject, or None for the subjects OUD cannot express."""
    subject = subject.model_copy(update={"value": _dn(subject.value)})
    match subject.kind:
        case SubjectKind.ANYONE:
            return _ANYONE
        case SubjectKind.SELF:
            return 'userdn="ldap:///self"'
        case SubjectKind.DN if subject.subtree:
            # OID's "*,DN" is every DN strictly under DN: the subtree, less DN itself.
            return f'(userdn="ldap:///{subject.value}??sub?(objectClass=*)" and not userdn="ldap:///{subject.value}")'
        case SubjectKind.DN:
            return f'userdn="ldap:///{subject.value}"'
        case SubjectKind.GROUP:
            return f'groupdn="ldap:///{subject.value}"'
        case SubjectKind.DNATTR:
            return f'userattr="{subject.value}#USERDN"'
        case SubjectKind.GROUPATTR:
            return f'userattr="{subject.value}#GROUPDN"'
        case _:
            return None


def _translate(context: _Context) -> None:
    if '"' in context.acl.filter:
        context.report(
            Severity.ERROR,
            ACL_MANUAL_REVIEW,
            f"the filter {context.acl.filter} holds a double quote, which an ACI cannot quote; "
            "nothing was translated",
        )
        return
    for option in context.acl.options:
        context.report(
            Severity.WARNING,
            ACL_MANUAL_REVIEW,
            f"{option} has no OUD equivalent and was ignored; check the translated rules by hand",
        )
    decided: set[str] = set()  # rights an earlier "by *" resolved: later clauses never see them
    granted_to: dict[str, list[str]] = {}  # right -> bind rules of earlier clauses that granted it
    for number, clause in enumerate(context.acl.clauses):
        _clause(context, number, clause, decided, granted_to)


def _clause(
    context: _Context, number: int, clause: OidClause, decided: set[str], granted_to: dict[str, list[str]]
) -> None:
    subject = clause.subject
    unreachable = [right for right in (*clause.grants, *clause.denials) if right in decided]
    if unreachable:
        context.report(
            Severity.INFO,
            ACL_UNREACHABLE,
            f"{', '.join(unreachable)}: an earlier 'by *' clause already decides "
            "for everyone, so OID never applies this clause to them; not translated",
            subject.text,
        )
    grants = [right for right in clause.grants if right not in decided]
    denials = [right for right in clause.denials if right not in decided]
    # A clause OID never reaches translates to nothing, so there is nothing to judge (no error for it).
    rule = _usable_rule(context, clause, denials) if grants or denials else None
    if rule is not None:
        _allow(context, number, clause, grants, rule)
        _deny(context, number, clause, denials, rule, granted_to)
        for right in grants:
            granted_to.setdefault(right, []).append(rule)
    if _everyone(subject):
        decided.update(grants, denials)


def _everyone(subject: OidSubject) -> bool:
    """``*`` without a qualifier: the clause decides its rights for every client."""
    return subject.kind == SubjectKind.ANYONE and not (
        subject.bind_mode or subject.bind_ip_filter or subject.added_object_constraint
    )


def _usable_rule(context: _Context, clause: OidClause, denials: Sequence[str]) -> str | None:
    subject = clause.subject
    qualifiers = [
        name
        for name, value in (("BindMode", subject.bind_mode), ("BindIPFilter", subject.bind_ip_filter))
        if value
    ]
    if qualifiers:
        context.report(
            Severity.ERROR,
            ACL_MANUAL_REVIEW,
            f"{' and '.join(qualifiers)} (authentication method / client address) is not translated; "
            "the clause was left out: write its OUD rule by hand (authmethod=, ssf=, ip=)",
            subject.text,
        )
        return None
    if '"' in subject.value or '"' in subject.added_object_constraint:
        context.report(
            Severity.ERROR,
            ACL_MANUAL_REVIEW,
            "the subject holds a double quote, which an ACI cannot quote; the clause was left out",
            subject.text,
        )
        return None
    rule = bind_rule(subject)
    if rule is not None:
        if subject.subtree:
            context.report(
                Severity.INFO,
                ACL_APPROXIMATE,
                f'dn="*,{subject.value}" became an LDAP URL over the subtree, excluding the base',
                subject.text,
            )
        return rule
    if subject.kind == SubjectKind.SUPERUSER and not denials:
        context.report(
            Severity.INFO,
            ACL_MANUAL_REVIEW,
            "SuperUser: OUD's root users are not subject to ACIs, so the grant needs no ACI",
            subject.text,
        )
        return None
    reason = (
        "guidattr names users by orclguid, which OUD bind rules cannot follow"
        if subject.kind == SubjectKind.GUIDATTR
        else "OUD cannot deny anything to its root users"
    )
    context.report(
        Severity.ERROR,
        ACL_MANUAL_REVIEW,
        f"{reason}; the clause was left out: review it by hand (for guidattr, usually a userattr "
        "on the DN attribute that orclguid stands for)",
        subject.text,
    )
    return None


def _targets(
    context: _Context, *, attributes: str | None = None, for_add: bool = False, new_entry_filter: str = ""
) -> str:
    """The target part of an ACI: targetattr, targetfilter, targetscope."""
    acl = context.acl
    if attributes is not None:
        parts = [f'(targetattr="{attributes}")']
    elif acl.target.kind == "entry" or acl.target.all_attributes:
        parts = ['(targetattr="*")']
    else:
        operator = "!=" if acl.target.negated else "="
        parts = [f'(targetattr{operator}"{" || ".join(acl.target.attributes)}")']
    if acl.filter and not for_add:
        parts.append(f'(targetfilter="{acl.filter}")')
    if new_entry_filter:
        parts.append(f'(targetfilter="{new_entry_filter}")')
    if context.kind == AclKind.ENTRY_LEVEL:
        # An add is checked on the new entry, a child: the entry itself ("base") is never it.
        parts.append('(targetscope="onelevel")' if for_add else '(targetscope="base")')
    return "".join(parts)


def _aci(context: _Context, targets: str, number: int, action: str, rights: Sequence[str], rule: str) -> str:
    name = f"algar {context.kind.value} {context.index}.{number} {action}"
    aci = f'{targets}(version 3.0; acl "{name}"; {action} ({",".join(rights)}) {rule};)'
    context.acis.append(aci)
    return aci


def _allow(context: _Context, number: int, clause: OidClause, grants: Sequence[str], rule: str) -> None:
    if not grants:
        return
    if context.acl.target.kind == "attr":
        _aci(context, _targets(context), number, "allow", grants, rule)
        return
    if "browse" in grants:
        if not any(item.code == ACL_APPROXIMATE and not item.clause for item in context.items):
            context.report(
                Severity.INFO,
                ACL_APPROXIMATE,
                "browse (see the entry) became read and search of objectClass: "
                "OUD shows an entry to whoever may read one of its attributes",
            )
        browse = _targets(context, attributes=_BROWSE_ATTRIBUTES)
        _aci(context, browse, number, "allow", ["read", "search"], rule)
    plain = _targets(context)
    others = [right for right in grants if right in ("delete", "proxy")]
    add = _add_targets(context, clause, deny=False) if "add" in grants else None
    if add == plain:
        others = [right for right in grants if right in ("add", "delete", "proxy")]
        add = None
    if others:
        _aci(context, plain, number, "allow", others, rule)
    if add is not None:
        _aci(context, add, number, "allow", ["add"], rule)


def _add_targets(context: _Context, clause: OidClause, *, deny: bool) -> str | None:
    """The targets of an ``add`` grant or denial, or None when it cannot be translated (reported).

    The same for both: a deny written without the directive's filter, or
    without the subject's constraint, would reach adds the OID denial never
    covered, and a translated deny must never reach further than OID's.
    """
    if context.acl.filter:
        what = "noadd" if deny else "add"
        left_out = "no deny was written" if deny else "the add right was left out"
        context.report(
            Severity.ERROR,
            ACL_ADD_FILTER,
            f"{what} under filter={context.acl.filter}: OID tests the filter on the parent entry, "
            f"OUD tests an ACI's filter on the new entry; {left_out}",
            clause.subject.text,
        )
        return None
    # Exact: OUD evaluates an add ACI's targetfilter on the entry being added.
    return _targets(context, for_add=True, new_entry_filter=clause.subject.added_object_constraint)


def _deny(
    context: _Context,
    number: int,
    clause: OidClause,
    denials: Sequence[str],
    rule: str,
    granted_to: dict[str, list[str]],
) -> None:
    if not denials:
        return
    if clause.subject.kind == SubjectKind.ANYONE:
        context.report(
            Severity.INFO,
            ACL_OUD_DEFAULT_DENY,
            f"{', '.join(denials)} denied to everyone else: OUD allows nothing it is not told to, "
            "so no deny was written (a deny for anyone would win over every nearer grant)",
            clause.subject.text,
        )
        return
    groups: dict[tuple[str, ...], list[str]] = {}
    for right in denials:
        groups.setdefault(tuple(dict.fromkeys(granted_to.get(right, ()))), []).append(right)
    for earlier, rights in groups.items():
        excluded = f"({rule} and not ({' or '.join(earlier)}))" if earlier else rule
        _deny_rights(context, number, clause, rights, excluded)


def _deny_rights(context: _Context, number: int, clause: OidClause, rights: Sequence[str], rule: str) -> None:
    if context.acl.target.kind == "attr":
        _aci(context, _targets(context), number, "deny", rights, rule)
        return
    if "browse" in rights:
        # Without browse OID hides the entry, and with it every attribute.
        _aci(context, _targets(context), number, "deny", ["read", "search", "compare"], rule)
    others = [right for right in rights if right in ("delete", "proxy")]
    if others:
        _aci(context, _targets(context), number, "deny", others, rule)
    add = _add_targets(context, clause, deny=True) if "add" in rights else None
    if add is not None:
        _aci(context, add, number, "deny", ["add"], rule)


# Across policy points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Effect:
    right: str
    attributes: frozenset[str] | None  # None: every attribute (or an entry right)
    anyone: bool
    grant: bool


def translate_entries(values: Iterable[tuple[str, AclKind, str]]) -> tuple[AclTranslation, ...]:
    """Translate every ``(entry DN, attribute, text)`` of a directory, and compare the policy points.

    Each value is translated as ``translate_acl`` does (numbered per entry and
    attribute). Then every pair of a nearer and a farther point (an entry-level
    ACI is nearer than its entry's ``orclaci``; a point below another is nearer)
    is checked for the two cases where OUD decides differently from OID:
    ``ACL_INHERITED_GRANT`` (OID's nearer ``by *`` denial cut off a farther
    grant that OUD still applies) and ``ACL_DENY_OVERRIDES_NEARER_GRANT`` (a
    farther OUD deny wins over a nearer grant). Filters are not compared, so a
    warning may be about entries that no filter selects: it names both texts.

    Each value is parsed once and its DN normalised once; a value is compared
    only with the ``orclaci`` values on its own DN's chain of superiors (found
    by DN), never with the whole directory.
    """
    counters: dict[tuple[str, AclKind], int] = {}
    translated: list[AclTranslation] = []
    points: list[_Point | None] = []  # per value: its normal DN and effects, None when it did not parse
    prescriptive: dict[str, list[tuple[int, _Point]]] = {}  # normal DN -> its parsed orclaci values, in order
    for entry_dn, kind, text in values:
        dn = _normal(entry_dn)
        index = counters.get((dn, kind), 0)
        counters[dn, kind] = index + 1
        translation, acl = _translate_text(text, entry_dn, kind, index)
        point = None if acl is None else _Point(dn, tuple(_effects(acl)))
        if point is not None and kind == AclKind.PRESCRIPTIVE:
            prescriptive.setdefault(dn, []).append((len(translated), point))
        translated.append(translation)
        points.append(point)
    done = []
    for near, point in zip(translated, points, strict=True):
        extra: list[ReportItem] = []
        if point is not None:
            farther = sorted(
                (
                    found
                    for far_dn in _farther_dns(point.dn, near.attribute)
                    for found in prescriptive.get(far_dn, ())
                ),
                key=lambda found: found[0],  # in the order of the values, as the report always was
            )
            for position, far_point in farther:
                extra.extend(_conflicts(near, point.effects, translated[position], far_point.effects))
        done.append(near.model_copy(update={"items": (*near.items, *extra)}) if extra else near)
    return tuple(done)


@dataclass(frozen=True)
class _Point:
    dn: str  # normal form
    effects: tuple[_Effect, ...]


def _normal(dn: str) -> str:
    return ",".join(part.strip().lower() for part in dn.split(","))


def _farther_dns(dn: str, kind: AclKind) -> Iterator[str]:
    """The normal DNs whose ``orclaci`` OID consults after a value of ``kind`` on ``dn`` (nearest first).

    An entry-level value is nearer than its own entry's ``orclaci``; then come
    the superiors, every suffix of the DN after a comma. (An entry-level value
    is never farther than anything: it covers its entry only.)
    """
    if kind == AclKind.ENTRY_LEVEL:
        yield dn
    comma = dn.find(",")
    while comma != -1:
        yield dn[comma + 1 :]
        comma = dn.find(",", comma + 1)


def _effects(acl: OidAcl) -> list[_Effect]:
    attributes = None
    if acl.target.kind == "attr" and acl.target.attributes and not acl.target.negated:
        attributes = frozenset(name.lower() for name in acl.target.attributes)
    # Under filter= neither an add grant nor a named add denial is written (ACL_ADD_FILTER): no OUD
    # ACI of this value takes part for add. A denial of add for "*" still stops OID here.
    unwritten = {"add"} if acl.filter and acl.target.kind == "entry" else set()
    effects = []
    decided: set[str] = set()
    for clause in acl.clauses:
        anyone = _everyone(clause.subject)
        for right in clause.grants:
            if right not in decided and right not in unwritten:
                effects.append(_Effect(right, attributes, anyone, grant=True))
        for right in clause.denials:
            if right not in decided and (anyone or right not in unwritten):
                effects.append(_Effect(right, attributes, anyone, grant=False))
        if anyone:
            decided.update(clause.grants, clause.denials)
    return effects


def _overlap(one: frozenset[str] | None, other: frozenset[str] | None) -> bool:
    return one is None or other is None or bool(one & other)


def _conflicts(
    near: AclTranslation, near_effects: Sequence[_Effect], far: AclTranslation, far_effects: Sequence[_Effect]
) -> list[ReportItem]:
    """One warning per kind of conflict between a nearer and a farther directive, naming the rights."""
    rights: dict[str, list[str]] = {ACL_INHERITED_GRANT: [], ACL_DENY_OVERRIDES_NEARER_GRANT: []}
    for mine in near_effects:
        for theirs in far_effects:
            if mine.right != theirs.right or not _overlap(mine.attributes, theirs.attributes):
                continue
            if not mine.grant and mine.anyone and theirs.grant:
                rights[ACL_INHERITED_GRANT].append(mine.right)
            elif mine.grant and not theirs.grant and not theirs.anyone:
                rights[ACL_DENY_OVERRIDES_NEARER_GRANT].append(mine.right)
    where = f"{far.entry_dn} ({far.attribute})"
    messages = {
        ACL_INHERITED_GRANT: "OID stops here the {rights} right(s) that {where} grants; OUD keeps applying "
        "that grant below {far}: exclude this subtree from it (a target != on the farther ACI) "
        "or deny it here. Farther rule: {text!r}",
        ACL_DENY_OVERRIDES_NEARER_GRANT: "OID lets this nearer grant of {rights} win, but the OUD deny "
        "written for {where} wins wherever it applies. Farther rule: {text!r}",
    }
    return [
        ReportItem(
            severity=Severity.WARNING,
            code=code,
            message=messages[code].format(
                rights=", ".join(dict.fromkeys(found)), where=where, far=far.entry_dn, text=far.text
            ),
            entry_dn=near.entry_dn,
            attribute=near.attribute,
            text=near.text,
        )
        for code, found in rights.items()
        if found
    ]
