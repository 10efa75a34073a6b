"""Bad input gives reported items naming the line, never a traceback, and the rest of the file still goes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from flext_plugin_algar.phases import Migration, run_phase
from flext_plugin_algar.project import init_project, load_project, load_rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_sdk.contracts.ldif import LdifReader

BASE = "dc=algar,dc=com,dc=br"
ENTRIES = [
    f"dn: {BASE}\nobjectclass: top\nobjectclass: domain\ndc: algar\n",
    f"dn: cn=Users,{BASE}\nobjectclass: top\nobjectclass: orclContainer\ncn: Users\n",
    f"dn: uid=ana,cn=Users,{BASE}\nobjectclass: inetOrgPerson\ncn: Ana\nsn: Lima\nuid: ana\n",
    f"dn: uid=joao,cn=Users,{BASE}\nobjectclass: inetOrgPerson\ncn:: Sm/Do28=\nsn: Silva\nuid: joao\n",
    f"dn: uid=rui,cn=Users,{BASE}\nobjectclass: inetOrgPerson\ncn: Rui\nsn: Reis\nuid: rui\n",
]

# One line of anything: no line end, not blank, not a continuation (' ') or a comment ('#').
bad_lines = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), min_size=1, max_size=40
).filter(lambda line: line.strip() != "" and line[0] not in " #")


def _validate(
    reader: LdifReader, directory: Path, text: str
) -> tuple[dict[str, object], list[dict[str, object]]]:
    init_project(directory).unwrap()
    (directory / "oid-export.ldif").write_text(text, encoding="utf-8")
    project = load_project(directory).unwrap()
    migration = Migration.of(project, load_rules(project).unwrap(), reader).unwrap()
    report = run_phase(migration, "validate").unwrap()
    items = (directory / "out/01-validate.items.jsonl").read_text(encoding="utf-8").splitlines()
    return report, [json.loads(item) for item in items]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=st.integers(0, len(ENTRIES) - 1), after=st.integers(1, 3), line=bad_lines)
def test_one_bad_line_is_one_item_naming_its_line(
    ldif_reader: LdifReader, entry: int, after: int, line: str
) -> None:
    records = [text.splitlines() for text in ENTRIES]
    records[entry].insert(after, line)
    text = "\n\n".join("\n".join(record) for record in records) + "\n"
    inserted = sum(len(record) + 1 for record in records[:entry]) + after + 1
    with tempfile.TemporaryDirectory() as scratch:
        report, items = _validate(ldif_reader, Path(scratch), text)
    counts = report["counts"]
    assert isinstance(counts, dict)
    problems = [item for item in items if str(item["code"]).startswith("LDIF_")]
    if problems:  # the line is not LDIF: one item, at that line; the other entries are read
        assert len(problems) == 1, problems
        assert problems[0]["line"] == inserted, (problems, inserted)
        assert problems[0]["message"]
        assert counts["out"] == len(ENTRIES) - 1
    else:  # the line was LDIF after all (an attribute): every entry is there, or the entry is refused by name
        assert counts["out"] + counts["failed"] == len(ENTRIES)
        assert all(item["line"] for item in items if item["severity"] == "error")


def test_several_bad_records_are_each_reported_and_the_rest_is_read(
    ldif_reader: LdifReader, tmp_path: Path
) -> None:
    text = (
        ENTRIES[0] + "\n"
        + "dn: cn=bad,,dc=x\nobjectclass: top\n\n"  # a DN that does not parse: line 6
        + ENTRIES[1] + "\n"
        + f"dn: uid=x,cn=Users,{BASE}\nthis is not ldif\n\n"  # line 15
        + ENTRIES[2] + "\n"
        + ENTRIES[2] + "\n"  # a duplicate: line 23
        + f"dn: uid=y,cn=Users,{BASE}\njpegPhoto:: not base64!\n\n"  # line 30
        + ENTRIES[4]
    )  # fmt: skip
    report, items = _validate(ldif_reader, tmp_path, text)
    errors = {(item["code"], item["line"]) for item in items if item["severity"] == "error"}
    assert errors == {
        ("LDIF_DN", 6),
        ("LDIF_SYNTAX", 15),
        ("VALIDATE_DUPLICATE_DN", 23),
        ("LDIF_SYNTAX", 30),
    }, items
    assert report["counts"] == {"in": 5, "out": 4, "excluded": 0, "failed": 4}


def test_a_missing_export_is_one_problem(ldif_reader: LdifReader, tmp_path: Path) -> None:
    init_project(tmp_path).unwrap()
    project = load_project(tmp_path).unwrap()
    migration = Migration.of(project, load_rules(project).unwrap(), ldif_reader).unwrap()
    missing = run_phase(migration, "validate")
    assert missing.is_failure
    assert "oid-export.ldif: no such file" in (missing.error or "")
