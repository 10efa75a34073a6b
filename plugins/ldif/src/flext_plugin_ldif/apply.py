"""Change records applied, in order, to the entries read before them (``apply_changes``).

A directory export followed by the changes made since (``slapcat`` then the
``auditlog`` overlay's file, or any LDIF change records) gives the entries as
the directory has them now: ``changetype: add`` and content records store
an entry, ``modify`` adds, deletes, replaces or increments values, ``delete``
removes the entry, ``modrdn``/``moddn`` renames it (the new RDN's values are
added, the old one's removed with ``deleteoldrdn: 1``) and moves it under
``newsuperior``.

Entries are kept in a temporary SQLite file, keyed by their DN in normal form
(``flext_plugin_ldif.dn``), so memory stays flat whatever the number of
entries; ``entries()`` gives them back in the order they were first added,
each once, after all the changes. A change to an entry the input does not
hold cannot be applied; it is given back unchanged (``pending``), so that
nothing is lost. Values are matched as the attribute's equality rule would,
simplified: without case unless the attribute compares case.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from flext_plugin_ldif.dn import DnNormalizer
from flext_plugin_ldif.ldif_parser import LdifEntry, Modification
from flext_plugin_ldif.schema import DEFAULT_SCHEMA, Schema

__all__ = ["ChangeApplier"]


class ChangeApplier:
    """The entries of an input after its change records (see the module docstring)."""

    def __init__(self, schema: Schema = DEFAULT_SCHEMA) -> None:
        self._schema = schema
        self._normalize = DnNormalizer(schema)
        self._folder = tempfile.TemporaryDirectory(prefix="tap-ldif-apply-")
        self._db = sqlite3.connect(Path(self._folder.name) / "entries.db")
        self._db.execute("create table entry (key text primary key, position integer, data blob)")
        self._db.execute("create index by_position on entry (position)")
        self._position = 0
        self.deleted: list[tuple[LdifEntry, tuple[str, str]]] = []
        """Entries removed by delete or modrdn records, with the context of that record (in order)."""

    def close(self) -> None:
        """Delete the temporary file."""
        self._db.close()
        self._folder.cleanup()

    def _key(self, dn: str) -> str:
        try:
            return self._normalize(dn)
        except ValueError:
            return dn.lower()

    def _load(self, key: str) -> tuple[int, LdifEntry, tuple[str, str]] | None:
        row = self._db.execute("select position, data from entry where key = ?", (key,)).fetchone()
        if row is None:
            return None
        entry, context, _ = pickle.loads(row[1])
        return row[0], entry, context

    def entry_at(self, dn: str) -> LdifEntry | None:
        """The entry of this DN now (after the records applied so far), or None."""
        found = self._load(self._key(dn))
        return None if found is None else found[1]

    def _store(
        self,
        key: str,
        entry: LdifEntry,
        context: tuple[str, str],
        position: int | None = None,
        changed_at: str | None = None,
    ) -> None:
        if position is None:
            self._position += 1
            position = self._position
        data = pickle.dumps((entry, context, changed_at), pickle.HIGHEST_PROTOCOL)
        self._db.execute("insert or replace into entry values (?, ?, ?)", (key, position, data))

    def add(self, entry: LdifEntry, context: tuple[str, str]) -> bool:
        """Apply one record (``context``: its file and file time); False when it cannot be applied."""
        if not entry.is_change or entry.change_type == "add":
            changed_at = context[1] if entry.is_change else None
            self._store(
                self._key(entry.dn), replace(entry, is_change=False, controls=()), context, None, changed_at
            )
            return True
        key = self._key(entry.dn)
        found = self._load(key)
        if found is None:
            return False
        position, current, stored_context = found
        if entry.change_type == "delete":
            self._db.execute("delete from entry where key = ?", (key,))
            self.deleted.append((current, context))
        elif entry.change_type == "modify":
            changed = _modified(current, entry.modifications, self._schema)
            self._store(key, changed, context, position, context[1])
        else:
            self._db.execute("delete from entry where key = ?", (key,))
            self.deleted.append((current, context))
            renamed = self._renamed(current, entry)
            self._store(self._key(renamed.dn), renamed, stored_context, position, context[1])
        return True

    def entries(self) -> Iterator[tuple[LdifEntry, tuple[str, str], str | None]]:
        """The entries after every change, in the order they were first added.

        Each comes with the file time of the last change record that touched it (None for an entry
        that no change record touched), so that an incremental run sends it when it changed.
        """
        cursor = self._db.execute("select data from entry order by position")
        for (data,) in cursor:
            entry, context, changed_at = pickle.loads(data)
            yield entry, context, changed_at

    def _renamed(self, entry: LdifEntry, change: LdifEntry) -> LdifEntry:
        new_rdn = change.new_rdn or ""
        parent = change.new_superior if change.new_superior is not None else _parent(entry.dn)
        attributes = {name: list(values) for name, values in entry.attributes.items()}
        if change.delete_old_rdn:
            for name, value in _rdn_values(entry.dn.split(",", 1)[0], self._schema):
                _remove(attributes, name, [value], self._schema)
        for name, value in _rdn_values(new_rdn, self._schema):
            values = attributes.setdefault(name, [])
            if not _contains(values, value, name, self._schema):
                values.append(value)
        dn = f"{new_rdn},{parent}" if parent else new_rdn
        return replace(entry, dn=dn, attributes={k: v for k, v in attributes.items() if v})


def _modified(entry: LdifEntry, modifications: tuple[Modification, ...], schema: Schema) -> LdifEntry:
    attributes = {name: list(values) for name, values in entry.attributes.items()}
    binary = set(entry.binary)
    for modification in modifications:
        name, values = modification.attribute, list(modification.values)
        if modification.operation == "add":
            attributes.setdefault(name, []).extend(values)
        elif modification.operation == "replace":
            attributes[name] = values
        elif modification.operation == "delete":
            _remove(attributes, name, values, schema)
        elif attributes.get(name) and values:  # increment
            attributes[name] = [str(int(value) + int(values[0])) for value in attributes[name]]
        if modification.binary:
            binary.add(name)
        if not attributes.get(name):
            attributes.pop(name, None)
            binary.discard(name)
    return replace(entry, attributes=attributes, binary=frozenset(binary & set(attributes)))


def _remove(attributes: dict[str, list[str]], name: str, values: list[str], schema: Schema) -> None:
    if not values:
        attributes.pop(name, None)
        return
    current = attributes.get(name, [])
    attributes[name] = [value for value in current if not _contains(values, value, name, schema)]


def _contains(values: list[str], value: str, name: str, schema: Schema) -> bool:
    if schema.is_case_exact(name) or schema.is_binary(name):
        return value in values
    folded = value.lower()
    return any(folded == other.lower() for other in values)


def _parent(dn: str) -> str:
    from flext_plugin_ldif.records import parent_dn

    return parent_dn(dn) or ""


def _rdn_values(rdn: str, schema: Schema) -> Iterator[tuple[str, str]]:
    for ava in rdn.split("+"):
        kind, _, value = ava.partition("=")
        if "\\" in value or '"' in value:
            continue  # an escaped value: left as it is rather than guessed
        yield schema.canonical(kind.strip()), value.strip()
