"""The ``ldif`` plugin: read RFC 2849 LDIF files, as entries or as the Singer tap ``tap-ldif``.

- ``read_ldif(path)`` / ``parse_ldif(text)``: a streaming parser yielding
  ``LdifEntry`` objects; a malformed file raises ``LdifError`` (file, line,
  what to fix). ``attr:< file:///...`` values are refused unless
  ``url_values=UrlValues.under(directory)`` allows them.
- ``format_entry`` / ``write_ldif``: write entries back as RFC 2849 LDIF.
- ``flext_plugin_ldif.tap``: the ``tap-ldif`` Singer tap (imports Singer SDK;
  not imported here).
- ``flext_plugin_ldif.sample.write_directory``: a deterministic sample directory.

Importing the package loads nothing else: the names below are imported on
first use (``flext_kernel.lazy``), so booting the kernel, which imports this
package to reach ``flext_plugin_ldif.plugin``, does not load the parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flext_kernel.lazy import lazy_exports

if TYPE_CHECKING:
    from flext_plugin_ldif.errors import LdifError
    from flext_plugin_ldif.ldif_parser import (
        Control,
        LdifEntry,
        Modification,
        UrlValues,
        parse_ldif,
        read_ldif,
    )
    from flext_plugin_ldif.ldif_writer import format_entry, write_ldif

_LOCATIONS: dict[str, str] = {
    "Control": "flext_plugin_ldif.ldif_parser",
    "LdifEntry": "flext_plugin_ldif.ldif_parser",
    "LdifError": "flext_plugin_ldif.errors",
    "Modification": "flext_plugin_ldif.ldif_parser",
    "UrlValues": "flext_plugin_ldif.ldif_parser",
    "format_entry": "flext_plugin_ldif.ldif_writer",
    "parse_ldif": "flext_plugin_ldif.ldif_parser",
    "read_ldif": "flext_plugin_ldif.ldif_parser",
    "write_ldif": "flext_plugin_ldif.ldif_writer",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LOCATIONS)

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
