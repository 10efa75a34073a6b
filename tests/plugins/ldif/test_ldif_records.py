"""Stream rules, DNs, timestamps, the sample generator and the package surface."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path

import flext_plugin_ldif
import pytest
from flext_plugin_ldif import LdifError, parse_ldif, read_ldif
from flext_plugin_ldif.records import DnFilter, classify, expand_files, parent_dn, to_record
from flext_plugin_ldif.sample import write_directory
from flext_plugin_ldif.timestamps import canonical, from_epoch, from_generalized_time
from hypothesis import given, settings
from hypothesis import strategies as st

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "directory" / "data" / "directory.ldif"


@pytest.mark.parametrize(
    ("classes", "stream"),
    [
        (["top", "person"], "users"),
        (["inetOrgPerson"], "users"),
        (["ORCLUSER"], "users"),
        (["top", "user"], "users"),
        (["groupOfNames"], "groups"),
        (["groupofuniquenames", "orclGroup"], "groups"),
        (["posixGroup"], "groups"),
        (["organizationalUnit"], "organizational_units"),
        (["domain"], "other"),
        ([], "other"),
        (["person", "groupOfNames"], "users"),
    ],
)
def test_classify(classes: list[str], stream: str) -> None:
    assert classify(classes) == stream


@pytest.mark.parametrize(
    ("dn", "parent"),
    [
        ("uid=a,ou=people,dc=example,dc=com", "ou=people,dc=example,dc=com"),
        ("uid=a, ou=people", "ou=people"),
        ("dc=com", None),
        ("", None),
        (r"cn=Smith\, John,ou=people", "ou=people"),
        (r"cn=back\\,ou=x", "ou=x"),
        ('cn="a,b",ou=x', "ou=x"),
    ],
)
def test_parent_dn(dn: str, parent: str | None) -> None:
    assert parent_dn(dn) == parent


def test_base_dn_filter_ignores_case_and_spaces() -> None:
    under = DnFilter("OU=People, DC=Example ,dc=com")
    assert under("ou=people,dc=example,dc=com")
    assert under("uid=x,OU=People,DC=example,DC=com")
    assert under("uid=x, ou = people , dc=example, dc=com")
    assert not under("ou=groups,dc=example,dc=com")
    assert not under("ou=xpeople,dc=example,dc=com")
    assert not under("dc=example,dc=com")
    assert not under(r"cn=a\,ou=people,dc=example,dc=com")  # one RDN holding an escaped comma
    assert under(r"cn=a\\,ou=people,dc=example,dc=com")  # an escaped backslash, then a real comma
    assert DnFilter("")("anything")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240102030405Z", "2024-01-02T03:04:05+00:00"),
        ("20240229235959Z", "2024-02-29T23:59:59+00:00"),
        ("20240102030405.5Z", "2024-01-02T03:04:05.500000+00:00"),
        ("20240102030405,123456789Z", "2024-01-02T03:04:05.123457+00:00"),
        ("20240102030405+0200", "2024-01-02T01:04:05+00:00"),
        ("20240102000000-0130", "2024-01-02T01:30:00+00:00"),
        ("2024010203Z", "2024-01-02T03:00:00+00:00"),
        ("202401020304Z", "2024-01-02T03:04:00+00:00"),
        ("2024010203.5Z", "2024-01-02T03:30:00+00:00"),
        ("20241231235960Z", "2024-12-31T23:59:59+00:00"),
        ("20230229000000Z", None),
        ("20241301000000Z", None),
        ("2024-01-02T03:04:05Z", None),
        ("", None),
        ("garbage", None),
    ],
)
def test_generalized_time(value: str, expected: str | None) -> None:
    assert from_generalized_time(value) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1)),
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1)),
)
def test_canonical_timestamps_sort_as_time_does(first: datetime, second: datetime) -> None:
    a = canonical(first.replace(tzinfo=UTC).isoformat())
    b = canonical(second.isoformat())  # naive: taken as UTC
    assert (a < b) == (first < second)
    assert (a == b) == (first == second)
    assert datetime.fromisoformat(a) == first.replace(tzinfo=UTC)


def test_canonical_forms_agree() -> None:
    assert canonical("2024-01-02T03:04:05Z") == from_generalized_time("20240102030405Z")
    assert canonical("2024-01-02T05:04:05+02:00") == "2024-01-02T03:04:05+00:00"
    assert from_epoch(0) == "1970-01-01T00:00:00+00:00"
    assert from_epoch(1.25) == "1970-01-01T00:00:01.250000+00:00"
    with pytest.raises(ValueError, match="Invalid isoformat"):
        canonical("yesterday")


def test_a_record_of_each_stream() -> None:
    text = (
        "dn: cn=g,ou=groups,dc=x\nobjectClass: groupOfUniqueNames\ncn: g\nmember: uid=a,dc=x\n"
        "uniqueMember: uid=b,dc=x#'0101'B\nuniqueMember: uid=c,dc=x\nmodifyTimestamp: 20240102030405Z\n\n"
        "dn: ou=people,dc=x\nobjectClass: organizationalUnit\nou: people\nou: staff\n"
    )
    group, unit = parse_ldif(text)
    record = to_record(group, "groups", ["groupOfUniqueNames"], "2000-01-01T00:00:00+00:00")
    assert record["members"] == ["uid=a,dc=x", "uid=b,dc=x", "uid=c,dc=x"]
    assert record["modify_timestamp"] == "2024-01-02T03:04:05+00:00"
    unit_record = to_record(unit, "organizational_units", ["organizationalUnit"], "2000-01-01T00:00:00+00:00")
    assert (unit_record["ou"], unit_record["description"]) == ("people", None)
    assert unit_record["modify_timestamp"] == "2000-01-01T00:00:00+00:00"


def test_expand_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("a/2.ldif", "a/1.ldif", "a/deep/3.ldif", "a/notes.txt"):
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    assert expand_files(["a/*.ldif"]) == [Path("a/1.ldif"), Path("a/2.ldif")]
    assert expand_files(["a/**/*.ldif", "a/notes.txt"]) == [
        Path("a/1.ldif"), Path("a/2.ldif"), Path("a/deep/3.ldif"), Path("a/notes.txt"),
    ]  # fmt: skip
    with pytest.raises(LdifError, match="matches no file"):
        expand_files(["b/*.ldif"])
    with pytest.raises(LdifError, match="no such file"):
        expand_files(["a"])


def test_the_sample_is_deterministic_and_parses(tmp_path: Path) -> None:
    first, second, other = tmp_path / "1.ldif", tmp_path / "2.ldif", tmp_path / "3.ldif"
    assert write_directory(first, users=300, groups=12, ous=13, seed=7) == 3 + 13 + 300 + 12
    write_directory(second, users=300, groups=12, ous=13, seed=7)
    write_directory(other, users=300, groups=12, ous=13, seed=8)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    entries = list(read_ldif(first))
    assert len(entries) == 328
    assert len({entry.dn.lower() for entry in entries}) == 328
    assert all("modifytimestamp" in entry.attributes for entry in entries)
    text = first.read_text(encoding="utf-8")
    assert "\n " in text  # folded lines
    assert any("jpegphoto" in entry.binary for entry in entries)
    assert any(not entry.attributes["cn"][0].isascii() for entry in entries if "cn" in entry.attributes)
    dns = {entry.dn for entry in entries}
    for entry in entries:
        for member in entry.attributes.get("uniquemember", []) + entry.attributes.get("member", []):
            assert member in dns


def test_the_example_directory_is_the_generators_output(tmp_path: Path) -> None:
    """examples/directory/data/directory.ldif is write_directory(users=30, groups=8, ous=4, seed=3)."""
    write_directory(tmp_path / "directory.ldif", users=30, groups=8, ous=4, seed=3)
    generated = hashlib.sha256((tmp_path / "directory.ldif").read_bytes()).hexdigest()
    assert hashlib.sha256(EXAMPLE.read_bytes()).hexdigest() == generated


def test_the_package_surface() -> None:
    assert sorted(flext_plugin_ldif.__all__) == [
        "Control", "LdifEntry", "LdifError", "Modification", "UrlValues", "format_entry", "parse_ldif",
        "read_ldif", "write_ldif",
    ]  # fmt: skip


def test_the_entry_points_are_installed() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="flext.plugins")}
    assert plugins["ldif"] == "flext_plugin_ldif.plugin"
    from flext_plugin_ldif.plugin import flext_singer_connectors

    (described,) = flext_singer_connectors()  # offered through the singer plugin's hook
    assert (described.name, described.kind, described.executable) == ("tap-ldif", "tap", "tap-ldif")
    about = subprocess.run(
        [str(Path(sys.executable).with_name("tap-ldif")), "--about", "--format", "json"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    # What tap-ldif --about says, activate-version included: flext pipeline run --full-refresh asks
    # for ACTIVATE_VERSION only of taps that advertise it.
    assert described.capabilities == tuple(json.loads(about.stdout)["capabilities"])
    assert "activate-version" in described.capabilities
    assert described.description
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["tap-ldif"] == "flext_plugin_ldif.tap:TapLDIF.cli"
