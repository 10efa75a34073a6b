"""Reading a value or a passphrase without it ever being an argument, an echo or an environment of others.

- A secret's value: a hidden prompt (``getpass``) when stdin is a terminal,
  else all of stdin (one trailing newline dropped), at most 64 KiB.
- The encrypted file's passphrase: ``FLEXT_SECRET_KEY`` when set (CI, a
  scheduler), else a hidden prompt on the controlling terminal (``/dev/tty``,
  so a value piped on stdin and a typed passphrase go together), asked twice
  when the file is created; no terminal and no variable is
  ``SECRET_KEY_INVALID`` with what to do.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Final

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import FlextResult
from flext_plugin_secrets.errors import SECRET_KEY_INVALID
from flext_sdk.redaction import register

__all__ = ["KEY_VARIABLE", "MAX_VALUE", "passphrase", "read_value"]

KEY_VARIABLE: Final = "FLEXT_SECRET_KEY"
"""The passphrase of the encrypted file, for runs without a terminal."""
MAX_VALUE: Final = 64 * 1024
"""The longest value read (bytes)."""
_MIN_PASSPHRASE: Final = 8


def _has_terminal() -> bool:
    try:
        descriptor = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(descriptor)
    return True


def read_value(name: str) -> FlextResult[str]:
    """The value of ``name``: typed at a hidden prompt on a terminal, else read from stdin."""
    if sys.stdin.isatty():
        try:
            value = getpass.getpass(f"value of {name} (hidden): ")
        except EOFError:
            value = ""
    else:
        data = sys.stdin.buffer.read(MAX_VALUE + 1)
        if len(data) > MAX_VALUE:
            return FlextResult.fail(
                f"the value on stdin is longer than {MAX_VALUE} bytes", error_code=VALIDATION_ERROR
            )
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            return FlextResult.fail("the value on stdin is not UTF-8 text", error_code=VALIDATION_ERROR)
        value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        return FlextResult.fail(
            f"no value for {name}: type it at the prompt or pipe it on stdin "
            f"(e.g. 'flext secret set {name} < file')",
            error_code=VALIDATION_ERROR,
        )
    register(value)
    return FlextResult.ok(value)


def passphrase(creating: bool) -> FlextResult[str]:
    """The encrypted file's passphrase: ``FLEXT_SECRET_KEY``, else asked on the terminal."""
    given = os.environ.get(KEY_VARIABLE)
    if given is not None:
        register(given)
        if creating and len(given) < _MIN_PASSPHRASE:
            return FlextResult.fail(
                f"{KEY_VARIABLE} is shorter than {_MIN_PASSPHRASE} characters", error_code=SECRET_KEY_INVALID
            )
        return FlextResult.ok(given)
    if not _has_terminal():
        return FlextResult.fail(
            f"the encrypted secrets file needs its passphrase: set {KEY_VARIABLE} or run on a terminal",
            error_code=SECRET_KEY_INVALID,
        )
    try:
        typed = getpass.getpass("passphrase of the secrets file (hidden): ")
        if creating:
            if len(typed) < _MIN_PASSPHRASE:
                return FlextResult.fail(
                    f"a new passphrase needs at least {_MIN_PASSPHRASE} characters",
                    error_code=SECRET_KEY_INVALID,
                )
            if getpass.getpass("the same passphrase again: ") != typed:
                return FlextResult.fail(
                    "the two passphrases differ; nothing was written", error_code=SECRET_KEY_INVALID
                )
    except EOFError:
        return FlextResult.fail("no passphrase was typed", error_code=SECRET_KEY_INVALID)
    register(typed)
    return FlextResult.ok(typed)
