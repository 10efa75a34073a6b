"""URL values (``attr:< file:///...``): refused unless allowed, then read only from one directory.

A URL value makes whoever reads an LDIF file read another file, named by
whoever wrote the LDIF. These tests plant a secret next to the allowed
directory and check that no way of naming it (absolute path, ``..``,
percent-encoded ``..``, a symlink to it or to its directory, another scheme)
gets its content into entries, records, messages or errors; and that the tap
(a real subprocess) and ``flext data ldif inspect`` report a refusal as one
line naming the file, the line and the settings that allow URL values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flext_plugin_ldif import LdifEntry, LdifError, UrlValues, ldif_parser, parse_ldif, read_ldif
from flext_plugin_ldif.records import url_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_sdk.testing import FlextCliRunner

TAP = Path(sys.executable).with_name("tap-ldif")
SECRET = "s3cret-6f1d0c2e-not-for-the-data"
"""The content of the file outside the allowed directory: it must never show up anywhere."""


class Tree:
    """``root/secret.txt`` (the secret) beside ``root/values/`` (the allowed directory)::

    root/
      secret.txt                  SECRET
      values/
        name.txt                  "Ada Lovelace"
        sub/photo.bin             bytes that are not UTF-8
        with space.txt            "spaced"
        inner-link.txt -> sub/inner.txt ("inside"): a symlink that stays inside
        escape.txt -> ../secret.txt: a symlink that leads out
        outside-dir -> ..: a symlinked directory that leads out
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.secret = root / "secret.txt"
        self.values = root / "values"
        (self.values / "sub").mkdir(parents=True)
        self.secret.write_text(SECRET)
        (self.values / "name.txt").write_text("Ada Lovelace")
        (self.values / "sub" / "photo.bin").write_bytes(b"\x89PNG\x00\xff")
        (self.values / "sub" / "inner.txt").write_text("inside")
        (self.values / "with space.txt").write_text("spaced")
        (self.values / "inner-link.txt").symlink_to(Path("sub") / "inner.txt")
        (self.values / "escape.txt").symlink_to(Path("..") / "secret.txt")
        (self.values / "outside-dir").symlink_to("..", target_is_directory=True)

    def allow(self) -> UrlValues:
        return UrlValues.under(self.values)


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path / "tree")


def entries(text: str, urls: UrlValues | None = None) -> list[LdifEntry]:
    return list(parse_ldif(text, source="in.ldif", url_values=urls))


def refusal(text: str, urls: UrlValues | None = None) -> LdifError:
    with pytest.raises(LdifError) as caught:
        entries(text, urls)
    assert SECRET not in str(caught.value)
    assert "\n" not in str(caught.value)
    return caught.value


def escapes(tree: Tree) -> list[str]:
    """URLs that all name the secret, each in another way."""
    values = tree.values
    return [
        f"file://{tree.secret}",
        f"file://localhost{tree.secret}",
        f"file://{values}/../secret.txt",
        f"file://{values}/sub/../../secret.txt",
        f"file://{values}/%2e%2e/secret.txt",
        f"file://{values}/escape.txt",
        f"file://{values}/outside-dir/secret.txt",
        f"file://{values}/outside-dir/values/escape.txt",
    ]


# --- the parser ------------------------------------------------------------------------------


def test_url_values_are_refused_by_default_without_touching_the_file(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    def touched(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused URL value's file was looked at")

    monkeypatch.setattr(ldif_parser, "_read_under", touched)
    text = f"dn: cn=a,dc=x\ncn: a\n\ndn: cn=b,dc=x\ncn: b\nsn:< file://{tree.values}/name.txt\n"
    error = refusal(text)
    assert (error.source, error.line) == ("in.ldif", 6)
    assert "the value of 'sn' is the URL" in error.reason
    assert "refused unless allowed" in error.reason
    assert "UrlValues.under(" in error.reason  # how to allow it, from Python
    with pytest.raises(LdifError, match="refused unless allowed"):
        list(read_ldif(_write(tree.root / "x.ldif", text)))


def test_allowed_url_values_under_the_directory_are_read(tree: Tree) -> None:
    values = tree.values
    (entry,) = entries(
        f"dn: cn=x\ncn:< file://{values}/name.txt\nphoto:<file://localhost{values}/sub/photo.bin\n"
        f"sn:< file://{values}/with%20space.txt\ndescription:< FILE://{values}/sub/../inner-link.txt\n",
        tree.allow(),
    )
    assert entry.attributes["cn"] == ["Ada Lovelace"]
    assert entry.attributes["photo"] == ["iVBORwD/"]  # base64: the bytes are not UTF-8
    assert entry.binary == frozenset({"photo"})
    assert entry.attributes["sn"] == ["spaced"]
    assert entry.attributes["description"] == ["inside"]  # a symlink that stays inside is fine


def test_the_directory_may_be_given_through_a_symlink(tree: Tree) -> None:
    alias = tree.root / "alias"
    alias.symlink_to(tree.values, target_is_directory=True)
    (entry,) = entries(f"dn: cn=x\ncn:< file://{alias}/name.txt\n", UrlValues.under(alias))
    assert entry.attributes["cn"] == ["Ada Lovelace"]


@pytest.mark.parametrize("index", range(8))
def test_files_outside_the_directory_are_refused_however_they_are_named(tree: Tree, index: int) -> None:
    url = escapes(tree)[index]
    error = refusal(f"dn: cn=x\ncn: x\nsn:< {url}\n", tree.allow())
    assert error.line == 3
    assert "is not under" in error.reason
    assert str(tree.values.resolve()) in error.reason
    assert "symlinks and '..' resolved" in error.reason


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/secret",
        "https://example.com/secret",
        "ftp://example.com/secret",
        "ldap://example.com/cn=x",
        "data:text/plain,hello",
        "file://otherhost/etc/passwd",
        "smb://server/share/secret.txt",
    ],
)
def test_other_schemes_are_refused_even_when_url_values_are_allowed(tree: Tree, url: str) -> None:
    for urls in (None, tree.allow()):
        error = refusal(f"dn: cn=x\n\ndn: cn=y\ncn:< {url}\n", urls)
        assert error.line == 4
        assert "not a local file URL" in error.reason
        assert "never read" in error.reason


def test_the_error_names_the_line_of_the_value_in_every_kind_of_record(tree: Tree) -> None:
    url = f"file://{tree.secret}"
    folded = f"file://{tree.secret}"
    cases = {
        f"version: 1\n\n# comment\ndn: cn=a\ncn: a\ndescription:< {url}\n": 6,
        f"dn: cn=a\ncn: a\n\n\ndn: cn=b\ncn: b\nsn:<\n  {folded[:10]}\n {folded[10:]}\n": 7,
        f"dn: cn=a\nchangetype: modify\nreplace: sn\nsn: x\nsn:< {url}\n-\n": 5,
        f"dn: cn=a\ncontrol: 1.2.3 true:< {url}\nchangetype: delete\n": 2,
        f"dn: cn=a\nchangetype: add\ncn: a\njpegPhoto:< {url}\n": 4,
    }
    for text, line in cases.items():
        for urls in (None, tree.allow()):
            error = refusal(text, urls)
            assert error.line == line, (text, error)
            assert str(error).startswith(f"in.ldif:{line}: ")


def test_a_relative_or_nul_path_is_refused(tree: Tree) -> None:
    assert "no absolute path" in refusal("dn: cn=x\ncn:< file:name.txt\n", tree.allow()).reason
    assert "NUL" in refusal(f"dn: cn=x\ncn:< file://{tree.values}/name.txt%00\n", tree.allow()).reason


def test_the_directory_itself_a_missing_file_and_a_fifo_are_errors_not_hangs(tree: Tree) -> None:
    os.mkfifo(tree.values / "pipe")
    for name, words in (("", "Is a directory"), ("nope.txt", "No such file"), ("pipe", "not a regular file")):
        error = refusal(f"dn: cn=x\ncn:< file://{tree.values}/{name}\n", tree.allow())
        assert error.line == 2
        assert "cannot read" in error.reason
        assert words in error.reason


def test_a_symlink_swapped_in_after_the_check_is_not_followed(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path is checked resolved, then read component by component without following symlinks.

    Simulated race: the check sees ``escape.txt`` as if it were a plain file
    inside the directory (``realpath`` returns the path unchanged), as it
    would if the symlink were created between the check and the read.
    """
    urls = tree.allow()
    monkeypatch.setattr(os.path, "realpath", lambda path: os.fspath(path))
    for name in ("escape.txt", "outside-dir/secret.txt"):
        error = refusal(f"dn: cn=x\ncn:< file://{tree.values}/{name}\n", urls)
        assert "cannot read" in error.reason


def test_url_values_under_needs_an_existing_directory(tree: Tree) -> None:
    with pytest.raises(LdifError, match="no such directory"):
        UrlValues.under(tree.root / "missing")
    with pytest.raises(LdifError, match="no such directory"):
        UrlValues.under(tree.secret)


def test_the_settings_helper_needs_the_directory_when_url_values_are_allowed(tree: Tree) -> None:
    names = {"allow_setting": "allow_x", "directory_setting": "dir_x", "how_to_allow": "do X"}
    assert url_values(False, None, **names).directory is None
    assert url_values(False, tree.values, **names).directory is None  # the directory alone allows nothing
    assert url_values(True, tree.values, **names).directory == tree.values.resolve()
    with pytest.raises(LdifError) as caught:
        url_values(True, None, **names)
    assert str(caught.value).startswith("allow_x: URL values are allowed, but dir_x is not set")
    assert (
        "do X" in refusal(f"dn: cn=x\ncn:< file://{tree.secret}\n", url_values(False, None, **names)).reason
    )


SEGMENTS = st.sampled_from(
    ["..", ".", "", "%2e%2e", "%2E.", "sub", "values", "secret.txt", "name.txt", "escape.txt",
     "outside-dir", "inner-link.txt", "inner.txt", "photo.bin"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(SEGMENTS, min_size=1, max_size=8))
def test_no_path_gets_the_secret_and_every_value_read_is_under_the_directory(
    tree: Tree, segments: list[str]
) -> None:
    url = f"file://{tree.values}/{'/'.join(segments)}"
    try:
        (entry,) = entries(f"dn: cn=x\ncn:< {url}\n", tree.allow())
    except LdifError as caught:
        error: LdifError | None = caught
    else:
        error = None
    if error is not None:
        assert SECRET not in str(error)
        return
    assert entry.attributes["cn"][0] in ("Ada Lovelace", "inside", "iVBORwD/", "spaced")
    read = Path(os.path.realpath(url.removeprefix("file://").replace("%2e", ".").replace("%2E", ".")))
    assert read.is_relative_to(tree.values.resolve())


# --- tap-ldif, a real subprocess ---------------------------------------------------------------


def run_tap(tmp_path: Path, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    config_file = _write(tmp_path / "config.json", json.dumps(config))
    return subprocess.run(
        [str(TAP), "--config", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )


def messages(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("error: ")]


def directory_ldif(tree: Tree, url: str) -> Path:
    """Two entries; the second (its ``sn`` on line 12) has the URL value."""
    return _write(
        tree.root / "people.ldif",
        "dn: uid=ada,dc=x\nobjectClass: inetOrgPerson\nuid: ada\ncn: Ada\nsn: L\n\n"
        f"dn: uid=bob,dc=x\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\n# the surname\nsn:< {url}\n",
    )


def test_the_tap_refuses_url_values_by_default_with_one_error_line(tmp_path: Path, tree: Tree) -> None:
    ldif = directory_ldif(tree, f"file://{tree.secret}")
    done = run_tap(tmp_path, {"files": [str(ldif)]})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert error_lines(done) == [
        f"error: {ldif}:12: the value of 'sn' is the URL 'file://{tree.secret}' ('attr:< URL'), and URL "
        "values are refused unless allowed, so that an LDIF file cannot pull local files into the data; "
        "to read it, set allow_url_values: true and url_values_dir: <directory of the file> in the tap's "
        "config"
    ]
    # As for any malformed line: the whole input is read before any record is written, so none is.
    sent = messages(done)
    assert [m for m in sent if m["type"] == "RECORD"] == []
    assert all("replication_key_value" not in json.dumps(m) for m in sent if m["type"] == "STATE")


def test_the_tap_reads_allowed_url_values_under_the_directory(tmp_path: Path, tree: Tree) -> None:
    ldif = directory_ldif(tree, f"file://{tree.values}/name.txt")
    done = run_tap(
        tmp_path, {"files": [str(ldif)], "allow_url_values": True, "url_values_dir": str(tree.values)}
    )
    assert done.returncode == 0, done.stderr
    records = {m["record"]["uid"]: m["record"] for m in messages(done) if m["type"] == "RECORD"}
    assert records["bob"]["sn"] == "Ada Lovelace"
    assert records["bob"]["attributes"]["sn"] == ["Ada Lovelace"]


@pytest.mark.parametrize("escape", ["../secret.txt", "escape.txt", "outside-dir/secret.txt"])
def test_the_tap_refuses_files_outside_the_directory(tmp_path: Path, tree: Tree, escape: str) -> None:
    ldif = directory_ldif(tree, f"file://{tree.values}/{escape}")
    # url_values_dir relative to the tap's working directory, as 'files' is.
    relative = os.path.relpath(tree.values, tmp_path)
    done = run_tap(tmp_path, {"files": [str(ldif)], "allow_url_values": True, "url_values_dir": relative})
    assert done.returncode == 1
    assert SECRET not in done.stdout + done.stderr
    (line,) = error_lines(done)
    assert line.startswith(f"error: {ldif}:12: the value of 'sn' is the URL ")
    assert f"is not under '{tree.values.resolve()}' (url_values_dir; symlinks and '..' resolved)" in line


def test_the_tap_refuses_other_schemes_even_when_allowed(tmp_path: Path, tree: Tree) -> None:
    ldif = directory_ldif(tree, "http://169.254.169.254/latest/meta-data/")
    done = run_tap(
        tmp_path, {"files": [str(ldif)], "allow_url_values": True, "url_values_dir": str(tree.values)}
    )
    assert done.returncode == 1
    (line,) = error_lines(done)
    assert line.startswith(f"error: {ldif}:12: the value of 'sn' is the URL 'http://169.254.169.254/")
    assert "not a local file URL" in line


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"allow_url_values": True},
            "error: allow_url_values: URL values are allowed, but url_values_dir is not set",
        ),
        ({"allow_url_values": True, "url_values_dir": "nowhere"}, "error: nowhere: no such directory"),
    ],
)
@pytest.mark.parametrize("mode", [(), ("--test",)], ids=["run", "test"])
def test_bad_url_value_settings_stop_the_tap_before_any_message(
    tmp_path: Path, tree: Tree, settings: dict[str, Any], expected: str, mode: tuple[str, ...]
) -> None:
    ldif = directory_ldif(tree, f"file://{tree.values}/name.txt")
    done = run_tap(tmp_path, {"files": [str(ldif)], **settings}, *mode)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = error_lines(done)
    assert line.startswith(expected)
    assert done.stdout == ""


def test_discovery_reads_no_file_so_the_url_value_settings_do_not_stop_it(tmp_path: Path) -> None:
    done = run_tap(tmp_path, {"files": ["later.ldif"], "allow_url_values": True}, "--discover")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["streams"]) == 5  # the four entry streams and changes


def test_the_settings_are_in_the_config_schema_with_descriptions() -> None:
    done = subprocess.run(
        [str(TAP), "--about", "--format", "json"], capture_output=True, text=True, check=True
    )
    properties = json.loads(done.stdout)["settings"]["properties"]
    allow, directory = properties["allow_url_values"], properties["url_values_dir"]
    assert allow["type"] == ["boolean", "null"] or allow["type"] == "boolean"
    assert allow["default"] is False
    assert "url_values_dir" in allow["description"]
    assert "never read" in allow["description"]
    assert "Required when allow_url_values is true" in directory["description"]


# --- flext data ldif inspect -------------------------------------------------------------------


def test_inspect_refuses_url_values_by_default(flext_cli: FlextCliRunner, tree: Tree) -> None:
    ldif = directory_ldif(tree, f"file://{tree.values}/escape.txt")
    result = flext_cli("data", "ldif", "inspect", str(ldif))
    assert result.exit_code == 2, result
    assert SECRET not in result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {ldif}:12: the value of 'sn' is the URL ")
    assert "pass --allow-url-values --url-values-dir <directory of the file> (VALIDATION_ERROR)" in line


def test_inspect_reads_allowed_url_values_and_refuses_escapes(flext_cli: FlextCliRunner, tree: Tree) -> None:
    good = directory_ldif(tree, f"file://{tree.values}/name.txt")
    allowed = ("--allow-url-values", "--url-values-dir", str(tree.values))
    result = flext_cli("--output", "json", "data", "ldif", "inspect", str(good), *allowed)
    assert result.exit_code == 0, result
    assert result.json()["data"]["streams"]["users"] == 2
    bad = directory_ldif(tree, f"file://{tree.values}/escape.txt")
    refused = flext_cli("--output", "json", "data", "ldif", "inspect", str(bad), *allowed)
    assert refused.exit_code == 2
    assert refused.json()["code"] == "VALIDATION_ERROR"
    assert "is not under" in refused.json()["error"]
    assert SECRET not in refused.stdout + refused.stderr


def test_inspect_needs_the_directory_with_allow(flext_cli: FlextCliRunner, tree: Tree) -> None:
    ldif = directory_ldif(tree, f"file://{tree.values}/name.txt")
    result = flext_cli("data", "ldif", "inspect", str(ldif), "--allow-url-values")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --allow-url-values: URL values are allowed, but --url-values-dir")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
