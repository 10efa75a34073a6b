"""Where secrets are kept, chosen explicitly: the system keyring, else the encrypted file; never plain text.

``FLEXT_SECRET_BACKEND`` chooses: ``auto`` (the default) uses the system
keyring when a real one is active (``keyrings.system_keyring``) and the
encrypted file otherwise; ``keyring`` requires the system keyring and fails
closed (``SECRET_BACKEND_UNAVAILABLE``, nothing written) without one;
``file`` always uses the encrypted file. A secret stays where it was first
set: the index (``<data dir>/secrets/index.json``, names and times only)
records which backend holds each name, so a later ``get`` on a machine whose
keyring went away says so instead of looking in the wrong place, and ``set``
of an existing name updates it where it is.

Names in the keyring are ``flext/<profile>`` (service) and the secret's name
(user name).

Two orders matter. The passphrase is asked *before* the directory's lock is
taken: a prompt waiting for a person must not hold every other writer (a
scheduler's ``flext secret set`` with ``FLEXT_SECRET_KEY``) without limit.
And ``set`` of a new name writes its index entry before the value and takes
the entry back when the value cannot be written, so a crash or a kill in
between leaves at worst a name without a value (``get`` says not found,
``delete`` removes it), never a value no index knows of.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeGuard

from flext_kernel.errors import VALIDATION_ERROR
from flext_kernel.result import FlextResult
from flext_plugin_secrets.errors import SECRET_BACKEND_UNAVAILABLE, SECRET_NOT_FOUND, SECRET_STORE_FAILED
from flext_plugin_secrets.files import locked, read_json, write_json
from flext_plugin_secrets.keyrings import describe, system_keyring
from flext_plugin_secrets.vault import Vault, now

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = ["BACKEND_VARIABLE", "FILE_BACKEND", "KEYRING_BACKEND", "Passphrase", "SecretStore", "secrets_dir"]

BACKEND_VARIABLE: Final = "FLEXT_SECRET_BACKEND"
FILE_BACKEND: Final = "encrypted-file"
KEYRING_BACKEND: Final = "keyring"
_INDEX_FORMAT: Final = "flext-secrets-index"
_CHOICES: Final = ("auto", "keyring", "file")

Passphrase = Callable[[bool], FlextResult[str]]
"""Gives the passphrase of the encrypted file (the argument: True when the file is being created)."""


def secrets_dir() -> Path:
    """``<data dir>/secrets``."""
    from flext_kernel.paths import data_dir

    return data_dir() / "secrets"


def not_found(name: str, profile: str) -> FlextResult[Any]:
    """``SECRET_NOT_FOUND`` naming the secret and its profile."""
    return FlextResult.fail(
        f"no secret {name!r} in profile {profile!r}",
        error_code=SECRET_NOT_FOUND,
        error_data={"name": name, "profile": profile},
    )


@dataclass(frozen=True, slots=True)
class Found:
    """A secret read back: its value and where it was."""

    value: str
    backend: str


def _index_shaped(secrets: object) -> TypeGuard[dict[str, dict[str, dict[str, str]]]]:
    """Whether the index's ``secrets`` is ``{profile: {name: {"backend": known, "updated": str}}}``."""
    return isinstance(secrets, dict) and all(
        isinstance(profile, str)
        and isinstance(names, dict)
        and all(
            isinstance(name, str)
            and isinstance(entry, dict)
            and entry.get("backend") in (FILE_BACKEND, KEYRING_BACKEND)
            and isinstance(entry.get("updated"), str)
            for name, entry in names.items()
        )
        for profile, names in secrets.items()
    )


class SecretStore:
    """The secrets of every profile under ``directory``, in the keyring or the encrypted file."""

    def __init__(self, directory: Path, passphrase: Passphrase, choice: str | None = None) -> None:
        self.directory = directory
        self.vault_path = directory / "vault.json"
        self.index_path = directory / "index.json"
        self._passphrase = passphrase
        self._asked: FlextResult[str] | None = None
        self._choice = choice if choice is not None else os.environ.get(BACKEND_VARIABLE, "auto")

    # -- the backend ---------------------------------------------------------------------------

    def keyring(self) -> KeyringBackend | None:
        """The system keyring, when a real one is active."""
        return system_keyring()

    def backend(self) -> FlextResult[tuple[str, str]]:
        """(backend for new secrets, what it is): ``keyring`` + class, or ``encrypted-file`` + path."""
        if self._choice not in _CHOICES:
            return FlextResult.fail(
                f"{BACKEND_VARIABLE}={self._choice[:40]!r} is none of {', '.join(_CHOICES)}",
                error_code=VALIDATION_ERROR,
            )
        if self._choice == "file":
            return FlextResult.ok((FILE_BACKEND, str(self.vault_path)))
        found = self.keyring()
        if found is not None:
            return FlextResult.ok((KEYRING_BACKEND, describe(found)))
        if self._choice == "keyring":
            return self._no_keyring()
        return FlextResult.ok((FILE_BACKEND, str(self.vault_path)))

    def _no_keyring(self) -> FlextResult[Any]:
        active = "keyring is not installed"
        try:
            import keyring

            active = f"the active keyring is {describe(keyring.get_keyring())}"
        except ImportError:
            pass
        return FlextResult.fail(
            f"no system keyring is available ({active}, which FLEXT does not trust with secrets); "
            f"unset {BACKEND_VARIABLE} or set it to 'file' for the encrypted file",
            error_code=SECRET_BACKEND_UNAVAILABLE,
        )

    # -- the index -----------------------------------------------------------------------------

    def _index(self) -> FlextResult[dict[str, dict[str, dict[str, str]]]]:
        try:
            data = read_json(self.index_path)
        except (OSError, ValueError) as exc:
            return FlextResult.fail(
                f"{self.index_path} cannot be read: {exc}", error_code=SECRET_STORE_FAILED
            )
        if data is None:
            return FlextResult.ok({})
        secrets = data.get("secrets", {}) if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("format") != _INDEX_FORMAT or not _index_shaped(secrets):
            return FlextResult.fail(
                f"{self.index_path} is not a FLEXT secrets index", error_code=SECRET_STORE_FAILED
            )
        return FlextResult.ok(secrets)

    def _save_index(self, index: dict[str, dict[str, dict[str, str]]]) -> FlextResult[None]:
        try:
            write_json(self.index_path, {"format": _INDEX_FORMAT, "version": 1, "secrets": index})
        except OSError as exc:
            return FlextResult.fail(
                f"{self.index_path} cannot be written: {exc}", error_code=SECRET_STORE_FAILED
            )
        return FlextResult.ok(None)

    def _where(self, profile: str, name: str) -> FlextResult[str | None]:
        index = self._index()
        if index.is_failure:
            return FlextResult.fail(index.error or "", error_code=index.error_code)
        entry = index.value.get(profile, {}).get(name)
        return FlextResult.ok(entry["backend"] if entry else None)

    # -- the encrypted file --------------------------------------------------------------------

    def _ask(self, creating: bool) -> FlextResult[str]:
        """The passphrase, asked once per store (ahead of the lock, then reused under it)."""
        if self._asked is None:
            self._asked = self._passphrase(creating)
        return self._asked

    def _ask_ahead(self, profile: str, name: str, *, create: bool) -> FlextResult[None]:
        """Ask for the passphrase now, unlocked, when the operation will open the encrypted file.

        Whatever cannot be decided here (a damaged index, no backend) is left to the locked
        part, which reads everything again and reports it.
        """
        where = self._where(profile, name)
        if where.is_failure:
            return FlextResult.ok(None)
        backend = where.value
        if backend is None:
            chosen = self.backend() if create else None
            if chosen is None or chosen.is_failure:
                return FlextResult.ok(None)
            backend = chosen.value[0]
        if backend != FILE_BACKEND:
            return FlextResult.ok(None)
        read = Vault.read(self.vault_path)
        if read.is_failure or (read.value is None and not create):
            return FlextResult.ok(None)
        asked = self._ask(read.value is None)
        return (
            FlextResult.fail(asked.error or "", error_code=asked.error_code)
            if asked.is_failure
            else FlextResult.ok(None)
        )

    def _vault(self, *, create: bool) -> FlextResult[Vault | None]:
        read = Vault.read(self.vault_path)
        if read.is_failure or (read.value is None and not create):
            return read
        vault = read.value
        passphrase = self._ask(vault is None)
        if passphrase.is_failure:
            return FlextResult.fail(passphrase.error or "", error_code=passphrase.error_code)
        if vault is None:
            return FlextResult.ok(Vault.create(self.vault_path, passphrase.value))
        unlocked = vault.unlock(passphrase.value)
        if unlocked.is_failure:
            return FlextResult.fail(unlocked.error or "", error_code=unlocked.error_code)
        return FlextResult.ok(vault)

    # -- the operations ------------------------------------------------------------------------

    def set(self, profile: str, name: str, value: str) -> FlextResult[str]:
        """Store ``value`` as ``name`` where it is, else in the chosen backend; the backend's name."""
        asked = self._ask_ahead(profile, name, create=True)
        if asked.is_failure:
            return FlextResult.fail(asked.error or "", error_code=asked.error_code)
        with locked(self.directory):
            where = self._where(profile, name)
            if where.is_failure:
                return FlextResult.fail(where.error or "", error_code=where.error_code)
            backend = where.value
            new = backend is None
            if backend is None:
                chosen = self.backend()
                if chosen.is_failure:
                    return FlextResult.fail(chosen.error or "", error_code=chosen.error_code)
                backend = chosen.value[0]
                entered = self._indexed(profile, name, backend)  # the entry first: see the module's docstring
                if entered.is_failure:
                    return entered
            stored = (
                self._put_keyring(profile, name, value)
                if backend == KEYRING_BACKEND
                else self._put_file(profile, name, value)
            )
            if stored.is_failure:
                if new:
                    self._unindexed(profile, name)
                return FlextResult.fail(stored.error or "", error_code=stored.error_code)
            return self._indexed(profile, name, backend)

    def _indexed(self, profile: str, name: str, backend: str) -> FlextResult[str]:
        index = self._index()
        if index.is_failure:
            return FlextResult.fail(index.error or "", error_code=index.error_code)
        index.value.setdefault(profile, {})[name] = {"backend": backend, "updated": now()}
        saved = self._save_index(index.value)
        return saved.map(lambda _: backend)

    def _unindexed(self, profile: str, name: str) -> FlextResult[None]:
        index = self._index()
        if index.is_failure:
            return FlextResult.fail(index.error or "", error_code=index.error_code)
        names = index.value.get(profile, {})
        names.pop(name, None)
        if not names:
            index.value.pop(profile, None)
        return self._save_index(index.value)

    def _put_file(self, profile: str, name: str, value: str) -> FlextResult[None]:
        opened = self._vault(create=True)
        if opened.is_failure or opened.value is None:
            return FlextResult.fail(opened.error or "no vault", error_code=opened.error_code)
        opened.value.put(profile, name, value)
        return opened.value.save()

    def _keyring_or_fail(self) -> FlextResult[KeyringBackend]:
        found = self.keyring()
        if found is None:
            return self._no_keyring()
        return FlextResult.ok(found)

    def _put_keyring(self, profile: str, name: str, value: str) -> FlextResult[None]:
        from keyring.errors import KeyringError

        found = self._keyring_or_fail()
        if found.is_failure:
            return FlextResult.fail(found.error or "", error_code=found.error_code)
        try:
            found.value.set_password(f"flext/{profile}", name, value)
        except (KeyringError, OSError) as exc:
            return FlextResult.fail(
                f"the keyring refused the secret: {type(exc).__name__}", error_code=SECRET_BACKEND_UNAVAILABLE
            )
        return FlextResult.ok(None)

    def get(self, profile: str, name: str) -> FlextResult[Found]:
        """The value of ``name`` and its backend; ``SECRET_NOT_FOUND`` naming it when there is none."""
        where = self._where(profile, name)
        if where.is_failure:
            return FlextResult.fail(where.error or "", error_code=where.error_code)
        if where.value is None:
            return not_found(name, profile)
        if where.value == KEYRING_BACKEND:
            return self._get_keyring(profile, name)
        opened = self._vault(create=False)
        if opened.is_failure:
            return FlextResult.fail(opened.error or "", error_code=opened.error_code)
        if opened.value is None:
            return not_found(name, profile)
        value = opened.value.get(profile, name)
        if value.is_failure:
            return FlextResult.fail(value.error or "", error_code=value.error_code)
        if value.value is None:
            return not_found(name, profile)
        return FlextResult.ok(Found(value.value, FILE_BACKEND))

    def _get_keyring(self, profile: str, name: str) -> FlextResult[Found]:
        from keyring.errors import KeyringError

        found = self._keyring_or_fail()
        if found.is_failure:
            return FlextResult.fail(found.error or "", error_code=found.error_code)
        try:
            value = found.value.get_password(f"flext/{profile}", name)
        except (KeyringError, OSError) as exc:
            return FlextResult.fail(
                f"the keyring could not be read: {type(exc).__name__}", error_code=SECRET_BACKEND_UNAVAILABLE
            )
        if value is None:
            return not_found(name, profile)
        return FlextResult.ok(Found(value, f"{KEYRING_BACKEND} ({describe(found.value)})"))

    def exists(self, profile: str, name: str) -> FlextResult[str]:
        """The backend holding ``name`` (without reading the value), or ``SECRET_NOT_FOUND``."""
        where = self._where(profile, name)
        if where.is_failure:
            return FlextResult.fail(where.error or "", error_code=where.error_code)
        if where.value is None:
            return not_found(name, profile)
        return FlextResult.ok(where.value)

    def list(self, profile: str | None) -> FlextResult[list[dict[str, str]]]:
        """Rows of name, profile, backend, updated (all profiles when ``profile`` is None); never a value."""
        index = self._index()
        if index.is_failure:
            return FlextResult.fail(index.error or "", error_code=index.error_code)
        rows = [
            {"name": name, "profile": owner, "backend": entry["backend"], "updated": entry["updated"]}
            for owner, names in sorted(index.value.items())
            if profile is None or owner == profile
            for name, entry in sorted(names.items())
        ]
        return FlextResult.ok(rows)

    def delete(self, profile: str, name: str) -> FlextResult[str]:
        """Remove ``name`` from its backend and the index; the backend it was in."""
        asked = self._ask_ahead(profile, name, create=False)
        if asked.is_failure:
            return FlextResult.fail(asked.error or "", error_code=asked.error_code)
        with locked(self.directory):
            where = self.exists(profile, name)
            if where.is_failure:
                return where
            removed = (
                self._delete_keyring(profile, name)
                if where.value == KEYRING_BACKEND
                else self._delete_file(profile, name)
            )
            if removed.is_failure:
                return FlextResult.fail(removed.error or "", error_code=removed.error_code)
            return self._unindexed(profile, name).map(lambda _: where.value)

    def _delete_file(self, profile: str, name: str) -> FlextResult[None]:
        opened = self._vault(create=False)
        if opened.is_failure:
            return FlextResult.fail(opened.error or "", error_code=opened.error_code)
        if opened.value is None or not opened.value.remove(profile, name):
            return FlextResult.ok(None)
        return opened.value.save()

    def _delete_keyring(self, profile: str, name: str) -> FlextResult[None]:
        from keyring.errors import KeyringError, PasswordDeleteError

        found = self._keyring_or_fail()
        if found.is_failure:
            return FlextResult.fail(found.error or "", error_code=found.error_code)
        try:
            found.value.delete_password(f"flext/{profile}", name)
        except PasswordDeleteError:
            pass  # gone already: the index is what is left to clean
        except (KeyringError, OSError) as exc:
            return FlextResult.fail(
                f"the keyring refused the deletion: {type(exc).__name__}",
                error_code=SECRET_BACKEND_UNAVAILABLE,
            )
        return FlextResult.ok(None)
