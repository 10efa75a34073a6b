"""The OID export generator: deterministic, real LDIF, and holding what a migration must cope with."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

from flext_plugin_algar.sample import BASE_DN, PASSWORD_SCHEMES, write_export
from flext_plugin_ldif.ldif_parser import read_ldif

EXAMPLE = Path(__file__).parents[3] / "plugins/algar/examples/oid-export.ldif"


def test_same_arguments_same_bytes_and_the_shipped_example_is_current(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.ldif", tmp_path / "b.ldif", tmp_path / "c.ldif"
    assert write_export(first, entries=60, seed=1) == write_export(second, entries=60, seed=1)
    assert first.read_bytes() == second.read_bytes()
    write_export(other, entries=60, seed=2)
    assert other.read_bytes() != first.read_bytes()
    assert EXAMPLE.read_bytes() == first.read_bytes(), "regenerate plugins/algar/examples/oid-export.ldif"


def test_the_export_is_ldif_the_product_parser_reads_and_holds_oid_constructs(tmp_path: Path) -> None:
    path = tmp_path / "export.ldif"
    written = write_export(path, entries=400, seed=7)
    entries = list(read_ldif(path))
    assert len(entries) == written
    assert 390 <= written <= 410
    text = path.read_text(encoding="utf-8")
    assert "\n " in text, "folded lines"
    assert "dn:: " in text, "a base64 DN (non-ASCII department)"
    classes = Counter(c.lower() for entry in entries for c in entry.attributes.get("objectclass", []))
    for wanted in ("orcluserv2", "orclgroup", "orcldynamicgroup", "orclprivilegegroup", "orclcontainer",
                   "groupofnames", "groupofuniquenames", "inetorgperson"):  # fmt: skip
        assert classes[wanted] > 0, wanted
    attributes = Counter(name for entry in entries for name in entry.attributes)
    wanted_attributes = "orclaci orclentrylevelaci orclguid orclisenabled orclpassword labeleduri jpegphoto"
    for wanted in (
        *wanted_attributes.split(),
        "creatorsname",
        "modifytimestamp",
        "pwdchangedtime",
        "orclnormdn",
    ):
        assert attributes[wanted] > 0, wanted
    schemes: Counter[str] = Counter()
    for entry in entries:
        for value in entry.attributes.get("userpassword", []):
            raw = base64.b64decode(value) if "userpassword" in entry.binary else value.encode()
            schemes[raw[: raw.index(b"}") + 1].decode()] += 1
    assert set(schemes) == set(PASSWORD_SCHEMES)
    photos = [entry for entry in entries if "jpegphoto" in entry.attributes]
    assert all("jpegphoto" in entry.binary for entry in photos)
    assert any(not entry.dn.isascii() for entry in entries)
    assert all(entry.dn.lower().endswith(BASE_DN) for entry in entries)


def test_defects_are_there_only_when_asked(tmp_path: Path) -> None:
    with_defects, clean = tmp_path / "d.ldif", tmp_path / "c.ldif"
    write_export(with_defects, entries=100, seed=3)
    write_export(clean, entries=100, seed=3, defects=False)
    assert "uid=desligado," in with_defects.read_text(encoding="utf-8")
    assert "ou=Desligados" in with_defects.read_text(encoding="utf-8")
    assert "desligado" not in clean.read_text(encoding="utf-8").lower()
