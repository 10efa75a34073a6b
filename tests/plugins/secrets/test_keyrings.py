"""Which keyring FLEXT trusts: an OS keyring service's classes, never the fail or keyrings.alt backends."""

from __future__ import annotations

from typing import Any

import pytest
from flext_plugin_secrets.keyrings import describe, is_system_keyring, system_keyring
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, libsecret
from keyrings.alt import file as alt_file


def _chain(*backends: KeyringBackend) -> chainer.ChainerBackend:
    """A ChainerBackend over exactly ``backends`` (keyring builds its list from what is installed)."""

    class Chain(chainer.ChainerBackend):
        @property  # type: ignore[override]
        def backends(self) -> list[KeyringBackend]:
            return list(backends)

    return Chain()


def test_the_fail_and_alt_backends_are_refused() -> None:
    encrypted = object.__new__(
        alt_file.EncryptedKeyring
    )  # its __init__ needs pycryptodome; the class is the point
    for backend in (fail.Keyring(), alt_file.PlaintextKeyring(), encrypted):
        assert not is_system_keyring(backend), describe(backend)
        assert system_keyring(backend) is None, describe(backend)


def test_a_chain_of_only_untrusted_backends_is_refused() -> None:
    assert system_keyring(_chain(alt_file.PlaintextKeyring(), fail.Keyring())) is None
    assert system_keyring(_chain()) is None


def test_the_system_keyring_is_picked_out_of_a_chain_whatever_comes_after_it() -> None:
    real = SecretService.Keyring()
    assert is_system_keyring(real)
    assert system_keyring(real) is real
    assert system_keyring(_chain(alt_file.PlaintextKeyring(), real)) is real
    other = libsecret.Keyring()
    assert system_keyring(_chain(other, alt_file.PlaintextKeyring())) is other


def test_a_subclass_of_a_system_keyring_elsewhere_is_not_trusted() -> None:
    class Lookalike(SecretService.Keyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise AssertionError("never called")

    assert not is_system_keyring(Lookalike())


def test_the_active_backend_here_is_the_plaintext_fallback_and_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What keyring itself picks on this headless machine with keyrings.alt installed."""
    import keyring
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    previous: Any = keyring.get_keyring()
    keyring.core.init_backend()
    try:
        assert describe(keyring.get_keyring()) == "keyrings.alt.file.PlaintextKeyring"
        assert system_keyring() is None
    finally:
        keyring.set_keyring(previous)
