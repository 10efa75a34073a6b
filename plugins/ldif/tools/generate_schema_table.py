"""Write ``flext_plugin_ldif/_schema_table.py`` from what a real OpenLDAP server knows.

Starts a private slapd (``flext_sdk.testing.ldap_server``) with the schema
files Debian ships in ``/etc/ldap/schema`` (all but ``dsee``, which slapd
2.5 cannot load with the others), reads every ``attributeTypes`` value of
its ``cn=Subschema`` (the built-in system schema included), and writes the
aliases, the binary attributes and the case-exact ones as a Python module::

    .venv/bin/python plugins/ldif/tools/generate_schema_table.py

``tests/plugins/ldif/test_ldif_schema.py`` checks the table against a server
with the schemas the tests load.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from flext_plugin_ldif import parse_ldif
from flext_plugin_ldif.schema import Schema, parse_attribute_types

from flext_sdk.testing.ldap_server import LdapServer

SCHEMAS = (
    "core", "cosine", "inetorgperson", "nis", "collective", "corba", "duaconf", "dyngroup", "java",
    "misc", "openldap", "pmi", "msuser",
)  # fmt: skip
TABLE = Path(__file__).resolve().parents[1] / "src" / "flext_plugin_ldif" / "_schema_table.py"


def subschema_attribute_types(server: LdapServer) -> list[str]:
    """The ``attributeTypes`` values of the server's ``cn=Subschema``."""
    text = server.ldapsearch("cn=Subschema", "-s", "base", "(objectClass=*)", "attributeTypes").decode()
    (entry,) = parse_ldif(text)
    return entry.attributes["attributetypes"]


def render(schema: Schema) -> str:
    """The Python source of the table."""
    lines = [
        '"""OpenLDAP\'s attribute types, written by plugins/ldif/tools/generate_schema_table.py."""',
        "",
        "from typing import Final",
        "",
        "ALIASES: Final[dict[str, str]] = {",
        *(f'    "{alias}": "{name}",' for alias, name in sorted(schema.aliases.items())),
        "}",
        '"""Lower-case alias or OID -> lower-case canonical name."""',
        "BINARY: Final[frozenset[str]] = frozenset(",
        "    {",
        *(f'        "{name}",' for name in sorted(schema.binary)),
        "    }",
        ")",
        '"""Canonical names whose syntax holds octets."""',
        "CASE_EXACT: Final[frozenset[str]] = frozenset(",
        "    {",
        *(f'        "{name}",' for name in sorted(schema.case_exact)),
        "    }",
        ")",
        '"""Canonical names whose equality rule compares case."""',
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Generate the table; returns the exit code."""
    with tempfile.TemporaryDirectory(prefix="flext-schema-") as folder:
        server = LdapServer.start(Path(folder), schemas=SCHEMAS)
        try:
            descriptions = subschema_attribute_types(server)
        finally:
            server.stop()
    schema = Schema.from_attribute_types(parse_attribute_types(descriptions))
    TABLE.write_text(render(schema), encoding="utf-8")
    print(f"{TABLE}: {len(descriptions)} attribute types, {len(schema.aliases)} aliases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
