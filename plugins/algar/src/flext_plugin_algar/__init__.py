"""flext-plugin-algar: the OID to OUD migration (ALGAR) as a FLEXT plugin.

So far the package holds the ACL translator, ``flext_plugin_algar.acl``.
Importing the package loads nothing else.
"""

from __future__ import annotations

__all__: list[str] = []
