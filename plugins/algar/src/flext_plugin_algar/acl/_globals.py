"""OUD's default global ACIs, and which of them a migration from OID must take out.

OUD ships global ACIs (``ds-cfg-global-aci`` of the access control handler)
that apply to every entry of every suffix. Three of them grant data access
that OID gave no one unless a directive said so: anonymous read of every
attribute but the passwords, write of one's own entry, read of one's own
passwords. Left in place they add to every translated rule (OUD allows a
right when any ACI allows it), so a rule that OID limited to a group would be
open to anyone for reading. The others expose the root DSE, the schema and
operational attributes, controls and extended operations, as OID does too;
they stay.

The texts are those of OUD 11g/12c's ``config.ldif``; compare them with the
target's own list (``dsconfig get-access-control-handler-prop --property
global-aci``) before removing anything.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

__all__ = ["OUD_DEFAULT_GLOBAL_ACIS", "GlobalAci", "global_aci_removals"]


class GlobalAci(BaseModel):
    """One of OUD's default global ACIs, and what the migration does with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """Its ``acl "..."`` name."""
    aci: str
    """The ACI as OUD ships it."""
    remove: bool
    """Whether the migration removes it."""
    reason: str
    """Why it goes or stays."""


OUD_DEFAULT_GLOBAL_ACIS: Final = (
    GlobalAci(
        name="Anonymous read access",
        aci='(targetattr!="userPassword||authPassword")(version 3.0; acl "Anonymous read access"; '
        'allow (read,search,compare) userdn="ldap:///anyone";)',
        remove=True,
        reason="lets anyone read and search every attribute but the passwords, whatever the OID rules said",
    ),
    GlobalAci(
        name="Self entry modification",
        aci='(targetattr="*")(version 3.0; acl "Self entry modification"; allow (write) userdn="ldap:///self";)',
        remove=True,
        reason="lets every user write their own entry; OID allowed it only where a directive said 'by self'",
    ),
    GlobalAci(
        name="Self entry read",
        aci='(targetattr="userPassword||authPassword")(version 3.0; acl "Self entry read"; '
        'allow (read,search,compare) userdn="ldap:///self";)',
        remove=True,
        reason="lets every user read their own password hash; OID allowed it only where a directive said so",
    ),
    GlobalAci(
        name="User-Visible Operational Attributes",
        aci='(targetattr="createTimestamp||creatorsName||modifiersName||modifyTimestamp||entryDN||'
        'entryUUID||subschemaSubentry")(version 3.0; acl "User-Visible Operational Attributes"; '
        'allow (read,search,compare) userdn="ldap:///anyone";)',
        remove=False,
        reason="operational attributes only; they reveal no data an OID directive protected",
    ),
    GlobalAci(
        name="User-Visible Root DSE Operational Attributes",
        aci='(target="ldap:///")(targetscope="base")(targetattr="objectClass||namingContexts||'
        "supportedAuthPasswordSchemes||supportedControl||supportedExtension||supportedFeatures||"
        'supportedLDAPVersion||supportedSASLMechanisms||vendorName||vendorVersion")(version 3.0; '
        'acl "User-Visible Root DSE Operational Attributes"; allow (read,search,compare) '
        'userdn="ldap:///anyone";)',
        remove=False,
        reason="the root DSE, which clients need to connect; OID publishes it too",
    ),
    GlobalAci(
        name="User-Visible Schema Operational Attributes",
        aci='(target="ldap:///cn=schema")(targetscope="base")(targetattr="objectClass||attributeTypes||'
        "dITContentRules||dITStructureRules||ldapSyntaxes||matchingRules||matchingRuleUse||nameForms||"
        'objectClasses")(version 3.0; acl "User-Visible Schema Operational Attributes"; '
        'allow (read,search,compare) userdn="ldap:///anyone";)',
        remove=False,
        reason="the schema, which clients need; OID publishes it too",
    ),
)
"""OUD's default global ACIs that grant access to entries (controls and extended operations left out)."""


def global_aci_removals() -> list[str]:
    """The ``dsconfig`` commands that take out the default global ACIs marked ``remove``."""
    return [
        f"dsconfig set-access-control-handler-prop --no-prompt --remove global-aci:'{global_aci.aci}'"
        for global_aci in OUD_DEFAULT_GLOBAL_ACIS
        if global_aci.remove
    ]
