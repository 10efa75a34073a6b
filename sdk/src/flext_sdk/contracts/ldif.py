"""The ldif plugin's contract: reading LDIF files record by record, with problems as items.

Both sides import this module, never each other:

- the ``ldif`` plugin registers an ``LdifReader`` in the container (its
  parser, the product's high-fidelity LDIF reader);
- a plugin that reads LDIF (``algar``) resolves it
  (``require_service(kernel, LdifReader, why=...)``), which fails with
  ``PLUGIN_DISABLED`` or ``NOT_FOUND`` naming ``ldif`` when it is not there.

A reader never raises for bad input: a malformed record, a DN that does not
parse or a file that cannot be opened is an ``LdifProblem`` in the stream,
naming the file and line, and reading goes on with the next record (a file
that cannot be opened at all is one problem and the end). So a caller can
report every problem of a file in one pass, and a bad line is one clear item,
never a traceback. The records are streamed: a reader holds one record at a
time, so a file of millions of entries is read in flat memory.

The types are slotted, frozen dataclasses rather than pydantic models: a
migration reads hundreds of thousands of them per second, and they never
cross a process boundary.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Final, Literal, Protocol, TypeAlias, runtime_checkable

from flext_sdk.contracts._providers import provided_by

__all__ = [
    "LDIF_DN",
    "LDIF_FILE",
    "LDIF_SYNTAX",
    "ChangeType",
    "LdifItem",
    "LdifModification",
    "LdifProblem",
    "LdifReader",
    "LdifRecord",
    "LdifValue",
]

LDIF_SYNTAX: Final = "LDIF_SYNTAX"
"""A record that is not LDIF (a bad line, bad base64, a misplaced ``changetype``...): it is skipped."""
LDIF_DN: Final = "LDIF_DN"
"""A record whose DN does not parse: it is skipped."""
LDIF_FILE: Final = "LDIF_FILE"
"""The file cannot be read (missing, unreadable, unknown encoding): nothing more comes."""

ChangeType: TypeAlias = Literal["add", "delete", "modify", "modrdn"]
"""What a record does (a plain content record is ``add``; ``moddn`` is read as ``modrdn``)."""
LdifValue: TypeAlias = str | bytes
"""A value: ``str`` for text, ``bytes`` for binary attributes (``jpegPhoto``, ``userPassword``...)."""


@dataclass(frozen=True, slots=True)
class LdifModification:
    """One ``add:``/``delete:``/``replace:`` block of a modify record."""

    operation: str
    """``add``, ``delete``, ``replace`` or ``increment``."""
    attribute: str
    """The lower-cased attribute description it changes."""
    values: tuple[LdifValue, ...] = ()
    """Its values (none for "delete every value")."""


@dataclass(frozen=True, slots=True)
class LdifRecord:
    """One record of an LDIF file: an entry, or a change to one."""

    source: str
    """The file it was read from."""
    line: int
    """The line of its ``dn:``."""
    dn: str
    """The DN as written (base64 decoded)."""
    normal_dn: str
    """The DN's normal form (attribute names canonical and lower-cased, values by their matching
    rule, no blanks around separators): two records with the same ``normal_dn`` are the same entry."""
    attributes: Mapping[str, tuple[LdifValue, ...]] = field(default_factory=dict)
    """Lower-cased canonical attribute description (``cn``, ``cn;lang-pt``) to its values, in file order;
    the values of a binary attribute are ``bytes`` exactly as in the file (passwords byte for byte)."""
    change_type: ChangeType = "add"
    """What the record does."""
    is_change: bool = False
    """True when the record had a ``changetype:`` line."""
    modifications: tuple[LdifModification, ...] = ()
    """The modifications of a modify record, in order."""
    new_rdn: str | None = None
    """``newrdn`` of a modrdn record."""
    delete_old_rdn: bool | None = None
    """``deleteoldrdn`` of a modrdn record."""
    new_superior: str | None = None
    """``newsuperior`` of a modrdn record, if given."""


@dataclass(frozen=True, slots=True)
class LdifProblem:
    """What could not be read: where, and why, in words a person can act on."""

    source: str
    """The file."""
    line: int | None
    """The 1-based line of the problem, or None when it concerns the whole file."""
    message: str
    """What is wrong and how to fix it (without the location)."""
    code: str = LDIF_SYNTAX
    """``LDIF_SYNTAX``, ``LDIF_DN`` or ``LDIF_FILE``."""
    dn: str | None = None
    """The record's DN as written, when it was read before the problem."""

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


LdifItem: TypeAlias = LdifRecord | LdifProblem
"""What a reader yields: a record, or a problem where a record should have been."""


@provided_by("ldif", distribution="flext-plugin-ldif")
@runtime_checkable
class LdifReader(Protocol):
    """The ``ldif`` plugin's service (container key ``LdifReader``): LDIF files as records and problems."""

    def read(self, path: str | PathLike[str], *, encoding: str = "utf-8") -> Iterator[LdifItem]:
        """Every record and problem of the file at ``path``, in file order, one at a time.

        Never raises for what is in the file or for a file that cannot be read: those are
        ``LdifProblem`` items (after one the reader goes on with the next record; after an
        ``LDIF_FILE`` problem nothing more comes). URL values (``attr:< file:///...``) are
        refused, each as a problem.
        """

    def normalize_dn(self, dn: str) -> str | None:
        """The normal form of ``dn``, the same as ``LdifRecord.normal_dn``; None when it is not a DN."""
