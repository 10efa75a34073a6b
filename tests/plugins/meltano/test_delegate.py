"""``flext meltano run|install|state``: the real meltano in the installed test project, recorded as events."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import MeltanoProject  # the fixture's type (tests/plugins/meltano/conftest.py)

pytestmark = pytest.mark.slow

STREAM = "meltano-warehouse-project"


def _events(project: MeltanoProject) -> list[dict[str, Any]]:
    shown = project.flext("--output", "json", "events", "show", STREAM)
    assert shown.exit_code == 0, str(shown)
    assert project.salt not in shown.stdout
    data = shown.json()["data"]
    return list(data["events"] if isinstance(data, dict) else data)


def _runs(project: MeltanoProject, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    events = [event for event in _events(project) if event["payload"].get("run_id") == run_id]
    assert [event["type"] for event in events] == ["meltano.RunStarted", "meltano.RunFinished"], events
    return events[0]["payload"], events[1]["payload"]


def _last_run_id(project: MeltanoProject) -> str:
    return str(_events(project)[-1]["payload"]["run_id"])


def _meltano(project: MeltanoProject, *args: str) -> subprocess.CompletedProcess[str]:
    """The same meltano flext runs, started directly in the project (what a user of Meltano alone gets)."""
    return subprocess.run(
        [str(project.meltano), *args],
        cwd=project.root,
        env={**project.cli.environment(project.env())},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_a_job_runs_delegated_and_is_recorded(meltano_project: MeltanoProject) -> None:
    done = meltano_project.flext(
        "meltano", "run", "directory-to-warehouse", "--full-refresh", "--project", str(meltano_project.root),
        env=meltano_project.warehouse("delegated"),
    )  # fmt: skip
    assert done.exit_code == 0, str(done)
    assert "Run completed" in done.stderr  # Meltano's own log, passed through
    assert meltano_project.salt not in done.stdout + done.stderr
    users = meltano_project.rows("delegated", "select dn, mail, mail_hash from users")
    assert len(users) == meltano_project.directory_users + meltano_project.contractor_users
    contractors = [row for row in users if "o=contractors" in str(row[0])]
    employees = [row for row in users if "o=contractors" not in str(row[0])]
    assert len(contractors) == meltano_project.contractor_users
    assert all(mail is not None and mail_hash is None for _dn, mail, mail_hash in contractors)
    # the hash-mail mapping ran on the first block only, with the salt from .env
    assert all(mail is None and len(str(mail_hash)) == 32 for _dn, mail, mail_hash in employees)
    started, finished = _runs(meltano_project, _last_run_id(meltano_project))
    assert started["command"] == "run"
    assert started["environment"] == "dev"
    assert started["blocks"] == [
        "tap-ldif -> hash-mail -> target-sqlite",
        "tap-ldif--contractors -> target-sqlite",
    ]
    assert finished["outcome"] == "completed"
    assert finished["exit_code"] == 0
    assert finished["blocks_completed"] == 2
    assert finished["records"]["users"] == meltano_project.directory_users + meltano_project.contractor_users
    assert finished["elapsed"] > 0


def test_meltano_failures_keep_their_exit_code_and_output(meltano_project: MeltanoProject) -> None:
    project = str(meltano_project.root)
    delegated = meltano_project.flext("meltano", "run", "tap-ldif", "no-such-loader", "--project", project)
    direct = _meltano(meltano_project, "run", "tap-ldif", "no-such-loader")
    assert direct.returncode != 0
    assert delegated.exit_code == direct.returncode, str(delegated)
    assert "no-such-loader" in delegated.stderr
    _started, finished = _runs(meltano_project, _last_run_id(meltano_project))
    assert finished["outcome"] == "failed"
    assert finished["exit_code"] == direct.returncode


def test_state_commands_print_what_meltano_prints(meltano_project: MeltanoProject) -> None:
    project = str(meltano_project.root)
    delegated = meltano_project.flext("meltano", "state", "list", "--project", project)
    direct = _meltano(meltano_project, "state", "list")
    assert delegated.exit_code == direct.returncode == 0, str(delegated)
    assert delegated.stdout == direct.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_flext_reaches_meltano_and_the_run_is_recorded_interrupted(
    meltano_project: MeltanoProject, signum: signal.Signals
) -> None:
    command = [
        *meltano_project.cli.command, "meltano", "run", "tap-ldif", "target-sqlite", "--full-refresh",
        "--project", str(meltano_project.root),
    ]  # fmt: skip
    environment = meltano_project.cli.environment(
        {**meltano_project.env(), **meltano_project.warehouse("stopped")}
    )
    # no terminal here: a SIGINT reaches flext alone (as from kill -INT), and flext sends it on
    with subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        seen: list[str] = []
        for line in process.stderr:
            seen.append(line)
            if "Running catalog discovery" in line:  # meltano is running the block
                process.send_signal(signum)
                break
        rest = process.stderr.read()
        code = process.wait(timeout=300)
    assert code != 0, "".join(seen) + rest
    _started, finished = _runs(meltano_project, _last_run_id(meltano_project))
    assert finished["outcome"] == "interrupted"
    assert finished["exit_code"] == code
    if signum == signal.SIGTERM:
        assert "The process was terminated" in rest  # Meltano says so when it gets SIGTERM


def _edited(meltano_project: MeltanoProject, tmp_path: Path, old: str, new: str) -> Path:
    root = meltano_project.fresh_copy(tmp_path / "edited")
    text = (root / "meltano.yml").read_text(encoding="utf-8")
    assert old in text
    (root / "meltano.yml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    executable: tap-ldif\n",
            "    executable: tap-ldif\n    pip_urll: tap-ldif\n",
            "meltano.yml:16: plugins.extractors[0].pip_urll: unknown key",
        ),
        (
            "  - tap-ldif--contractors target-sqlite\n",
            "  - tap-ldif--contractors target-postgres\n",
            "job 'directory-to-warehouse' names 'target-postgres', which no plugin or mapping is",
        ),
        (
            "pip_url: meltano-map-transform==0.12.3",
            "pip_url: meltano-map-transform===",
            "plugins.mappers[0].pip_url: 'meltano-map-transform===' is not a requirement pip can install",
        ),
        (
            "pip_url: $FLEXT_CHECKOUT/kernel $FLEXT_CHECKOUT/sdk $FLEXT_CHECKOUT/plugins/sqlite",
            "pip_url: $FLEXT_CHECKOUT/kernel $FLEXT_CHECKOUT/plugins/no-such-target",
            "plugins.loaders[0].pip_url: '$FLEXT_CHECKOUT/plugins/no-such-target' is a local path that "
            "does not exist",
        ),
        (
            "default_environment: dev",
            "default_environment: staging",
            "default_environment: no environment 'staging' in",
        ),
        (
            "    inherit_from: tap-ldif\n",
            "    inherit_from: tap-ldap\n",
            "inherit_from: plugin 'tap-ldif--contractors' inherits from 'tap-ldap'",
        ),
    ],
    ids=[
        "unknown-key",
        "missing-plugin",
        "bad-requirement",
        "missing-path",
        "unknown-environment",
        "bad-parent",
    ],
)
def test_a_bad_project_is_one_line_naming_file_and_key_and_meltano_never_starts(
    meltano_project: MeltanoProject, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    root = _edited(meltano_project, tmp_path, old, new)
    done = meltano_project.flext("meltano", "run", "directory-to-warehouse", "--project", str(root))
    assert done.exit_code == 2, str(done)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert expected in errors[0]
    assert "meltano.yml" in errors[0]
    assert errors[0].endswith("(VALIDATION_ERROR)")
    assert "Traceback" not in done.stderr
    assert not (root / ".meltano").exists()


def test_an_unknown_environment_option_is_refused(meltano_project: MeltanoProject) -> None:
    done = meltano_project.flext(
        "meltano",
        "run",
        "directory-to-warehouse",
        "--environment",
        "staging",
        "--project",
        str(meltano_project.root),
    )
    assert done.exit_code == 2, str(done)
    assert "--environment: no environment 'staging'" in done.stderr
    assert "(its environments: dev, prod)" in done.stderr


def test_no_project_is_refused(meltano_project: MeltanoProject, tmp_path: Path) -> None:
    done = meltano_project.flext("meltano", "run", "x", "--project", str(tmp_path))
    assert done.exit_code == 2, str(done)
    assert "no meltano.yml here or in a parent directory" in done.stderr


def test_the_events_hold_no_secret(meltano_project: MeltanoProject) -> None:
    assert json.dumps(_events(meltano_project)).find(meltano_project.salt) == -1


def test_a_delegated_run_carries_the_actions_id_and_meltano_gets_it(
    meltano_project: MeltanoProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = meltano_project.flext(
        "meltano", "invoke", "tap-ldif", "--about", "--project", str(meltano_project.root),
        env={"FLEXT_CORRELATION_ID": "ci-melt-5"},
    )  # fmt: skip
    assert done.exit_code == 0, str(done)
    run_id = _last_run_id(meltano_project)
    _runs(meltano_project, run_id)  # one start and one finish
    assert run_id != "ci-melt-5"  # the run keeps its own id
    shown = [event for event in _events(meltano_project) if event["payload"].get("run_id") == run_id]
    assert {event.get("correlation_id") or event["payload"].get("correlation_id") for event in shown} == {
        "ci-melt-5"
    }, shown

    from flext_plugin_meltano.delegate import meltano_environ

    from flext_kernel.correlation import correlation_scope

    monkeypatch.setenv("FLEXT_CORRELATION_ID", "not valid\n")  # the CLI made its own id: that one goes on
    with correlation_scope("made-by-cli-1"):
        assert meltano_environ()["FLEXT_CORRELATION_ID"] == "made-by-cli-1"
