"""The ``ldif`` plugin: read RFC 2849 LDIF files, as entries or as the Singer tap ``tap-ldif``.

- ``read_ldif(path)`` / ``parse_ldif(text)``: a streaming parser yielding
  ``LdifEntry`` objects; a malformed file raises ``LdifError`` (file, line,
  what to fix). ``attr:< file:///...`` values are refused unless
  ``url_values=UrlValues.under(directory)`` allows them.
- ``format_entry`` / ``write_ldif``: write entries back as RFC 2849 LDIF.
- ``flext_plugin_ldif.tap``: the ``tap-ldif`` Singer tap (imports Singer SDK;
  not imported here).
- ``flext_plugin_ldif.sample.write_directory``: a deterministic sample directory.

Importing the package loads only the standard library.
"""

from __future__ import annotations

from flext_plugin_ldif.errors import LdifError
from flext_plugin_ldif.ldif_parser import Control, LdifEntry, Modification, UrlValues, parse_ldif, read_ldif
from flext_plugin_ldif.ldif_writer import format_entry, write_ldif

__all__ = [
    "Control",
    "LdifEntry",
    "LdifError",
    "Modification",
    "UrlValues",
    "format_entry",
    "parse_ldif",
    "read_ldif",
    "write_ldif",
]
