"""The encrypted file (``<data dir>/secrets/vault.json``): values as Fernet tokens, a passphrase's key.

The key is derived from the passphrase (typed at a hidden prompt, or
``FLEXT_SECRET_KEY``) with scrypt (n=2**15, r=8, p=1) and a random 16-byte
salt made with the file, so the same passphrase gives another key in another
file and guessing it costs 32 MiB and tens of milliseconds a try. The file
holds, in clear, only what ``flext secret list`` shows (names, profiles,
update times) and a ``check`` token: a passphrase that does not decrypt it is
refused before anything is read or written. Values are Fernet tokens
(AES-128-CBC with HMAC-SHA256), so a changed byte is refused, never
decrypted to something else.
"""

from __future__ import annotations

import base64
import functools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from flext_kernel.result import FlextResult
from flext_plugin_secrets.errors import SECRET_KEY_INVALID, SECRET_STORE_FAILED
from flext_plugin_secrets.files import read_json, write_json

__all__ = ["FORMAT", "Entry", "Vault"]

FORMAT: Final = "flext-secrets-vault"
"""The ``format`` field of the file: what makes it FLEXT's."""
_VERSION: Final = 1
_CHECK: Final = b"flext-secrets-check-v1"
_SCRYPT: Final = {"n": 2**15, "r": 8, "p": 1}


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored secret: its token and when it was last set."""

    token: str
    updated: str


def _key(passphrase: str, salt: bytes, params: dict[str, int]) -> Fernet:
    return _derived(passphrase, salt, params["n"], params["r"], params["p"])


@functools.lru_cache(maxsize=4)
def _derived(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    """The key, derived once per process for a file and passphrase (a pipeline resolves several names)."""
    kdf = Scrypt(salt=salt, length=32, n=n, r=r, p=p)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8"))))


def now() -> str:
    """The time now, ISO 8601 UTC to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Vault:
    """The file's content; ``open`` reads and checks it, ``save`` writes it whole."""

    path: Path
    salt: bytes
    params: dict[str, int]
    check: str
    secrets: dict[str, dict[str, Entry]] = field(default_factory=dict)
    fernet: Fernet | None = None

    @classmethod
    def read(cls, path: Path) -> FlextResult[Vault | None]:
        """The file's content without the key (enough to list names); None when there is no file."""
        try:
            data = read_json(path)
        except (OSError, ValueError) as exc:
            return FlextResult.fail(f"{path} cannot be read: {exc}", error_code=SECRET_STORE_FAILED)
        if data is None:
            return FlextResult.ok(None)
        try:
            if data["format"] != FORMAT or data["version"] != _VERSION:
                raise ValueError("format")
            kdf = data["kdf"]
            vault = cls(
                path=path,
                salt=base64.b64decode(kdf["salt"], validate=True),
                params={name: int(kdf[name]) for name in ("n", "r", "p")},
                check=str(data["check"]),
                secrets={
                    str(profile): {
                        str(name): Entry(token=str(entry["token"]), updated=str(entry["updated"]))
                        for name, entry in names.items()
                    }
                    for profile, names in data["secrets"].items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return FlextResult.fail(f"{path} is not a FLEXT secrets file", error_code=SECRET_STORE_FAILED)
        return FlextResult.ok(vault)

    @classmethod
    def create(cls, path: Path, passphrase: str) -> Vault:
        """A new, empty vault keyed by ``passphrase`` with a fresh salt (written by ``save``)."""
        salt = os.urandom(16)
        fernet = _key(passphrase, salt, dict(_SCRYPT))
        return cls(path, salt, dict(_SCRYPT), fernet.encrypt(_CHECK).decode("ascii"), {}, fernet)

    def unlock(self, passphrase: str) -> FlextResult[None]:
        """Derive the key; a passphrase that does not open the file is ``SECRET_KEY_INVALID``."""
        fernet = _key(passphrase, self.salt, self.params)
        try:
            opened = fernet.decrypt(self.check.encode("ascii"))
        except (InvalidToken, ValueError):
            opened = b""
        if opened != _CHECK:
            return FlextResult.fail(
                f"the passphrase does not open {self.path} (FLEXT_SECRET_KEY or the one typed)",
                error_code=SECRET_KEY_INVALID,
            )
        self.fernet = fernet
        return FlextResult.ok(None)

    def _fernet(self) -> Fernet:
        if self.fernet is None:
            raise RuntimeError("the vault is locked: unlock it first")  # a bug in the caller
        return self.fernet

    def get(self, profile: str, name: str) -> FlextResult[str | None]:
        """The value of ``name`` (None: absent); a token that does not decrypt: ``SECRET_STORE_FAILED``."""
        entry = self.secrets.get(profile, {}).get(name)
        if entry is None:
            return FlextResult.ok(None)
        try:
            return FlextResult.ok(self._fernet().decrypt(entry.token.encode("ascii")).decode("utf-8"))
        except (InvalidToken, ValueError, UnicodeDecodeError):
            return FlextResult.fail(
                f"secret {name!r} in {self.path} is damaged (it does not decrypt)",
                error_code=SECRET_STORE_FAILED,
            )

    def put(self, profile: str, name: str, value: str) -> None:
        """Encrypt ``value`` as ``name`` (written by ``save``)."""
        token = self._fernet().encrypt(value.encode("utf-8")).decode("ascii")
        self.secrets.setdefault(profile, {})[name] = Entry(token, now())

    def remove(self, profile: str, name: str) -> bool:
        """Forget ``name`` (written by ``save``); False when it was not there."""
        names = self.secrets.get(profile, {})
        if names.pop(name, None) is None:
            return False
        if not names:
            self.secrets.pop(profile, None)
        return True

    def as_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "format": FORMAT,
            "version": _VERSION,
            "kdf": {"name": "scrypt", "salt": base64.b64encode(self.salt).decode("ascii"), **self.params},
            "check": self.check,
            "secrets": {
                profile: {name: {"token": e.token, "updated": e.updated} for name, e in names.items()}
                for profile, names in self.secrets.items()
            },
        }

    def save(self) -> FlextResult[None]:
        """Write the file whole (0600, atomically)."""
        try:
            write_json(self.path, self.as_json())
        except OSError as exc:
            return FlextResult.fail(f"{self.path} cannot be written: {exc}", error_code=SECRET_STORE_FAILED)
        return FlextResult.ok(None)
