"""A deterministic generator of realistic, Oracle Internet Directory-like LDIF.

``write_directory(path, users=..., groups=..., ous=..., seed=...)`` writes::

    dc=example,dc=com                       domain
    ├── ou=people                           organizationalUnit
    │   └── ou=<department> (``ous`` of them)  organizationalUnit
    │       └── uid=<login>                 inetOrgPerson + orclUser + orclUserV2
    └── ou=groups                           organizationalUnit
        └── cn=<group>                      groupOfUniqueNames + orclGroup, or groupOfNames

Every entry has ``modifyTimestamp`` (and ``createTimestamp``); some users
have non-ASCII names (written base64, as RFC 2849 asks), a long folded
``description`` or a binary ``jpegPhoto``. The same arguments always give the
same bytes, and a million entries take seconds: every user's attributes are
a function of its index, so group members are computed, not remembered.
"""

from __future__ import annotations

import base64
import time
from os import PathLike
from typing import Final

from flext_plugin_ldif.ldif_writer import fold, format_line

__all__ = ["BASE_DN", "write_directory"]

BASE_DN: Final = "dc=example,dc=com"
"""The suffix of the generated tree."""

_GIVEN = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley",
)  # fmt: skip
_SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
)  # fmt: skip
# Non-ASCII names, with the ASCII spelling used for the login and the mail address.
_INTERNATIONAL = (
    ("José", "Müller", "jose", "mueller"),
    ("Zoë", "Ångström", "zoe", "angstrom"),
    ("Øyvind", "Sørensen", "oyvind", "sorensen"),
    ("Łukasz", "Wąsik", "lukasz", "wasik"),
    ("François", "Lefèvre", "francois", "lefevre"),
    ("Ingrid", "Þórsdóttir", "ingrid", "thorsdottir"),
    ("伟", "张", "wei", "zhang"),
    ("Antonín", "Dvořák", "antonin", "dvorak"),
)
_DEPARTMENTS = (
    "Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Operations", "Legal", "Support",
    "Research", "Procurement", "Facilities", "Security",
)  # fmt: skip
_TITLES = ("Engineer", "Analyst", "Manager", "Director", "Consultant", "Administrator", "Specialist")
_GROUP_KINDS = ("admins", "developers", "auditors", "approvers", "readers", "operators", "dba", "support")
_DESCRIPTION = (
    "Account migrated from the legacy HR system; access reviewed by the security office during the "
    "annual recertification campaign, see ticket SEC-{n:06d} for the approval trail and the list of "
    "granted application roles."
)
_START = 1_672_531_200  # 2023-01-01T00:00:00Z
_SPAN = 2 * 365 * 86_400
_MAX_MEMBERS = 25


def write_directory(
    path: str | PathLike[str],
    *,
    users: int = 30,
    groups: int = 8,
    ous: int = 4,
    seed: int = 0,
) -> int:
    """Write the sample directory as an LDIF file; returns the number of entries written.

    Args:
        path: The file to (over)write.
        users: How many people (under ``ou=people``).
        groups: How many groups (under ``ou=groups``), each with up to 25 of the users as members.
        ous: How many department OUs under ``ou=people`` (0: the people sit in ``ou=people`` itself).
        seed: Changes every generated name, timestamp and membership; the same seed gives the same file.

    Raises:
        ValueError: A count is negative.

    """
    if min(users, groups, ous) < 0:
        raise ValueError("users, groups and ous must not be negative")
    departments = [_department(index) for index in range(ous)]
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(
            f"version: 1\n\n# A sample directory written by flext_plugin_ldif.sample (seed {seed}).\n\n"
        )
        out.write(_domain(seed))
        out.write(_ou("people", BASE_DN, "People of Example Corp.", seed, 1))
        out.write(_ou("groups", BASE_DN, "Groups of Example Corp.", seed, 2))
        for index, department in enumerate(departments):
            out.write(
                _ou(department, f"ou=people,{BASE_DN}", f"The {department} department.", seed, 3 + index)
            )
        chunk: list[str] = []
        for index in range(users):
            chunk.append(_user(index, seed, departments))
            if len(chunk) == 1000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
        for index in range(groups):
            out.write(_group(index, seed, users, departments))
    return 3 + ous + users + groups


def _hash(index: int, seed: int, salt: int = 0) -> int:
    """A cheap, well-mixed 32-bit value of (index, seed, salt); every choice about an entry comes from it."""
    value = (index * 0x9E3779B1 + seed * 0x85EBCA77 + salt * 0xC2B2AE3D) & 0xFFFFFFFF
    value ^= value >> 15
    value = (value * 0x2C1B3C6D) & 0xFFFFFFFF
    value ^= value >> 12
    return value


def _timestamp(index: int, seed: int, salt: int) -> str:
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(_START + _hash(index, seed, salt) % _SPAN))


def _department(index: int) -> str:
    name = _DEPARTMENTS[index % len(_DEPARTMENTS)]
    return name if index < len(_DEPARTMENTS) else f"{name} {index // len(_DEPARTMENTS) + 1}"


def _person(index: int, seed: int) -> tuple[str, str, str, str]:
    """(given name, surname, ASCII given name, ASCII surname) of user ``index``."""
    mixed = _hash(index, seed, 1)
    if mixed % 9 == 4:
        return _INTERNATIONAL[(mixed >> 4) % len(_INTERNATIONAL)]
    given = _GIVEN[(mixed >> 4) % len(_GIVEN)]
    surname = _SURNAMES[(mixed >> 12) % len(_SURNAMES)]
    return given, surname, given.lower(), surname.lower()


def _user_dn(index: int, seed: int, departments: list[str]) -> str:
    _, _, given, surname = _person(index, seed)
    parent = f"ou={departments[index % len(departments)]},ou=people" if departments else "ou=people"
    return f"uid={given[0]}{surname}{index:06d},{parent},{BASE_DN}"


def _domain(seed: int) -> str:
    stamp = _timestamp(0, seed, 7)
    return (
        f"dn: {BASE_DN}\nobjectClass: top\nobjectClass: domain\nobjectClass: orclContainer\ndc: example\n"
        f"createTimestamp: {stamp}\nmodifyTimestamp: {stamp}\n\n"
    )


def _ou(name: str, parent: str, description: str, seed: int, index: int) -> str:
    created, modified = sorted((_timestamp(index, seed, 8), _timestamp(index, seed, 9)))
    return (
        f"dn: ou={name},{parent}\nobjectClass: top\nobjectClass: organizationalUnit\nou: {name}\n"
        f"description: {description}\ncreateTimestamp: {created}\nmodifyTimestamp: {modified}\n\n"
    )


def _user(index: int, seed: int, departments: list[str]) -> str:
    given, surname, ascii_given, ascii_surname = _person(index, seed)
    mixed = _hash(index, seed, 2)
    login = f"{ascii_given[0]}{ascii_surname}{index:06d}"
    parent = f"ou={departments[index % len(departments)]},ou=people" if departments else "ou=people"
    created, modified = sorted((_timestamp(index, seed, 3), _timestamp(index, seed, 4)))
    full = f"{given} {surname}"
    secret = base64.b64encode(mixed.to_bytes(4, "big") * 5).decode("ascii")
    password = base64.b64encode(f"{{SSHA}}{secret}".encode()).decode("ascii")
    lines = [
        f"dn: uid={login},{parent},{BASE_DN}",
        "objectClass: top",
        "objectClass: person",
        "objectClass: organizationalPerson",
        "objectClass: inetOrgPerson",
        "objectClass: orclUser",
        "objectClass: orclUserV2",
        f"uid: {login}",
    ]
    if full.isascii():
        lines += [f"cn: {full}", f"sn: {surname}", f"givenName: {given}", f"displayName: {full}"]
    else:  # base64, as RFC 2849 asks of non-ASCII values
        lines += [
            format_line("cn", full),
            format_line("sn", surname),
            format_line("givenName", given),
            format_line("displayName", full),
        ]
    lines += [
        f"mail: {ascii_given}.{ascii_surname}{index}@example.com",
        f"telephoneNumber: +1 555 {mixed % 10_000:04d}",
        f"employeeNumber: {index:08d}",
        f"title: {_TITLES[(mixed >> 8) % len(_TITLES)]}",
        f"orclIsEnabled: {'DISABLED' if mixed % 23 == 0 else 'ENABLED'}",
        f"orclGUID: {mixed:08X}{_hash(index, seed, 5):08X}{_hash(index, seed, 6):08X}{index:08X}",
        f"orclSAMAccountName: EXAMPLE\\{login.upper()}",
        f"userPassword:: {password}",
    ]
    if mixed % 7 == 3:
        lines.append(fold(f"description: {_DESCRIPTION.format(n=index)}"))
    if mixed % 50 == 17:
        photo = b"\xff\xd8\xff\xe0" + mixed.to_bytes(4, "big") * 3
        lines.append(f"jpegPhoto:: {base64.b64encode(photo).decode('ascii')}")
    lines += [
        f"createTimestamp: {created}",
        f"modifyTimestamp: {modified}",
        "modifiersName: cn=orcladmin",
        "",
        "",
    ]
    return "\n".join(lines)


def _group(index: int, seed: int, users: int, departments: list[str]) -> str:
    kind = _GROUP_KINDS[index % len(_GROUP_KINDS)]
    name = kind if index < len(_GROUP_KINDS) else f"{kind}-{index // len(_GROUP_KINDS) + 1}"
    mixed = _hash(index, seed, 10)
    count = min(users, 3 + mixed % (_MAX_MEMBERS - 2))
    first = mixed % users if users else 0
    stride = 1 + _hash(index, seed, 13) % max(users - 1, 1)
    members = [_user_dn((first + step * stride) % users, seed, departments) for step in range(count)]
    members = list(dict.fromkeys(members))
    created, modified = sorted((_timestamp(index, seed, 11), _timestamp(index, seed, 12)))
    unique = index % 2 == 0
    lines = [
        f"dn: cn={name},ou=groups,{BASE_DN}",
        "objectClass: top",
        "objectClass: groupOfUniqueNames" if unique else "objectClass: groupOfNames",
    ]
    if unique:
        lines.append("objectClass: orclGroup")
    lines += [
        f"cn: {name}",
        f"description: Members of the {name} role.",
        "owner: cn=orcladmin",
    ]
    attribute = "uniqueMember" if unique else "member"
    lines.extend(fold(f"{attribute}: {member}") for member in members)
    lines += [f"createTimestamp: {created}", f"modifyTimestamp: {modified}", "", ""]
    return "\n".join(lines)
