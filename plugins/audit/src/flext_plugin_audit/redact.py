"""Secrets typed on a command line never reach the audit chain.

Two passes: option-name rules (``--password VALUE``, ``--api-key=VALUE``,
``TOKEN=VALUE``: the value goes, whatever it looks like), then the shared
redactor (``flext_sdk.redaction``: values registered in this process, such as
the secrets the run resolved, URL passwords and ``key=value`` shapes).
The shell keeps the same option-name rules for its history; a plugin may not
import another's modules, so they are repeated here. Stdlib only.
"""

from __future__ import annotations

import re
import shlex
from typing import Final

from flext_sdk.redaction import MASK
from flext_sdk.redaction import redact as redact_text

__all__ = ["command_line", "redact_words"]

_SECRET_NAME: Final = re.compile(r"pass(word|wd|phrase)?|secret|token|key|credential|auth|pwd", re.IGNORECASE)
"""An option (``--db-password``) or assignment (``PASSWORD=...``) whose value is a secret."""
_ASSIGNMENT: Final = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.lstrip("-")))


def redact_words(words: list[str]) -> list[str]:
    """``words`` with the value of every secret-named option or assignment replaced by ``***``.

    A secret-named option followed by another option is a flag: the next word is kept.
    """
    shown: list[str] = []
    hide_next = False
    # `flext secret set NAME VALUE` is refused (a value comes from a prompt or stdin) but still a run:
    # every word after a secret command's NAME is hidden (an option's value too: over-hiding is safe).
    start = 0
    while start < len(words) and words[start].startswith("-"):  # the global options and their values
        start += 2 if words[start] in ("--output", "--plugins-dir") else 1
    hide_from = start + 3 if words[start : start + 1] == ["secret"] else len(words)
    for index, word in enumerate(words):
        if index >= hide_from and not word.startswith("-"):
            shown.append(MASK)
            continue
        if hide_next and not word.startswith("-"):
            shown.append(MASK)
            hide_next = False
            continue
        hide_next = False
        assignment = _ASSIGNMENT.match(word)
        if assignment and _secret_name(assignment["name"]):
            shown.append(f"{assignment['name']}={MASK}")
        elif word.startswith("-") and "=" not in word and _secret_name(word):
            shown.append(word)
            hide_next = True
        else:
            shown.append(word)
    return shown


def command_line(words: list[str]) -> str:
    """The words after ``flext`` as one shell-quoted line, every secret hidden.

    The shared redactor sees each word alone, before quoting: on the quoted line it would take
    a closing quote for part of a ``key=value`` secret and swallow it.
    """
    return shlex.join(redact_text(word) for word in redact_words([str(word) for word in words]))
