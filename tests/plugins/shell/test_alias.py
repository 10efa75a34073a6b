"""``flext alias add|list|remove``: stored in the config dir, checked, and expanded by ``aliases.expand``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from flext_plugin_shell.aliases import expand

from .helpers import flext


def test_add_list_remove(home: Path) -> None:
    added = flext(home, "alias", "add", "ps", "pipeline status --output json")
    assert added.returncode == 0, added.stderr
    listed = flext(home, "alias", "list", "--output", "json")
    assert json.loads(listed.stdout)["data"] == [{"name": "ps", "command": "pipeline status --output json"}]
    assert stat.S_IMODE((home / "aliases.json").stat().st_mode) == 0o600
    removed = flext(home, "alias", "remove", "ps")
    assert removed.returncode == 0
    assert json.loads(flext(home, "alias", "list", "--output", "json").stdout)["data"] == []


def test_bad_aliases_are_refused_and_nothing_is_written(home: Path) -> None:
    cases = [
        (("add", "pipeline", "plugin list"), "is a flext command"),
        (("add", "Bad Name", "plugin list"), "cannot be an alias"),
        (("add", "x", "'unclosed"), "does not parse"),
        (("add", "x", ""), "cannot be empty"),
        (("remove", "nope"), "no alias"),
    ]
    for args, message in cases:
        done = flext(home, "alias", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr
        assert "Traceback" not in done.stderr
    assert not (home / "aliases.json").exists()
    assert flext(home, "alias", "add", "x", "plugin list").returncode == 0
    again = flext(home, "alias", "add", "x", "version")
    assert again.returncode == 2
    assert "--force" in again.stderr
    assert flext(home, "alias", "add", "x", "version", "--force").returncode == 0


def test_expand_replaces_only_a_leading_alias_once() -> None:
    known = {"ps": "pipeline status", "loop": "loop again"}
    assert expand(["ps", "--json"], known) == [["pipeline", "status"][0], "status", "--json"]
    assert expand(["pipeline", "ps"], known) == ["pipeline", "ps"]
    assert expand(["loop"], known) == ["loop", "again"]
    assert expand([], known) == []
