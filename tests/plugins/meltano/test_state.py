"""``flext meltano state export|import``: switch between delegated and native runs without a re-sync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import MeltanoProject  # the fixture's type (tests/plugins/meltano/conftest.py)

pytestmark = pytest.mark.slow

STATE_ID = "dev:tap-ldif--contractors-to-target-sqlite"
PIPELINE = "tap-ldif--contractors-to-target-sqlite"
NEW_CONTRACTOR = """
dn: uid=dsilva,ou=people,o=contractors,dc=example,dc=org
objectClass: top
objectClass: person
objectClass: inetOrgPerson
uid: dsilva
cn: Dara Silva
sn: Silva
mail: dara.silva@partners.example.org
modifyTimestamp: 20240405130000Z
"""


def _dotenv(project: MeltanoProject) -> dict[str, str]:
    lines = (project.root / ".env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _meltano_state(project: MeltanoProject) -> dict[str, Any]:
    shown = project.flext("meltano", "state", "get", STATE_ID, "--project", str(project.root))
    assert shown.exit_code == 0, str(shown)
    state = json.loads(shown.stdout)["singer_state"]
    assert isinstance(state, dict)
    return state


def _native_run(project: MeltanoProject) -> dict[str, Any]:
    done = project.flext("--output", "json", "pipeline", "run", PIPELINE, env=_dotenv(project))
    assert done.exit_code == 0, str(done)
    data = done.json()["data"]
    assert isinstance(data, dict)
    return data


def _last_delegated_records(project: MeltanoProject) -> dict[str, int]:
    shown = project.flext("--output", "json", "events", "show", "meltano-warehouse-project")
    data = shown.json()["data"]
    events = data["events"] if isinstance(data, dict) else data
    finished = [event["payload"] for event in events if event["type"] == "meltano.RunFinished"]
    assert finished[-1]["outcome"] == "completed"
    return dict(finished[-1]["records"])


@pytest.fixture
def contractors_file(meltano_project: MeltanoProject) -> Iterator[Path]:
    """The contractors' LDIF export, restored after the test (other tests count its 3 users)."""
    path = meltano_project.root / "data" / "contractors.ldif"
    original = path.read_bytes()
    yield path
    path.write_bytes(original)


def test_state_moves_from_meltano_to_flext_and_back(
    meltano_project: MeltanoProject, contractors_file: Path
) -> None:
    project = str(meltano_project.root)
    imported = meltano_project.flext("meltano", "import", project, env=_dotenv(meltano_project))
    assert imported.exit_code == 0, str(imported)
    cleared = meltano_project.flext("meltano", "state", "clear", "--force", STATE_ID, "--project", project)
    assert cleared.exit_code == 0, str(cleared)
    # 1. a delegated run: Meltano holds the state
    delegated = meltano_project.flext(
        "meltano", "run", "tap-ldif--contractors", "target-sqlite", "--project", project,
        env=meltano_project.warehouse("state-delegated"),
    )  # fmt: skip
    assert delegated.exit_code == 0, str(delegated)
    assert _last_delegated_records(meltano_project) == {"users": meltano_project.contractor_users}
    meltano_state = _meltano_state(meltano_project)
    # 2. export it to FLEXT: the native incremental run extracts nothing new
    exported = meltano_project.flext("meltano", "state", "export", STATE_ID, "--project", project)
    assert exported.exit_code == 0, str(exported)
    assert STATE_ID in exported.stdout
    assert _native_run(meltano_project)["total_records"] == 0
    # 3. a change, loaded natively: FLEXT's state moves past Meltano's
    with contractors_file.open("a", encoding="utf-8") as ldif:
        ldif.write(NEW_CONTRACTOR)
    assert _native_run(meltano_project)["records"] == {"users": 1}
    # 4. import FLEXT's state back into Meltano: its delegated run extracts nothing new either
    back = meltano_project.flext("meltano", "state", "import", STATE_ID, "--project", project)
    assert back.exit_code == 0, str(back)
    moved = _meltano_state(meltano_project)
    assert moved != meltano_state
    assert moved["bookmarks"]["users"]["replication_key_value"].startswith("2024-04-05T13:00:00")
    again = meltano_project.flext(
        "meltano", "run", "tap-ldif--contractors", "target-sqlite", "--project", project,
        env=meltano_project.warehouse("state-delegated"),
    )  # fmt: skip
    assert again.exit_code == 0, str(again)
    assert _last_delegated_records(meltano_project).get("users", 0) == 0
    assert meltano_project.rows("state-delegated", "select count(*) from users") == [
        (meltano_project.contractor_users,)
    ]


def test_state_of_a_block_nobody_ran_is_not_found(meltano_project: MeltanoProject) -> None:
    done = meltano_project.flext(
        "meltano", "state", "export", "prod:tap-ldif--contractors-to-target-sqlite",
        "--project", str(meltano_project.root), "--environment", "prod",
    )  # fmt: skip
    assert done.exit_code == 2, str(done)
    assert "Meltano has no state for 'prod:tap-ldif--contractors-to-target-sqlite'" in done.stderr


def test_a_malformed_state_id_is_refused(meltano_project: MeltanoProject) -> None:
    done = meltano_project.flext(
        "meltano", "state", "import", "tap-ldif", "--project", str(meltano_project.root)
    )
    assert done.exit_code == 2, str(done)
    assert "is not a Meltano state id (<environment>:<extractor>-to-<loader>)" in done.stderr
