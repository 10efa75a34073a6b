"""The encrypted file: only ciphertext on disk, a changed byte refused, a wrong passphrase refused."""

from __future__ import annotations

import json
from pathlib import Path

from flext_plugin_secrets.errors import SECRET_KEY_INVALID, SECRET_NOT_FOUND, SECRET_STORE_FAILED
from flext_plugin_secrets.store import SecretStore
from flext_plugin_secrets.vault import Vault

from flext_kernel.result import FlextResult

from .conftest import mode


def _key(passphrase: str) -> object:
    def give(creating: bool) -> FlextResult[str]:
        return FlextResult.ok(passphrase)

    return give


def test_round_trip_with_modes_and_no_clear_text(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets", _key("a long passphrase"), choice="file")  # type: ignore[arg-type]
    assert store.set("default", "PW", "value-in-the-vault").value == "encrypted-file"
    assert store.get("default", "PW").value.value == "value-in-the-vault"
    for path in (tmp_path / "secrets").iterdir():
        assert mode(path) == 0o600
        assert b"value-in-the-vault" not in path.read_bytes()
    assert mode(tmp_path / "secrets") == 0o700
    assert not [path for path in (tmp_path / "secrets").iterdir() if path.name.endswith(".tmp")]
    salt = json.loads((tmp_path / "secrets" / "vault.json").read_text())["kdf"]["salt"]
    other = SecretStore(tmp_path / "other", _key("a long passphrase"), choice="file")  # type: ignore[arg-type]
    other.set("default", "PW", "value-in-the-vault")
    assert json.loads((tmp_path / "other" / "vault.json").read_text())["kdf"]["salt"] != salt


def test_wrong_passphrase_tampered_token_and_foreign_file(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    SecretStore(directory, _key("the right one"), choice="file").set("p", "PW", "some-value")  # type: ignore[arg-type]
    wrong = SecretStore(directory, _key("the wrong one"), choice="file").get("p", "PW")  # type: ignore[arg-type]
    assert wrong.error_code == SECRET_KEY_INVALID
    vault = directory / "vault.json"
    data = json.loads(vault.read_text())
    token = data["secrets"]["p"]["PW"]["token"]
    data["secrets"]["p"]["PW"]["token"] = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    vault.write_text(json.dumps(data))
    damaged = SecretStore(directory, _key("the right one"), choice="file").get("p", "PW")  # type: ignore[arg-type]
    assert damaged.error_code == SECRET_STORE_FAILED
    assert "damaged" in (damaged.error or "")
    vault.write_text('{"hello": "world"}')
    foreign = Vault.read(vault)
    assert foreign.error_code == SECRET_STORE_FAILED


def test_missing_names_the_secret(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "s", _key("whatever-pass"), choice="file")  # type: ignore[arg-type]
    missing = store.get("prod", "NOPE")
    assert missing.error_code == SECRET_NOT_FOUND
    assert missing.error == "no secret 'NOPE' in profile 'prod'"
    assert store.delete("prod", "NOPE").error_code == SECRET_NOT_FOUND


def test_a_damaged_index_is_secret_store_failed(tmp_path: Path) -> None:
    """An index.json of the right format but the wrong shape is one SECRET_STORE_FAILED, never a crash."""
    directory = tmp_path / "s"
    store = SecretStore(directory, _key("whatever-pass"), choice="file")  # type: ignore[arg-type]
    assert store.set("p", "PW", "some-value").is_success
    shapes: list[object] = [
        {"secrets": []},
        {"secrets": {"p": []}},
        {"secrets": {"p": {"PW": "encrypted-file"}}},
        {"secrets": {"p": {"PW": {"updated": "now"}}}},
        {"secrets": {"p": {"PW": {"backend": 3, "updated": "now"}}}},
        {"secrets": {"p": {"PW": {"backend": "elsewhere", "updated": "now"}}}},
    ]
    for shape in shapes:
        (directory / "index.json").write_text(json.dumps({"format": "flext-secrets-index", **shape}))  # type: ignore[dict-item]
        for outcome in (
            store.get("p", "PW"),
            store.list(None),
            store.set("p", "X", "v-v-v"),
            store.delete("p", "PW"),
        ):
            assert outcome.is_failure, shape
            assert outcome.error_code == SECRET_STORE_FAILED, (shape, outcome.error)
            assert "\n" not in (outcome.error or "")


class _IndexWritesFail(SecretStore):
    """A disk that takes the vault but not the index (full, or the process killed in between)."""

    def _save_index(self, index: dict[str, dict[str, dict[str, str]]]) -> FlextResult[None]:
        return FlextResult.fail("index.json cannot be written: no space left", error_code=SECRET_STORE_FAILED)


def test_a_value_is_never_stored_without_its_index_entry(tmp_path: Path) -> None:
    directory = tmp_path / "s"
    assert (
        SecretStore(directory, _key("whatever-pass"), choice="file").set("p", "OLD", "old-value").is_success
    )  # type: ignore[arg-type]
    failing = _IndexWritesFail(directory, _key("whatever-pass"), choice="file")  # type: ignore[arg-type]
    outcome = failing.set("p", "NEW", "new-value-unindexed")
    assert outcome.is_failure
    assert outcome.error_code == SECRET_STORE_FAILED
    vault = Vault.read(directory / "vault.json").value
    assert vault is not None
    assert "NEW" not in vault.secrets.get("p", {}), "the value was written but the index does not know it"


class _VaultWritesFail(SecretStore):
    """The index is written, then the vault cannot be: the index entry is taken back."""

    def _put_file(self, profile: str, name: str, value: str) -> FlextResult[None]:
        return FlextResult.fail("vault.json cannot be written: no space left", error_code=SECRET_STORE_FAILED)


def test_a_failed_value_write_leaves_no_index_entry(tmp_path: Path) -> None:
    directory = tmp_path / "s"
    store = SecretStore(directory, _key("whatever-pass"), choice="file")  # type: ignore[arg-type]
    assert store.set("p", "OLD", "old-value").is_success
    failing = _VaultWritesFail(directory, _key("whatever-pass"), choice="file")  # type: ignore[arg-type]
    assert failing.set("p", "NEW", "new-value").is_failure
    assert [row["name"] for row in store.list(None).value] == ["OLD"]
    assert store.get("p", "OLD").value.value == "old-value"
