"""Secrets typed on a command line never reach the audit chain: the SDK's command-line redactor.

The rules live in ``flext_sdk.redaction.redact_argv`` (shared with the shell's history). Stdlib only.
"""

from __future__ import annotations

import shlex

from flext_sdk.redaction import redact_argv

__all__ = ["command_line", "redact_argv"]


def command_line(words: list[str]) -> str:
    """The words after ``flext`` as one shell-quoted line, every secret hidden.

    The redactor sees each word alone, before quoting: on the quoted line it would take a
    closing quote for part of a ``key=value`` secret and swallow it.
    """
    return shlex.join(redact_argv(words))
