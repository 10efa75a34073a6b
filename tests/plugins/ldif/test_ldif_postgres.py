"""Issue 15, item 1, end to end: a file with binary values loads every entry into PostgreSQL.

MeltanoLabs' target-postgres (installed with ``flext data targets add``, as
users install it) refused a text value holding ``\\u0000`` and lost the rest of
its insert batch: 20 ``audio::`` values whose bytes happen to be UTF-8 left 0
of 5,006 users loaded. Binary values now follow the attribute's syntax
(base64), and text holding a NUL is base64 too, so every entry loads.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml
from flext_plugin_ldif.sample import write_directory

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RIFF = b"\x00\x01\x02RIFF\x00\x00WAVE"
NUL_TEXT = b"nul \x00 here"


def _with_binary_values(path: Path) -> int:
    """A generated directory plus 20 users with an audio value and 5 with a NUL in a description."""
    count = write_directory(path, users=300, groups=10, ous=3, seed=15)
    with path.open("a", encoding="utf-8") as out:
        for n in range(25):
            data, name = (RIFF + bytes([n]), "audio") if n < 20 else (NUL_TEXT, "description")
            value = f"{name}:: {base64.b64encode(data).decode()}"
            out.write(
                f"\ndn: uid=sound{n},ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: sound{n}\n"
                f"cn: Sound {n}\nsn: S\n{value}\nmodifyTimestamp: 20240101000000Z\n"
            )
    return count + 25


def test_target_postgres_loads_every_entry_of_a_file_with_binary_values(
    flext_cli, tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    import psycopg

    added = flext_cli("data", "targets", "add", "target-postgres")
    assert added.exit_code == 0, added.stderr
    ldif = tmp_path / "directory.ldif"
    entries = _with_binary_values(ldif)
    config = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "", "database": "test",
              "default_target_schema": pg_schema}  # fmt: skip
    body = {
        "name": "binary-to-postgres",
        "extract": {"name": "tap-ldif", "config": {"files": [str(ldif)]}},
        "load": {"name": "target-postgres", "config": config},
    }
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    assert (
        flext_cli("data", "pipeline", "create", str(tmp_path / "pipeline.yaml"), "--replace").exit_code == 0
    )
    run = flext_cli("--output", "json", "pipeline", "run", "binary-to-postgres", "--no-retry")
    assert run.exit_code == 0, run.stderr
    assert sum(run.json()["data"]["records"].values()) == entries

    with psycopg.connect(postgres_url) as connection:
        loaded = sum(
            connection.execute(f'SELECT count(*) FROM "{pg_schema}"."{table}"').fetchone()[0]
            for (table,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (pg_schema,)
            ).fetchall()
        )
        sound = connection.execute(
            f'SELECT attributes, binary_attributes FROM "{pg_schema}".users WHERE uid = %s',
            ("sound3",),
        ).fetchone()
    assert loaded == entries
    attributes, binary = (json.loads(v) if isinstance(v, str) else v for v in sound)
    assert base64.b64decode(attributes["audio"][0]) == RIFF + bytes([3])
    assert "audio" in binary
