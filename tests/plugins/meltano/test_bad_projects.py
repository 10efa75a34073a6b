"""Every ``flext meltano`` command that reads a project refuses a bad one the same way.

The delegated commands' cases are in ``test_delegate.py``; here each other
command (``import``, ``schedules import``, ``test``, ``state export``) meets
the issue's bad inputs: one ``error:`` line naming ``meltano.yml`` and the
key, exit 2, nothing written (no schedule, no pipeline, no ``.meltano/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import ProjectCopy  # the fixture's type (tests/plugins/meltano/conftest.py)

BAD = [
    (
        "send_anonymous_usage_stats: false",
        "send_anonymous_usage_stats: false\nschedulez: []",
        "schedulez: unknown key",
    ),
    (
        "  - tap-ldif--contractors target-sqlite\n",
        "  - tap-ldif--contractors target-postgres\n",
        "names 'target-postgres', which no plugin or mapping is",
    ),
    (
        "pip_url: meltano-map-transform==0.12.3",
        "pip_url: meltano-map-transform===",
        "is not a requirement pip",
    ),
    ("default_environment: dev", "default_environment: staging", "no environment 'staging'"),
]
COMMANDS = [
    ("import", "{root}"),
    ("import", "{root}", "--dry-run"),
    ("schedules", "import", "{root}"),
    ("test", "--project", "{root}"),
    ("state", "export", "--project", "{root}"),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), BAD, ids=["unknown-key", "missing-plugin", "bad-pip-url", "env"]
)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_a_bad_project_is_one_line_and_exit_2(
    home: ProjectCopy, old: str, new: str, expected: str, command: tuple[str, ...]
) -> None:
    home.edit(old, new)
    done = home.flext("meltano", *(part.format(root=home.root) for part in command))
    assert done.exit_code == 2, str(done)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert expected in errors[0]
    assert "meltano.yml" in errors[0]
    assert "Traceback" not in done.stderr
    assert not (home.root / ".meltano").exists()
    assert home.schedules() == {}


def test_an_unknown_environment_option_is_refused_by_the_import(home: ProjectCopy) -> None:
    done = home.flext("meltano", "schedules", "import", str(home.root), "--environment", "staging")
    assert done.exit_code == 2, str(done)
    assert "--environment: no environment 'staging'" in done.stderr
    assert home.schedules() == {}
