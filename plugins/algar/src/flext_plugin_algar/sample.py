"""A deterministic generator of Oracle Internet Directory (OID) exports, as ``ldapsearch`` writes them.

``write_export(path, entries=N, seed=S)`` writes about ``N`` entries (never
fewer than the fixed skeleton, 17 entries) of this tree::

    dc=algar,dc=com,dc=br                          domain; orclaci
    ├── cn=OracleContext                           orclContext; orclaci
    │   ├── cn=Groups                              orclContainer
    │   │   └── cn=OracleDAS...                    orclPrivilegeGroup (privilege groups)
    │   └── cn=Products                            orclContainer
    ├── cn=Users                                   orclContainer; orclaci (passwords, entry)
    │   └── ou=<department>                        organizationalUnit; some orclentrylevelaci
    │       └── uid=<login>                        inetOrgPerson + orclUser + orclUserV2
    └── cn=Groups                                  orclContainer; orclaci
        └── cn=<group>                             groupOfUniqueNames + orclGroup (some nested),
                                                   groupOfNames, orclDynamicGroup (labeleduri)

What a real export has and a migration must cope with: passwords hashed in
every scheme OID writes (``{SSHA}``, ``{SSHA512}``, ``{SHA}``, ``{crypt}``
and OID-only ``{MD4}``, plus ``orclPassword`` verifiers), written base64 as
``ldapsearch`` does for ``userPassword``; non-ASCII names (base64); long
folded ``description`` values; binary ``jpegPhoto``; OID's operational
attributes (``creatorsname``, ``modifytimestamp``, ``orclnormdn``,
``pwdchangedtime``...); the ``orclguid`` of every entry; a department whose
entry comes after its users (exports are not sorted by depth); and, with
``defects=True`` (the default), what real exports also hold: a group member
that no longer exists and an entry whose parent is not in the file.

The same arguments always give the same bytes: every value is a function of
the entry's index and the seed, so a million entries need no memory.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import unicodedata
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Final

__all__ = ["BASE_DN", "PASSWORD_SCHEMES", "export_lines", "write_export"]

BASE_DN: Final = "dc=algar,dc=com,dc=br"
"""The OID suffix of the generated tree."""
PASSWORD_SCHEMES: Final = ("{SSHA}", "{SSHA512}", "{SHA}", "{crypt}", "{MD4}")
"""The ``userPassword`` schemes given to users in turn (``{MD4}`` is OID-only)."""

_WIDTH = 76
_SKELETON = 17  # entries that are not users or groups (containers, OUs, privilege groups, defects)
_GIVEN = (
    "João", "Maria", "José", "Ana", "Antônio", "Francisca", "Carlos", "Adriana", "Paulo", "Juliana",
    "Pedro", "Márcia", "Lucas", "Fernanda", "Luís", "Patrícia", "Marcos", "Aline", "Luiz", "Sandra",
    "Gabriel", "Camila", "Rafael", "Conceição", "Daniel", "Letícia", "Marcelo", "Vitória", "Bruno", "Cláudia",
)  # fmt: skip
_SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Ribeiro", "Carvalho", "Almeida", "Lopes", "Araújo", "Fernandes", "Barbosa", "Gonçalves", "Magalhães",
    "Simões", "Assunção", "Brandão", "Falcão", "Guimarães",
)  # fmt: skip
_DEPARTMENTS = ("Engenharia", "Vendas", "Operações", "Financeiro", "Jurídico", "Atendimento")
_GROUP_KINDS = ("admins", "dba", "operadores", "auditores", "suporte", "leitores")
_PRIVILEGE_GROUPS = (
    "OracleDASCreateUser", "OracleDASDeleteUser", "OracleDASEditUser", "OracleDASAdminGroup",
)  # fmt: skip
_DESCRIPTION = (
    "Conta migrada do sistema legado de RH; acesso revisado pela segurança da informação na campanha "
    "anual de recertificação, chamado SEG-{n:06d}, com a lista de perfis de aplicação concedidos."
)
_START = 1_293_840_000  # 2011-01-01T00:00:00Z
_SPAN = 10 * 365 * 86_400
_MAX_MEMBERS = 12
_CRYPT = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ADMINS = f"cn=admins-0,cn=Groups,{BASE_DN}"
_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300")  # a JPEG header


def write_export(path: str | PathLike[str], *, entries: int = 60, seed: int = 1, defects: bool = True) -> int:
    """Write an OID-style export of about ``entries`` entries to ``path``; return how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as handle:
        for record in export_lines(entries=entries, seed=seed, defects=defects):
            handle.write(record)
            count += record.startswith("dn:")
    return count


def export_lines(*, entries: int = 60, seed: int = 1, defects: bool = True) -> Iterator[str]:
    """The records of the export, one string each (``version: 1`` first), blank-line terminated."""
    rest = max(entries - _SKELETON, 2)
    groups = max(rest // 8, 1)
    users = rest - groups
    yield "version: 1\n\n"
    yield from _skeleton(seed)
    late = _DEPARTMENTS[-1]  # its OU entry comes after its users, as in unsorted exports
    for department in _DEPARTMENTS[:-1]:
        yield _ou(department, seed)
    for index in range(users):
        yield _user(index, seed)
    yield _ou(late, seed)
    for index in range(groups):
        yield _group(index, seed, users, groups, defects=defects)
    if defects:
        yield _record(
            f"uid=orphan,ou=Desligados,cn=Users,{BASE_DN}",
            [("objectclass", v) for v in ("top", "person", "inetOrgPerson")]
            + [("uid", "orphan"), ("cn", "Conta Órfã"), ("sn", "Órfã")]
            + _operational(10**6, seed),
        )


def _hash(index: int, seed: int, salt: int = 0) -> int:
    digest = hashlib.blake2b(f"{seed}:{index}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _guid(index: int, seed: int) -> str:
    return hashlib.md5(f"guid:{seed}:{index}".encode(), usedforsecurity=False).hexdigest().upper()


def _timestamp(index: int, seed: int, salt: int, *, after: int = _START, span: int = _SPAN) -> str:
    seconds = after + _hash(index, seed, salt) % span
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y%m%d%H%M%SZ")


def _operational(index: int, seed: int) -> list[tuple[str, str | bytes]]:
    admin = f"cn=orcladmin,cn=Users,{BASE_DN}"
    return [
        ("orclguid", _guid(index, seed)),
        ("creatorsname", admin),
        ("createtimestamp", _timestamp(index, seed, 1)),
        ("modifiersname", admin),
        ("modifytimestamp", _timestamp(index, seed, 2, after=_START + _SPAN, span=_SPAN // 3)),
    ]


def _line(name: str, value: str | bytes) -> str:
    if isinstance(value, bytes):
        return _fold(f"{name}:: {base64.b64encode(value).decode('ascii')}")
    if value and (not value.isascii() or value[0] in " :<" or value[-1] == " " or "\n" in value):
        return _fold(f"{name}:: {base64.b64encode(value.encode()).decode('ascii')}")
    return _fold(f"{name}: {value}")


def _fold(line: str) -> str:
    if len(line) <= _WIDTH:
        return line + "\n"
    parts = [line[:_WIDTH]]
    parts += [" " + line[start : start + _WIDTH - 1] for start in range(_WIDTH, len(line), _WIDTH - 1)]
    return "\n".join(parts) + "\n"


def _record(dn: str, attributes: list[tuple[str, str | bytes]]) -> str:
    return _line("dn", dn) + "".join(_line(name, value) for name, value in attributes) + "\n"


def _container(dn: str, cn: str, index: int, seed: int, *extra: tuple[str, str | bytes]) -> str:
    classes = [("objectclass", "top"), ("objectclass", "orclContainer")]
    return _record(dn, [*classes, ("cn", cn), *extra, *_operational(index, seed)])


def _classes(*names: str) -> list[tuple[str, str | bytes]]:
    return [("objectclass", name) for name in names]


def _privilege_dn(name: str) -> str:
    return f"cn={name},cn=Groups,cn=OracleContext,{BASE_DN}"


def _skeleton(seed: int) -> Iterator[str]:
    yield _record(
        BASE_DN,
        [*_classes("top", "domain", "orclSubscriber"), ("dc", "algar"),
         ("orclaci", f'access to entry by group="{_privilege_dn("OracleDASAdminGroup")}" (browse,add,delete) '
                     "by * (browse,noadd,nodelete)"),
         ("orclaci", f'access to attr=(*) by group="{_privilege_dn("OracleDASAdminGroup")}" '
                     "(read,search,write,compare) by * (read,search,compare,nowrite)"),
         *_operational(-1, seed)],
    )  # fmt: skip
    yield _record(
        f"cn=OracleContext,{BASE_DN}",
        [("objectclass", "top"), ("objectclass", "orclContext"), ("cn", "OracleContext"),
         ("orclaci", "access to entry by * (browse)"),
         ("orclaci", "access to attr=(*) by * (read,search)"),
         *_operational(-2, seed)],
    )  # fmt: skip
    yield _container(f"cn=Groups,cn=OracleContext,{BASE_DN}", "Groups", -3, seed)
    yield _container(f"cn=Products,cn=OracleContext,{BASE_DN}", "Products", -4, seed)
    for number, name in enumerate(_PRIVILEGE_GROUPS):
        yield _record(
            _privilege_dn(name),
            [("objectclass", "top"), ("objectclass", "groupOfUniqueNames"), ("objectclass", "orclGroup"),
             ("objectclass", "orclPrivilegeGroup"), ("cn", name),
             ("description", f"Privilégio OID {name}"),
             ("uniquemember", _ADMINS), ("uniquemember", f"cn=orcladmin,cn=Users,{BASE_DN}"),
             *_operational(-10 - number, seed)],
        )  # fmt: skip
    yield _container(
        f"cn=Users,{BASE_DN}", "Users", -5, seed,
        ("orclaci", f'access to entry by group="{_privilege_dn("OracleDASCreateUser")}" (browse,add) '
                    f'by group="{_privilege_dn("OracleDASDeleteUser")}" (browse,delete) by * (browse)'),
        ("orclaci", "access to attr=(userPassword,orclPassword) "
                    f'by group="{_privilege_dn("OracleDASEditUser")}" (write,compare)'
                    " by self (write,compare) by * (compare,noread,nosearch)"),
        ("orclaci", "access to attr=(telephoneNumber,mobile,jpegPhoto) by self (read,search,write) "
                    'by dnattr=(manager) (read,search) by * (noread)'),
    )  # fmt: skip
    yield _record(
        f"cn=orcladmin,cn=Users,{BASE_DN}",
        [("objectclass", v) for v in ("top", "person", "organizationalPerson", "inetOrgPerson", "orclUser",
                                      "orclUserV2")]
        + [("cn", "orcladmin"), ("sn", "orcladmin"), ("uid", "orcladmin"),
           ("userPassword", b"{SSHA}" + _ssha(b"welcome1", b"adm1")), ("orclisenabled", "ENABLED"),
           *_operational(-6, seed)],
    )  # fmt: skip
    yield _container(
        f"cn=Groups,{BASE_DN}", "Groups", -7, seed,
        ("orclaci", 'access to entry by groupattr=(owner) (browse,add,delete) by * (browse)'),
        ("orclaci", 'access to attr=(uniquemember,member) by dnattr=(owner) (read,search,write) '
                    'by * (read,search)'),
    )  # fmt: skip


def _ou(department: str, seed: int) -> str:
    number = _DEPARTMENTS.index(department)
    extra: list[tuple[str, str | bytes]] = []
    if number % 2 == 0:
        extra.append(("orclentrylevelaci", f'access to entry by group="{_ADMINS}" (browse,add,delete)'))
    return _record(
        _department_dn(department),
        [("objectclass", "top"), ("objectclass", "organizationalUnit"), ("ou", department),
         *extra, *_operational(-100 - number, seed)],
    )  # fmt: skip


def _department_dn(department: str) -> str:
    return f"ou={department},cn=Users,{BASE_DN}"


def _person(index: int, seed: int) -> tuple[str, str, str]:
    """Given name, surname, login."""
    value = _hash(index, seed, 3)
    given = _GIVEN[value % len(_GIVEN)]
    surname = _SURNAMES[(value // len(_GIVEN)) % len(_SURNAMES)]
    # Accents off (NFKD, combining marks dropped): a login, and so the mail built from it, is ASCII,
    # as mail's IA5String syntax requires (a 'õ' left in made a schema-checking server refuse the entry).
    decomposed = unicodedata.normalize("NFKD", (given[0] + surname).lower())
    ascii_login = "".join(c for c in decomposed if not unicodedata.combining(c))
    return given, surname, f"{ascii_login}{index}"


def _user_dn(index: int, seed: int) -> str:
    _, _, login = _person(index, seed)
    return f"uid={login},{_department_dn(_DEPARTMENTS[index % len(_DEPARTMENTS)])}"


def _ssha(password: bytes, salt: bytes, algorithm: str = "sha1") -> bytes:
    return base64.b64encode(hashlib.new(algorithm, password + salt).digest() + salt)


def _password(index: int, seed: int) -> bytes:
    scheme = PASSWORD_SCHEMES[index % len(PASSWORD_SCHEMES)]
    secret = f"Senha{_hash(index, seed, 4) % 100000:05d}!".encode()
    salt = _hash(index, seed, 5).to_bytes(8, "big")
    if scheme == "{SSHA}":
        return b"{SSHA}" + _ssha(secret, salt[:4])
    if scheme == "{SSHA512}":
        return b"{SSHA512}" + _ssha(secret, salt, "sha512")
    if scheme == "{SHA}":
        return b"{SHA}" + base64.b64encode(hashlib.sha1(secret, usedforsecurity=False).digest())
    if scheme == "{crypt}":
        value = _hash(index, seed, 6)
        return b"{crypt}" + "".join(_CRYPT[(value >> (6 * k)) % 64] for k in range(13)).encode()
    digest = hashlib.blake2b(secret, digest_size=16).digest()  # stands in for MD4 (absent from OpenSSL 3)
    return b"{MD4}" + base64.b64encode(digest)


def _user(index: int, seed: int) -> str:
    given, surname, login = _person(index, seed)
    value = _hash(index, seed, 7)
    attributes: list[tuple[str, str | bytes]] = [
        ("objectclass", v)
        for v in ("top", "person", "organizationalPerson", "inetOrgPerson", "orclUser", "orclUserV2")
    ]
    attributes += [
        ("cn", f"{given} {surname}"),
        ("sn", surname),
        ("givenname", given),
        ("uid", login),
        ("mail", f"{login}@algar.com.br"),
        ("telephonenumber", f"+55 34 3{value % 10**7:07d}"),
        ("userPassword", _password(index, seed)),
        ("orclisenabled", "DISABLED" if value % 17 == 0 else "ENABLED"),
    ]
    if index % 3 == 0:
        verifier = hashlib.sha1(f"v{seed}{index}".encode(), usedforsecurity=False).hexdigest().upper()
        attributes.append(("orclPassword", f"{{x- orcldbpwd}}1.0:{verifier}"))
    if index % 4 == 1:
        attributes.append(("description", _DESCRIPTION.format(n=index)))
    if index % 7 == 2:
        attributes.append(("jpegPhoto", _JPEG + value.to_bytes(8, "big") + b"\x00\xff\xd9"))
    if index > 0 and index % 5 == 0:
        attributes.append(("manager", _user_dn(index // 5 - 1 if index >= 5 else 0, seed)))
    attributes += _operational(index, seed)
    attributes += [
        ("pwdchangedtime", _timestamp(index, seed, 8, after=_START + _SPAN, span=_SPAN // 3)),
        ("orclnormdn", _user_dn(index, seed).lower()),
    ]
    return _record(_user_dn(index, seed), attributes)


def _group(index: int, seed: int, users: int, groups: int, *, defects: bool) -> str:
    kind = _GROUP_KINDS[index % len(_GROUP_KINDS)]
    dn = f"cn={kind}-{index},cn=Groups,{BASE_DN}"
    operational = _operational(10**5 + index, seed)
    if index % 5 == 4:  # a dynamic group: its members are those its URL finds
        department = _DEPARTMENTS[index % len(_DEPARTMENTS)]
        return _record(
            dn,
            [*_classes("top", "groupOfUniqueNames", "orclDynamicGroup"),
             ("cn", f"{kind}-{index}"),
             ("labeleduri", f"ldap:///{_department_dn(department)}??sub?(orclisenabled=ENABLED)"),
             *operational],
        )  # fmt: skip
    start = _hash(index, seed, 9) % max(users, 1)
    count = 1 + _hash(index, seed, 10) % _MAX_MEMBERS
    members = sorted({_user_dn((start + k * 7) % users, seed) for k in range(min(count, users))})
    if index % 3 == 1 and index > 0:  # nested: a group of an earlier group
        members.append(f"cn={_GROUP_KINDS[(index - 1) % len(_GROUP_KINDS)]}-{index - 1},cn=Groups,{BASE_DN}")
    if defects and index == 0:
        members.append(f"uid=desligado,{_department_dn(_DEPARTMENTS[0])}")  # a member deleted long ago
    owner = _user_dn(start, seed)
    if index % 4 == 3:  # a plain groupOfNames
        classes = [("objectclass", "top"), ("objectclass", "groupOfNames")]
        return _record(
            dn,
            [
                *classes,
                ("cn", f"{kind}-{index}"),
                ("owner", owner),
                *(("member", m) for m in members),
                *operational,
            ],
        )
    classes = [("objectclass", "top"), ("objectclass", "groupOfUniqueNames"), ("objectclass", "orclGroup")]
    return _record(
        dn,
        [*classes, ("cn", f"{kind}-{index}"), ("displayname", f"Grupo {kind} nº {index}"), ("owner", owner),
         *(("uniquemember", m) for m in members), *operational],
    )  # fmt: skip
