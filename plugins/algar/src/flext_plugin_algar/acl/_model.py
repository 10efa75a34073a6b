"""What an OID access directive is, once parsed, and what translating it reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ATTRIBUTE_RIGHTS",
    "ENTRY_RIGHTS",
    "AclKind",
    "AclTranslation",
    "OidAcl",
    "OidClause",
    "OidSubject",
    "OidTarget",
    "ReportItem",
    "Severity",
    "SubjectKind",
]

ENTRY_RIGHTS: Final = ("browse", "add", "delete", "proxy")
"""The rights of an ``access to entry`` directive, in OID's order."""
ATTRIBUTE_RIGHTS: Final = ("read", "search", "write", "selfwrite", "compare")
"""The rights of an ``access to attr=...`` directive, in OID's order."""


class AclKind(StrEnum):
    """Which OID attribute held the directive: it decides the OUD scope."""

    PRESCRIPTIVE = "orclaci"
    """``orclaci``: the entry and its whole subtree (an access control policy point)."""
    ENTRY_LEVEL = "orclentrylevelaci"
    """``orclentrylevelaci``: the entry alone."""


class Severity(StrEnum):
    """How much a report item matters."""

    INFO = "info"
    """Translated; the item says how (an approximation documented in docs/algar.md)."""
    WARNING = "warning"
    """Translated, but OUD will decide differently from OID in a case the item names."""
    ERROR = "error"
    """Not translated (all or part): someone has to write the OUD rule by hand."""


class SubjectKind(StrEnum):
    """Who a ``by`` clause is about."""

    ANYONE = "*"
    """``*``: every client, bound or not."""
    SELF = "self"
    """``self``: the entry's own DN, bound."""
    DN = "dn"
    """``dn="DN"`` or ``dn="*,DN"`` (every DN under DN)."""
    GROUP = "group"
    """``group="DN"``: the members of a group."""
    DNATTR = "dnattr"
    """``dnattr=(attr)``: the DNs the target entry names in ``attr``."""
    GROUPATTR = "groupattr"
    """``groupattr=(attr)``: the members of the groups the target entry names in ``attr``."""
    GUIDATTR = "guidattr"
    """``guidattr=(attr)``: the entry whose orclguid the target entry holds in ``attr``."""
    SUPERUSER = "superuser"
    """``SuperUser``: OID's super user (OUD's root users are not subject to ACIs)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OidSubject(_Frozen):
    """The subject of one ``by`` clause, with its qualifiers."""

    kind: SubjectKind
    """Which kind of subject."""
    value: str = ""
    """The DN (``dn``, ``group``) or attribute name (``dnattr``, ``groupattr``, ``guidattr``); else empty."""
    subtree: bool = False
    """For ``dn="*,DN"``: every entry strictly under ``value``."""
    bind_mode: str = ""
    """The ``BindMode=...`` qualifier as written, or empty."""
    bind_ip_filter: str = ""
    """The ``BindIPFilter=(...)`` qualifier as written, or empty."""
    added_object_constraint: str = ""
    """The ``added_object_constraint=(filter)`` filter, or empty."""
    text: str = ""
    """The subject as written (for reports)."""


class OidClause(_Frozen):
    """``by <subject> (<rights>)``: what one subject is granted and denied."""

    subject: OidSubject
    """Who."""
    grants: tuple[str, ...]
    """Rights granted, lower case, in the order written (``browse``, ``read``, ...)."""
    denials: tuple[str, ...]
    """Rights denied (``noX`` and what ``none`` denies), without the ``no`` prefix."""


class OidTarget(_Frozen):
    """``entry``, or ``attr=(...)`` / ``attr!=(...)``."""

    kind: Literal["entry", "attr"]
    """Entry rights (browse, add, delete, proxy) or attribute rights (read, search, ...)."""
    attributes: tuple[str, ...] = ()
    """The attributes named (``attr``); empty with ``*`` and for ``entry``."""
    negated: bool = False
    """``attr!=(...)``: every attribute but those named."""

    @property
    def all_attributes(self) -> bool:
        """``attr=(*)``."""
        return self.kind == "attr" and not self.attributes


class OidAcl(_Frozen):
    """One parsed ``orclaci`` / ``orclentrylevelaci`` value."""

    target: OidTarget
    """What the directive is about."""
    filter: str = ""
    """``filter=(...)``: the entries it applies to, or empty for all."""
    clauses: tuple[OidClause, ...]
    """The ``by`` clauses, in the order written (OID resolves each right at the first that names it)."""
    options: tuple[str, ...] = ()
    """``DenyGroupOverride`` and ``AppendToAll``, as written."""


class ReportItem(_Frozen):
    """One thing the translator wants a person to know, naming the entry and the original text."""

    severity: Severity
    """How much it matters."""
    code: str
    """A stable code (``ACL_SYNTAX``, ``ACL_UNKNOWN_RIGHT``, ... in ``flext_plugin_algar.acl.codes``)."""
    message: str
    """What happened and what to do."""
    entry_dn: str
    """The entry that holds the OID directive."""
    attribute: AclKind
    """``orclaci`` or ``orclentrylevelaci``."""
    text: str
    """The original OID text."""
    clause: str = ""
    """The ``by`` subject concerned, as written, when the item is about one clause."""


class AclTranslation(_Frozen):
    """What one OID directive became: OUD ``aci`` values for the same entry, and the report."""

    entry_dn: str
    """The entry: the ``aci`` values go on it, as the OID directive was on it."""
    attribute: AclKind
    """Where the OID directive was."""
    text: str
    """The original OID text."""
    acis: tuple[str, ...]
    """The OUD ``aci`` values, in a stable order; empty when nothing could be translated."""
    items: tuple[ReportItem, ...] = ()
    """What was approximated, what OUD decides differently, what was left for a person."""

    @property
    def exact(self) -> bool:
        """No item above ``info``: OUD allows what OID allowed, nothing more, nothing less."""
        return all(item.severity == Severity.INFO for item in self.items)

    @property
    def failed(self) -> bool:
        """An ``error`` item: some or all of the directive was not translated."""
        return any(item.severity == Severity.ERROR for item in self.items)
