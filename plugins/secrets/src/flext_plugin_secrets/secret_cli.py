"""``flext secret set|get|list|delete|backend``: secrets that never appear in arguments, output or files.

A value is read from a hidden prompt (stdin a terminal) or from stdin
(piped); a value given as an argument is refused before anything is read or
written, since it would already be in ``ps`` and the shell's history.
``get`` prints the value only with ``--reveal``. Exit codes: 0 done; 2 bad
input (``USAGE_ERROR``, ``VALIDATION_ERROR``, ``SECRET_NOT_FOUND``,
``SECRET_KEY_INVALID``); 1 a backend or file that failed
(``SECRET_BACKEND_UNAVAILABLE``, ``SECRET_STORE_FAILED``).
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

from cyclopts import Parameter

from flext_kernel.errors import USAGE_ERROR, VALIDATION_ERROR
from flext_kernel.result import FlextResult
from flext_plugin_secrets.errors import SECRET_KEY_INVALID, SECRET_NOT_FOUND
from flext_plugin_secrets.resolve import profile_of
from flext_sdk.cli import EXIT_USAGE, current, emit, emit_table, fail, note

__all__ = ["delete_secret", "get_secret", "list_secrets", "set_secret", "show_backend"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_BAD_INPUT = frozenset({SECRET_NOT_FOUND, SECRET_KEY_INVALID})
_Extra = Annotated[str, Parameter(show=False, allow_leading_hyphen=True)]


def _failed(result: FlextResult[Any]) -> int:
    code = result.error_code
    return fail(result, exit_code=EXIT_USAGE if code in _BAD_INPUT else None)


def _checked(name: str, profile: str | None, extra: tuple[str, ...], *, command: str) -> FlextResult[str]:
    """The profile, once the name, the profile and the absence of a value argument are checked."""
    if extra:
        return FlextResult.fail(
            f"'flext secret {command}' takes no value argument (it would show in ps and your shell's "
            "history); "
            f"type it at the prompt or pipe it: 'flext secret {command} {name} < file'",
            error_code=USAGE_ERROR,
        )
    if not _NAME.fullmatch(name):
        return FlextResult.fail(
            f"{name[:60]!r} is not a secret name: a letter or _, then letters, digits, _ . - (128 at most)",
            error_code=VALIDATION_ERROR,
        )
    chosen = profile_of(profile)
    if not _PROFILE.fullmatch(chosen):
        return FlextResult.fail(f"{chosen[:60]!r} is not a profile name", error_code=VALIDATION_ERROR)
    return FlextResult.ok(chosen)


def _store() -> Any:
    from flext_plugin_secrets.prompt import passphrase
    from flext_plugin_secrets.store import SecretStore, secrets_dir

    return SecretStore(secrets_dir(), passphrase)


def set_secret(name: str, *value: _Extra, profile: str | None = None) -> int:
    """Store a secret: its value typed at a hidden prompt, or piped on stdin (never an argument).

    The backend is the system keyring when a real one is active, else the encrypted file
    (FLEXT_SECRET_BACKEND=auto|keyring|file chooses; 'flext secret backend' says which).
    Setting an existing name replaces its value where it is kept.

    Args:
        name: The secret's name, as written in ${secret:NAME}.
        value: Refused: a value is never an argument.
        profile: The profile it belongs to (default: FLEXT_PROFILE, else 'default').

    """
    checked = _checked(name, profile, value, command="set")
    if checked.is_failure:
        return _failed(checked)
    from flext_plugin_secrets.prompt import read_value

    read = read_value(name)
    if read.is_failure:
        return _failed(read)
    stored = _store().set(checked.value, name, read.value)
    if stored.is_failure:
        return _failed(stored)
    data = {"name": name, "profile": checked.value, "backend": stored.value}
    return emit(data, human=f"secret {name} stored in profile {checked.value} ({stored.value})")


def get_secret(
    name: str,
    *value: _Extra,
    profile: str | None = None,
    reveal: Annotated[bool, Parameter(negative=())] = False,
) -> int:
    """Say whether a secret exists and which backend holds it; with --reveal, print its value.

    Args:
        name: The secret's name.
        value: Refused.
        profile: The profile (default: FLEXT_PROFILE, else 'default').
        reveal: Print the value itself on stdout (nothing else on that line).

    """
    checked = _checked(name, profile, value, command="get")
    if checked.is_failure:
        return _failed(checked)
    store = _store()
    if not reveal:
        where = store.exists(checked.value, name)
        if where.is_failure:
            return _failed(where)
        data = {"name": name, "profile": checked.value, "backend": where.value, "exists": True}
        return emit(
            data, human=f"secret {name} exists in profile {checked.value} ({where.value}); --reveal prints it"
        )
    found = store.get(checked.value, name)
    if found.is_failure:
        return _failed(found)
    if current().output != "table":
        return emit(
            {
                "name": name,
                "profile": checked.value,
                "backend": found.value.backend,
                "value": found.value.value,
            }
        )
    sys.stdout.write(found.value.value + "\n")
    return 0


def list_secrets(
    *, profile: str | None = None, all_profiles: Annotated[bool, Parameter(negative=())] = False
) -> int:
    """List the secrets: name, profile, backend and last update; never a value.

    Args:
        profile: Only this profile (default: FLEXT_PROFILE, else 'default').
        all_profiles: Every profile's secrets.

    """
    chosen = None if all_profiles else profile_of(profile)
    store = _store()
    rows = store.list(chosen)
    if rows.is_failure:
        return _failed(rows)
    backend = store.backend()
    if backend.is_success and current().output == "table":
        note(f"new secrets go to: {backend.value[0]} ({backend.value[1]})")
    if not rows.value and current().output == "table":
        note("no secrets" + (f" in profile {chosen}" if chosen else ""))
        return 0
    return emit_table(rows.value, ["name", "profile", "backend", "updated"])


def delete_secret(name: str, *value: _Extra, profile: str | None = None) -> int:
    """Delete a secret from its backend.

    Args:
        name: The secret's name.
        value: Refused.
        profile: The profile (default: FLEXT_PROFILE, else 'default').

    """
    checked = _checked(name, profile, value, command="delete")
    if checked.is_failure:
        return _failed(checked)
    removed = _store().delete(checked.value, name)
    if removed.is_failure:
        return _failed(removed)
    data = {"name": name, "profile": checked.value, "backend": removed.value, "deleted": True}
    return emit(data, human=f"secret {name} deleted from profile {checked.value} ({removed.value})")


def show_backend() -> int:
    """Which backend new secrets go to: the system keyring (which one) or the encrypted file (where)."""
    from flext_plugin_secrets.keyrings import describe

    store = _store()
    chosen = store.backend()
    if chosen.is_failure:
        return _failed(chosen)
    try:
        import keyring

        active = describe(keyring.get_keyring())
    except ImportError:
        active = "keyring not installed"
    kind, where = chosen.value
    data = {"backend": kind, "location": where, "active_keyring": active}
    why = "" if kind == "keyring" else f"; the active keyring ({active}) is not a system keyring FLEXT trusts"
    return emit(data, human=f"secrets are kept in: {kind} ({where}){why}")
