"""The codes of the ACL translator's report items (``ReportItem.code``), one constant each.

They name what a report item is about, for a person reading a migration
report or a program filtering one; they are not error codes of failed
results (``parse_acl`` fails with the kernel's ``VALIDATION_ERROR`` and puts
one of these in ``error_data["reason"]``). docs/algar.md lists them.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACL_ADD_FILTER",
    "ACL_APPROXIMATE",
    "ACL_DENY_OVERRIDES_NEARER_GRANT",
    "ACL_INHERITED_GRANT",
    "ACL_MANUAL_REVIEW",
    "ACL_OUD_DEFAULT_DENY",
    "ACL_SYNTAX",
    "ACL_UNKNOWN_RIGHT",
    "ACL_UNREACHABLE",
]

ACL_SYNTAX: Final = "ACL_SYNTAX"
"""The text is not an OID access directive (error: nothing translated)."""
ACL_UNKNOWN_RIGHT: Final = "ACL_UNKNOWN_RIGHT"
"""A right token OID does not define, or one that does not apply to the target (error: nothing translated)."""
ACL_MANUAL_REVIEW: Final = "ACL_MANUAL_REVIEW"
"""A construct OUD cannot express (``guidattr``, ``BindMode``, ...): left out (error) or ignored (warning)."""
ACL_ADD_FILTER: Final = "ACL_ADD_FILTER"
"""``add`` or ``noadd`` under ``filter=``: OID tests the parent, OUD the new entry; left out (error).

Neither an allow nor a deny of add is written for the clause: a deny without
the filter would reach adds the OID denial never covered.
"""
ACL_APPROXIMATE: Final = "ACL_APPROXIMATE"
"""Translated by a documented approximation (``browse``, ``dn="*,DN"``) (info)."""
ACL_OUD_DEFAULT_DENY: Final = "ACL_OUD_DEFAULT_DENY"
"""A denial for ``*``: OUD allows nothing it is not told to, so no deny was written (info)."""
ACL_UNREACHABLE: Final = "ACL_UNREACHABLE"
"""A right an earlier ``by *`` clause already decided: OID never reaches this clause for it (info)."""
ACL_INHERITED_GRANT: Final = "ACL_INHERITED_GRANT"
"""OID cut off, at a nearer point, a grant OUD still applies there (warning, from ``translate_entries``)."""
ACL_DENY_OVERRIDES_NEARER_GRANT: Final = "ACL_DENY_OVERRIDES_NEARER_GRANT"
"""An OUD deny from a farther point wins over a grant OID let the nearer point make (warning)."""
