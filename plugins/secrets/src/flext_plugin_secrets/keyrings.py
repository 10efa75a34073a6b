"""Which system keyring, if any, may hold a secret: real ones by class, everything else refused.

``keyring.get_keyring()`` never says "none": on a headless machine it returns
``keyring.backends.fail.Keyring`` (every call raises ``NoKeyringError``) or,
with ``keyrings.alt`` installed, a file backend that writes the password in
plain text (``PlaintextKeyring``) or under a key of its own that FLEXT does
not manage (``EncryptedKeyring``). So FLEXT accepts only the classes of an
operating system's keyring service, checked by exact module and class name
(a subclass elsewhere is not trusted), and picks that backend out of a
``ChainerBackend`` itself instead of letting the chain fall back to the next
one when the first refuses a write. Anything else (a third-party backend
included) is not a keyring for FLEXT, which then uses its encrypted file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = ["SYSTEM_KEYRINGS", "describe", "is_system_keyring", "system_keyring"]

SYSTEM_KEYRINGS: Final = frozenset(
    {
        ("keyring.backends.SecretService", "Keyring"),
        ("keyring.backends.libsecret", "Keyring"),
        ("keyring.backends.kwallet", "DBusKeyring"),
        ("keyring.backends.kwallet", "DBusKeyringKWallet4"),
        ("keyring.backends.macOS", "Keyring"),
        ("keyring.backends.Windows", "WinVaultKeyring"),
    }
)
"""(module, class) of the keyrings of an operating system's service: the only ones trusted."""


def describe(backend: object) -> str:
    """``module.Class`` of a backend, for messages and ``flext secret backend``."""
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def is_system_keyring(backend: object) -> bool:
    """Whether ``backend`` is exactly one of ``SYSTEM_KEYRINGS`` (no subclass, no chain)."""
    kind = type(backend)
    return (kind.__module__, kind.__qualname__) in SYSTEM_KEYRINGS


def _candidates(backend: KeyringBackend) -> list[KeyringBackend]:
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        return list(backend.backends)
    return [backend]


def system_keyring(active: KeyringBackend | None = None) -> KeyringBackend | None:
    """The system keyring: ``active`` (default ``keyring.get_keyring()``) or the first real one it chains.

    None when there is none: the fail backend, ``keyrings.alt``'s files, a
    chain of only those, or ``keyring`` not installed.
    """
    if active is None:
        try:
            import keyring
        except ImportError:
            return None
        active = keyring.get_keyring()
    for candidate in _candidates(active):
        if is_system_keyring(candidate):
            return candidate
    return None
