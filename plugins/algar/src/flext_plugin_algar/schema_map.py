"""The OID to OUD schema table: what each object class and attribute becomes (docs/algar.md, "Schema").

Names are lower-case. An object class or attribute that is in neither table
is *unknown*: the schema phase keeps it and reports it (with a count and the
first entry), so nothing is dropped silently. Attributes listed in
``OPERATIONAL`` are dropped: the servers maintain them, and OUD refuses them
in an add. Attributes marked ``PHASE`` are left for a later phase, which maps
their values (``users``, ``groups``, ``acl``).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALLOWED_ONLY_BY",
    "ATTRIBUTES_KEPT",
    "CLASSES_KEPT",
    "CLASSES_MAPPED",
    "OPERATIONAL",
    "PHASE",
]

CLASSES_KEPT: Final = frozenset({
    "top", "person", "organizationalperson", "inetorgperson", "organizationalunit", "organization",
    "domain", "dcobject", "country", "locality", "groupofnames", "groupofuniquenames", "groupofurls",
    "organizationalrole", "applicationprocess", "device", "uidobject", "extensibleobject",
    "simplesecurityobject",
    "residentialperson", "posixaccount", "posixgroup", "shadowaccount", "labeleduriobject",
})  # fmt: skip
"""Standard classes (RFC 4519, 2798, 2307...): the same in OUD."""

CLASSES_MAPPED: Final[dict[str, str | None]] = {
    "orclcontainer": "applicationProcess",  # structural, MUST cn: OID's cn-named containers
    "orclcontext": "applicationProcess",
    "orcluser": None,  # auxiliary; its attributes are mapped below
    "orcluserv2": None,
    "orclgroup": None,  # auxiliary on groupOfUniqueNames/groupOfNames
    "orclprivilegegroup": None,  # a plain group in OUD; OUD privileges are granted by hand (reported)
    "orclsubscriber": None,  # OID realm marker
    "orcldynamicgroup": "groupOfURLs",  # the groups phase turns labeledURI into memberURL
}
"""OID classes: the OUD class they become, or None: removed (their attributes are mapped below)."""

OPERATIONAL: Final = frozenset({
    "creatorsname", "createtimestamp", "modifiersname", "modifytimestamp", "orclguid", "orclnormdn",
    "orclentryid", "orclparentguid", "pwdchangedtime", "pwdaccountlockedtime", "pwdfailuretime",
    "pwdhistory", "pwdgraceusetime", "pwdreset", "subschemasubentry", "entrydn", "entryuuid",
    "hassubordinates", "numsubordinates", "orclpwdchangedtime",
})  # fmt: skip
"""Operational attributes: maintained by the server, dropped (OUD refuses them in an add)."""

PHASE: Final[dict[str, str]] = {
    "userpassword": "users",
    "orclpassword": "users",
    "authpassword": "users",
    "orclisenabled": "users",
    "member": "groups",
    "uniquemember": "groups",
    "owner": "groups",
    "labeleduri": "groups",
    "orclaci": "acl",
    "orclentrylevelaci": "acl",
}
"""Attributes whose values a later phase maps: kept by the schema phase."""

ATTRIBUTES_KEPT: Final = frozenset({
    "objectclass", "cn", "sn", "givenname", "uid", "mail", "telephonenumber", "mobile", "description",
    "displayname", "jpegphoto", "manager", "secretary", "seealso", "ou", "o", "dc", "c", "l", "st", "street",
    "title", "postaladdress", "postalcode", "postofficebox", "employeenumber", "employeetype",
    "departmentnumber", "initials", "facsimiletelephonenumber", "homephone", "homepostaladdress", "pager",
    "preferredlanguage", "businesscategory", "roomnumber", "carlicense", "physicaldeliveryofficename",
    "usercertificate", "usersmimecertificate", "userpkcs12", "labeleduri", "memberurl", "audio", "photo",
    "uidnumber", "gidnumber", "homedirectory", "loginshell", "gecos", "memberuid", "name",
    "registeredaddress", "destinationindicator", "internationalisdnnumber", "telexnumber",
    "teletexterminalidentifier", "x121address", "preferreddeliverymethod", "roleoccupant",
    "organizationalstatus", "mailalternateaddress", "ds-pwp-account-disabled",
})  # fmt: skip
"""Standard attributes: the same in OUD."""

ALLOWED_ONLY_BY: Final[dict[str, frozenset[str]]] = {
    "orclgroup": frozenset({"displayname"}),
}
"""Standard attributes an OID auxiliary class allowed on its entries that the standard classes left
there may not (``displayName`` on a ``groupOfUniqueNames``): an entry that loses the class keeps them
through ``extensibleObject`` (unless it is an ``inetOrgPerson``, which allows them), reported."""
