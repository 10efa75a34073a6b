"""The ACL translator: OID ``orclaci`` / ``orclentrylevelaci`` values to OUD ``aci`` values.

- ``parse_acl(text)``: the parsed directive (``OidAcl``), or a failed ``FlextResult``;
- ``translate_acl(text, entry_dn=..., kind=...)``: an ``AclTranslation`` (the
  ``aci`` values and the ``ReportItem`` values), never an exception;
- ``translate_entries(values)``: every directive of a directory, plus the
  warnings that only comparing policy points can give;
- ``OUD_DEFAULT_GLOBAL_ACIS``: OUD's permissive defaults, and which must go.

The mapping is documented in docs/algar.md ("ACL translation").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.lazy import lazy_exports, locations

if TYPE_CHECKING:
    from flext_plugin_algar.acl._globals import OUD_DEFAULT_GLOBAL_ACIS, GlobalAci, global_aci_removals
    from flext_plugin_algar.acl._model import (
        ATTRIBUTE_RIGHTS,
        ENTRY_RIGHTS,
        AclKind,
        AclTranslation,
        OidAcl,
        OidClause,
        OidSubject,
        OidTarget,
        ReportItem,
        Severity,
        SubjectKind,
    )
    from flext_plugin_algar.acl._parser import parse_acl
    from flext_plugin_algar.acl._translate import bind_rule, translate_acl, translate_entries

__all__ = [
    "ATTRIBUTE_RIGHTS",
    "ENTRY_RIGHTS",
    "OUD_DEFAULT_GLOBAL_ACIS",
    "AclKind",
    "AclTranslation",
    "GlobalAci",
    "OidAcl",
    "OidClause",
    "OidSubject",
    "OidTarget",
    "ReportItem",
    "Severity",
    "SubjectKind",
    "bind_rule",
    "global_aci_removals",
    "parse_acl",
    "translate_acl",
    "translate_entries",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    locations(
        {
            "flext_plugin_algar.acl._globals": "OUD_DEFAULT_GLOBAL_ACIS GlobalAci global_aci_removals",
            "flext_plugin_algar.acl._model": (
                "ATTRIBUTE_RIGHTS ENTRY_RIGHTS AclKind AclTranslation OidAcl OidClause OidSubject "
                "OidTarget ReportItem Severity SubjectKind"
            ),
            "flext_plugin_algar.acl._parser": "parse_acl",
            "flext_plugin_algar.acl._translate": "bind_rule translate_acl translate_entries",
        }
    ),
)
