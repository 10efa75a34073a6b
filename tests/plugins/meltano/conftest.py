"""The Meltano project of these tests, installed once per session with the real ``flext meltano install``.

``project/`` is a Meltano project as a data team keeps one (see its
``meltano.yml``). The session copies it, writes the ``.env`` a user would
(not committed: Meltano's own ``.gitignore`` leaves it out), and runs
``flext meltano install`` in the copy: Meltano builds the plugins' virtual
environments (tap-ldif and target-sqlite from this checkout, the mapper
from PyPI) into its ``.meltano/``. Tests that run the project use their own
warehouse file (``TARGET_SQLITE_DATABASE``: Meltano takes a setting from its
environment variable before meltano.yml) so they do not see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from flext_sdk.testing import CliResult, FlextCliRunner

CHECKOUT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).resolve().parent / "project"
SALT = "pepper-7f3a9c-not-for-logs"
"""The secret ``.env`` holds (the mapper's hash salt); it must never be copied or shown."""
CONTRACTORS_BASE_DN = "o=contractors,dc=example,dc=org"
DIRECTORY_USERS = 30
CONTRACTOR_USERS = 3


@dataclass(frozen=True)
class MeltanoProject:
    """The installed copy of the test project, and a ``flext`` to run in it."""

    root: Path
    home: Path
    cli: FlextCliRunner
    salt: str = SALT
    directory_users: int = DIRECTORY_USERS
    contractor_users: int = CONTRACTOR_USERS

    def flext(self, *args: str, env: Mapping[str, str] | None = None) -> CliResult:
        """``flext *args`` with the project's environment variables (``FLEXT_CHECKOUT``) and ``env``."""
        return self.cli(*args, env={**self.env(), **(env or {})})

    def env(self) -> dict[str, str]:
        return {"FLEXT_CHECKOUT": str(CHECKOUT), "FLEXT_TOOLS_DIR": tools_dir()}

    @property
    def meltano(self) -> Path:
        """The meltano flext installed (the tool environment ``meltano``)."""
        return Path(tools_dir()) / "meltano" / "bin" / "meltano"

    def fresh_copy(self, destination: Path) -> Path:
        """Another, uninstalled copy of the project (for tests that edit it)."""
        return copy_project(destination)

    def warehouse(self, name: str) -> dict[str, str]:
        """The environment that points the project's loader at its own file ``output/<name>.db``."""
        return {"TARGET_SQLITE_DATABASE": str(self.root / "output" / f"{name}.db")}

    def rows(self, warehouse: str, sql: str) -> list[tuple[object, ...]]:
        """What ``sql`` returns from the warehouse file ``output/<warehouse>.db``."""
        with sqlite3.connect(self.root / "output" / f"{warehouse}.db") as connection:
            return connection.execute(sql).fetchall()


def tools_dir() -> str:
    """The tool environments shared by test runs (Meltano's is built once)."""
    return os.environ.get("FLEXT_TOOLS_DIR") or str(Path(platformdirs.user_cache_dir("flext")) / "test-tools")


def copy_project(destination: Path) -> Path:
    """A fresh copy of the fixture project with the ``.env`` a user writes."""
    shutil.copytree(FIXTURE, destination, ignore=shutil.ignore_patterns(".meltano", "output", ".env"))
    (destination / ".env").write_text(
        f"MAIL_HASH_SALT={SALT}\nCONTRACTORS_BASE_DN={CONTRACTORS_BASE_DN}\n", encoding="utf-8"
    )
    return destination


@pytest.fixture(scope="session")
def meltano_schema() -> Path:
    """meltano.yml's JSON schema from the pinned Meltano (its tool environment is built if needed)."""
    from flext_plugin_meltano.tool import MELTANO, TOOL_NAME
    from flext_plugin_meltano.tool import meltano_schema as schema_of

    from flext_sdk import tools

    previous = os.environ.get("FLEXT_TOOLS_DIR")
    os.environ["FLEXT_TOOLS_DIR"] = tools_dir()
    try:
        environment = tools.install(TOOL_NAME, MELTANO).unwrap()
    finally:
        if previous is None:
            del os.environ["FLEXT_TOOLS_DIR"]
        else:
            os.environ["FLEXT_TOOLS_DIR"] = previous
    schema = schema_of(environment)
    assert schema is not None, environment.path
    return schema


@pytest.fixture(scope="session")
def meltano_project(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    """The project, installed with ``flext meltano install`` (Meltano builds its plugins once per session)."""
    base = tmp_path_factory.mktemp("meltano")
    root = copy_project(base / "warehouse-project")
    home = base / "flext-home"
    home.mkdir()
    project = MeltanoProject(root=root, home=home, cli=FlextCliRunner(home, timeout=1200))
    installed = project.flext("meltano", "install", "--project", str(root))
    assert installed.exit_code == 0, str(installed)
    return project


class ProjectCopy:
    """A fresh, uninstalled copy of the project and a FLEXT home of its own (``home`` fixture)."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = copy_project(tmp_path / "warehouse-project")
        home = tmp_path / "home"
        home.mkdir()
        self.cli = FlextCliRunner(home, timeout=600)

    def flext(self, *args: str) -> CliResult:
        return self.cli(*args, env={"FLEXT_CHECKOUT": str(CHECKOUT), "FLEXT_TOOLS_DIR": tools_dir()})

    def schedules(self) -> dict[str, dict[str, Any]]:
        listed = self.flext("--output", "json", "schedule", "list")
        assert listed.exit_code == 0, str(listed)
        return {entry["schedule"]: entry for entry in listed.json()["data"]}

    def edit(self, old: str, new: str) -> None:
        path = self.root / "meltano.yml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def home(tmp_path: Path) -> ProjectCopy:
    """A copy of the project and an empty FLEXT home (Meltano's environment is the session's)."""
    return ProjectCopy(tmp_path)
