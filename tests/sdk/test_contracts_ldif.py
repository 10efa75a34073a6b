"""The ``LdifReader`` contract: its types, its provider, and the failure when nothing provides it."""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike

import flext_sdk.contracts as contracts
from flext_sdk import FlextResult
from flext_sdk.contracts import provider_of, require_service
from flext_sdk.contracts.ldif import (
    LDIF_FILE,
    LDIF_SYNTAX,
    LdifItem,
    LdifProblem,
    LdifReader,
    LdifRecord,
)
from flext_sdk.testing import FlextKernelFactory


class _OneRecord:
    """A reader of one record, registered by hand: what a provider looks like to a consumer."""

    def read(self, path: str | PathLike[str], *, encoding: str = "utf-8") -> Iterator[LdifItem]:
        yield LdifRecord(str(path), 1, "CN=A, DC=X", "cn=a,dc=x", {"cn": ("A",), "jpegphoto": (b"\xff\xd8",)})
        yield LdifProblem(str(path), 4, "line 4 is not 'attribute: value'")

    def normalize_dn(self, dn: str) -> str | None:
        return dn.lower().replace(" ", "") if "=" in dn else None


def test_the_ldif_plugin_provides_the_reader() -> None:
    provider = provider_of(LdifReader)
    assert provider is not None
    assert (provider.plugin, provider.distribution) == ("ldif", "flext-plugin-ldif")
    assert contracts.LdifReader is LdifReader
    assert {"LdifItem", "LdifModification", "LdifProblem", "LdifReader", "LdifRecord"} <= set(
        contracts.__all__
    )


def test_a_problem_reads_as_file_and_line() -> None:
    assert str(LdifProblem("export.ldif", 12, "bad base64")) == "export.ldif:12: bad base64"
    assert str(LdifProblem("export.ldif", None, "no such file", LDIF_FILE)) == "export.ldif: no such file"
    assert LdifProblem("f", 1, "x").code == LDIF_SYNTAX


def test_a_registered_reader_is_found_and_a_missing_one_names_the_ldif_plugin(
    flext_kernel_factory: FlextKernelFactory,
) -> None:
    assert isinstance(_OneRecord(), LdifReader)
    kernel = flext_kernel_factory()
    missing: FlextResult[LdifReader] = require_service(kernel, LdifReader, why="the migration reads LDIF")
    assert missing.is_failure
    assert missing.error_code == "NOT_FOUND"
    assert missing.error == "the migration reads LDIF, but plugin 'ldif' is not installed"
    assert missing.error_data["hint"] == "install it with 'flext plugin install flext-plugin-ldif'"

    kernel.container.register_singleton(LdifReader, _OneRecord, owner="test")
    reader = require_service(kernel, LdifReader, why="the migration reads LDIF").unwrap()
    record, problem = list(reader.read("x.ldif"))
    assert isinstance(record, LdifRecord)
    assert record.attributes["jpegphoto"] == (b"\xff\xd8",)
    assert isinstance(problem, LdifProblem)
    assert problem.line == 4
