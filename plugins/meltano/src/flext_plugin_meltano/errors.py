"""The error codes of the meltano plugin.

Failures carry one of these, or a code of the kernel or SDK:

- ``VALIDATION_ERROR`` (exit 2): no ``meltano.yml``, a key Meltano's schema
  does not allow, a block naming a plugin the project does not declare, a
  ``pip_url`` pip cannot read, an environment the project does not define;
- ``TOOL_INSTALL_FAILED``: Meltano's own environment could not be built;
- ``MELTANO_COMMAND_FAILED``: a ``meltano`` or ``flext`` command run on the
  user's behalf (``meltano state get`` for an export, ``flext pipeline
  create`` for an import) failed;
- ``MELTANO_TEST_FAILED``: ``flext meltano test`` ran the project's tests and
  at least one failed (the message names them).

A delegated command (``flext meltano run ...``) is not a failed result when
Meltano fails: its exit code and output are Meltano's own.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MELTANO_COMMAND_FAILED", "MELTANO_TEST_FAILED"]

MELTANO_COMMAND_FAILED: Final = "MELTANO_COMMAND_FAILED"
"""A command flext ran for the user (``meltano state get|set``, ``flext pipeline create``) exited non-zero."""
MELTANO_TEST_FAILED: Final = "MELTANO_TEST_FAILED"
"""``flext meltano test``: a plugin's test (``meltano test PLUGIN:TEST``) failed."""
