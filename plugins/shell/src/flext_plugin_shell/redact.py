"""Secrets typed on a command line never reach the history: values of secret-looking options, URL passwords.

Two passes. The first knows command-line shapes: the token after a secret-named option
(``--password VALUE``, even a VALUE starting with ``-``; only a ``--long`` option is taken as
"no value given"), ``--api-key=VALUE`` and ``NAME=VALUE``. The second runs the SDK's redactor
(``flext_sdk.redaction.redact``) over every token: values registered in this process and the
shapes it knows inside a word (``{"password": "pw"}``, ``password:pw``, ``Bearer abc``, URL
passwords). A short flag (``-p``) is left alone: it is ``--port`` as often as ``--password``.

Stdlib and the stdlib-only SDK redactor: ``record`` runs at the end of every ``flext`` run.
"""

from __future__ import annotations

import re
from typing import Final

from flext_sdk.redaction import redact as redact_text

__all__ = ["MASK", "redact"]

MASK: Final = "***"
"""What a secret value becomes."""

_SECRET_NAME: Final = re.compile(
    r"pass(word|wd|phrase)?|secret|token|key|credential|auth|pwd|(?<![a-z0-9])pw(?![a-z0-9])", re.IGNORECASE
)
"""An option (``--db-password``) or assignment (``PASSWORD=...``) whose value is a secret."""
_URL_CREDENTIALS: Final = re.compile(
    r"(?<![a-zA-Z0-9+.-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)(?P<user>[^:/@\s]*):(?P<secret>[^@/]*)@"
)
"""``scheme://user:password@host``: the password part."""
_ASSIGNMENT: Final = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.lstrip("-")))


def _hide_urls(token: str) -> str:
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", token)


def redact(tokens: list[str]) -> list[str]:
    """``tokens`` with every secret replaced by ``MASK``.

    ``--password VALUE``, ``--api-key=VALUE``, ``TOKEN=VALUE`` and ``postgresql://u:VALUE@h``
    all lose VALUE; an option named like a secret but given as a flag (the next token is a
    ``--long`` option) keeps the next token. Each token then goes through the SDK redactor.
    """
    shown: list[str] = []
    hide_next = False
    # `flext secret set NAME VALUE` is refused (the value must come from a prompt or stdin), but the
    # line is recorded all the same: every word after a secret command's NAME is hidden.
    # Over-hiding is safe: an option's value after the NAME (--profile prod) is hidden too.
    start = 0
    while start < len(tokens) and tokens[start].startswith("-"):  # the global options and their values
        start += 2 if tokens[start] in ("--output", "--plugins-dir") else 1
    hide_from = start + 3 if tokens[start : start + 1] == ["secret"] else len(tokens)
    for index, token in enumerate(tokens):
        if index >= hide_from and not token.startswith("--"):
            shown.append(MASK)
            continue
        if hide_next and not token.startswith("--"):
            shown.append(MASK)
            hide_next = False
            continue
        hide_next = False
        assignment = _ASSIGNMENT.match(token)
        if assignment and _secret_name(assignment["name"]):
            shown.append(f"{assignment['name']}={MASK}")
        elif token.startswith("-") and _secret_name(token) and "=" not in token:
            shown.append(token)
            hide_next = True
        else:
            shown.append(_hide_urls(token))
    return [redact_text(token) for token in shown]
