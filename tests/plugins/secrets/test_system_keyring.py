"""A real system keyring: GNOME Keyring's Secret Service on a private D-Bus session, through the real CLI.

``dbus-run-session`` starts a session bus of the test's own, ``gnome-keyring-daemon``
unlocks a login keyring in the test's ``HOME``, and ``flext secret`` (backend
``auto``) must pick it out of keyring's chain, store the value there, read it
back, list and delete it, and leave it in no file in clear. The daemon and
bus end with the session.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Secrets

pytestmark = pytest.mark.slow

VALUE = "in-the-system-keyring-7Qx"

SESSION = """
set -e
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'login-keyring-pass\\n' | gnome-keyring-daemon --unlock --components=secrets)"
eval "$(gnome-keyring-daemon --start --components=secrets)"
flext() {{ {flext} "$@"; }}
printf '%s' "$SECRET_VALUE_FOR_TEST" | flext secret set KR_TOKEN --profile prod
echo "--- backend"; flext --output json secret backend
echo "--- reveal"; flext secret get KR_TOKEN --profile prod --reveal
echo "--- list"; flext --output json secret list --profile prod
echo "--- delete"; flext secret delete KR_TOKEN --profile prod
echo "--- after"; flext secret get KR_TOKEN --profile prod --reveal || echo "exit=$?"
"""


def test_secrets_go_to_a_real_system_keyring_when_there_is_one(secrets: Secrets, tmp_path: Path) -> None:
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} needed (apt-get install dbus gnome-keyring)")
    script = tmp_path / "session.sh"
    script.write_text(SESSION.format(flext=shlex.join(secrets.runner.command)))
    environment = secrets.environment(
        {
            "PYTHON_KEYRING_BACKEND": None,  # keyring's own choice: its chain, Secret Service first
            "FLEXT_SECRET_KEY": None,  # no encrypted file may be needed
            "XDG_RUNTIME_DIR": str(tmp_path / "run"),
            "SECRET_VALUE_FOR_TEST": VALUE,  # the script pipes it; it is in no argv
        }
    )
    done = subprocess.run(
        ["dbus-run-session", "--", "bash", str(script)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sections = dict(part.split("\n", 1) for part in done.stdout.split("--- ")[1:])
    assert '"backend": "keyring"' in sections["backend"]
    assert "keyring.backends.SecretService.Keyring" in sections["backend"]
    assert sections["reveal"] == VALUE + "\n"
    assert '"backend": "keyring"' in sections["list"]
    assert VALUE not in sections["list"]
    assert "(SECRET_NOT_FOUND)" in done.stderr
    assert "exit=2" in sections["after"]
    assert not (secrets.runner.home / "data" / "secrets" / "vault.json").exists()
    assert secrets.holding(VALUE) == []
